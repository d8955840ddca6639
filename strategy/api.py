"""Staff REST for strategies (CONTRACT §5 `strategies/{id}/` and its PDF)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from project.api.errors import NotFound
from project.api.views import AgencyAPIView
from project.files import file_response
from strategy import selectors, storage
from strategy.links import strategy_pdf_token_valid
from tenancy.actors import StaffActor


def strategy_detail_data(strategy) -> dict:
    return {
        **selectors.strategy_brief(strategy),
        "lead": str(strategy.lead_id),
        "conversation": str(strategy.lead.conversation_id),
        "answers_version": strategy.answers_version,
        "template_version": strategy.template_version or None,
        "summary": strategy.summary or None,
        "content": strategy.content,
        "attempts": strategy.attempts,
        "qa_failures": strategy.qa_failures or [],
        "usage": {"prompt_tokens": strategy.prompt_tokens, "completion_tokens": strategy.completion_tokens,
                  "model": strategy.model or None},
        "error": strategy.error or None,
        "created": strategy.created.isoformat(),
        "updated": strategy.updated.isoformat(),
    }


class StrategyDetailApi(AgencyAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="strategies_retrieve")
    def get(self, request, strategy_id):
        return Response(strategy_detail_data(selectors.access_strategy(self.actor, strategy_id)))


class StrategyPdfApi(AgencyAPIView):
    """The PDF, for staff (bearer token) or for whoever holds the signed link
    the lead was given (`?token=`): one strategy, until the link expires."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("token", str, description="the signed link's token")],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY}, operation_id="strategies_pdf")
    def get(self, request, strategy_id):
        token = request.query_params.get("token")
        actor = getattr(request, "actor", None)
        if token:
            agency_id = strategy_pdf_token_valid(token, strategy_id=strategy_id)
            strategy = selectors.strategy_by_id(agency_id=agency_id, strategy_id=strategy_id) if agency_id else None
        elif isinstance(actor, StaffActor):
            strategy = selectors.access_strategy(actor, strategy_id)
        else:
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated()
        if strategy is None or strategy.status != strategy.Status.READY or not strategy.pdf_name:
            raise NotFound()
        response = file_response(storage.pdf_open(strategy.pdf_name), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="estrategia-{strategy.id}.pdf"'
        # Personal data: never kept by a shared cache.
        response["Cache-Control"] = "private, no-store"
        return response
