"""Staff REST for the knowledge base (CONTRACT §5 `knowledge/documents/`):
viewers list and search, admins upload, replace and delete."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from project.api.pagination import CursorPagination
from project.api.views import AgencyAPIView
from strategy.knowledge import selectors, services


def document_data(document) -> dict:
    return {
        "id": str(document.id),
        "title": document.title,
        "filename": document.filename,
        "kind": document.kind,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "status": document.status,
        "error": document.error or None,
        "chunks": document.chunk_count,
        "created": document.created.isoformat(),
        "updated": document.updated.isoformat(),
    }


# Room for the multipart envelope and the title around the file itself.
_MULTIPART_SLACK = 64 * 1024


def _refuse_oversized_body(request) -> None:
    """A body announced larger than any acceptable upload is refused before it
    is read, so a 1 GB post costs no disk; the exact file size is checked again
    by the service."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.KNOWLEDGE_MAX_BYTES + _MULTIPART_SLACK:
        raise services.FileTooLarge(
            f"El archivo supera el máximo de {settings.KNOWLEDGE_MAX_BYTES // (1024 * 1024)} MB.",
            fields={"file": ["file_too_large"]})


class _UploadSerializer(serializers.Serializer):
    class Meta:
        ref_name = "KnowledgeDocumentUpload"

    file = serializers.FileField(allow_empty_file=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class KnowledgeDocumentListApi(AgencyAPIView):
    required_roles = {"POST": "admin"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="knowledge_documents_list")
    def get(self, request):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(selectors.knowledge_documents_list(self.actor), request, view=self)
        return paginator.get_paginated_response([document_data(d) for d in page])

    @extend_schema(request={"multipart/form-data": _UploadSerializer},
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request):
        _refuse_oversized_body(request)
        data = _UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document, created = services.knowledge_document_upload(
            actor=self.actor, file=data.validated_data["file"], title=data.validated_data["title"])
        return Response(document_data(document), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class KnowledgeDocumentDetailApi(AgencyAPIView):
    required_roles = {"PUT": "admin", "DELETE": "admin"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="knowledge_documents_retrieve")
    def get(self, request, document_id):
        return Response(document_data(selectors.access_knowledge_document(self.actor, document_id)))

    @extend_schema(request={"multipart/form-data": _UploadSerializer}, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, document_id):
        document = selectors.access_knowledge_document(self.actor, document_id)
        _refuse_oversized_body(request)
        data = _UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document, _ = services.knowledge_document_replace(
            actor=self.actor, document=document, file=data.validated_data["file"],
            title=data.validated_data["title"] or None)
        return Response(document_data(document))

    @extend_schema(responses={204: None})
    def delete(self, request, document_id):
        document = selectors.access_knowledge_document(self.actor, document_id)
        services.knowledge_document_delete(actor=self.actor, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class KnowledgeSearchApi(AgencyAPIView):
    """Which chunks a question retrieves: the same search the strategy writer uses."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "KnowledgeSearchQuery"

        q = serializers.CharField(max_length=selectors.MAX_QUERY_CHARS)
        limit = serializers.IntegerField(min_value=1, max_value=selectors.MAX_LIMIT, required=False, default=6)

    @extend_schema(parameters=[OpenApiParameter("q", str, required=True), OpenApiParameter("limit", int)],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        results = selectors.knowledge_search(agency_id=self.actor.agency_id, query=data.validated_data["q"],
                                             limit=data.validated_data["limit"])
        return Response({"results": results})
