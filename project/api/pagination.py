from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination (new rows never shift a page), newest first."""

    ordering = ("-created", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
