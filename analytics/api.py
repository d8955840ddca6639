"""Analytics REST (CONTRACT §5.2): viewer+, the actor's agency only, JSON or
CSV (`?format=csv`). The CSV is the JSON flattened, row for row, so the two
never disagree."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from analytics import selectors
from project.api.errors import ApplicationError
from project.api.views import AgencyAPIView


class CSVRenderer(BaseRenderer):
    """Lets DRF accept `?format=csv`; the view builds the body itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else b""


def flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    """(path, value) for every leaf: `stages.3.count`, `days.0.turn_ms.p95`…"""
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows += flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        rows = []
        for index, item in enumerate(value):
            rows += flatten(item, f"{prefix}.{index}")
        return rows
    return [(prefix, value)]


def _csv(data: dict, name: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "value"])
    for path, value in flatten(data):
        writer.writerow([path, "" if value is None else value])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="markezy-{name}.csv"'
    return response


_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="first day, agency time zone (default: 29 days before `to`)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last day, inclusive (default: today)"),
    OpenApiParameter("flow_version", int, description="only conversations on this flow version number"),
    OpenApiParameter("page", str, description="only conversations that started on this source page (a URL prefix; "
                                              "the funnel's `pages` lists the range's pages)"),
    OpenApiParameter("format", str, enum=["json", "csv"]),
]


class _AnalyticsApi(AgencyAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]
    name = ""

    def compute(self, rng):  # pragma: no cover - each endpoint says
        raise NotImplementedError

    def get(self, request):
        errors = {}
        dates = {}
        for key in ("from", "to"):
            raw = request.query_params.get(key)
            try:
                dates[key] = parse_date(raw) if raw else None
            except ValueError:
                dates[key] = None
            if raw and dates[key] is None:
                errors[key] = ["Fecha no válida: use AAAA-MM-DD."]
        raw_version = request.query_params.get("flow_version")
        version = None
        if raw_version:
            if raw_version.isdigit():
                version = int(raw_version)
            else:
                errors["flow_version"] = ["Debe ser un número de versión."]
        page = (request.query_params.get("page") or "").strip()
        if len(page) > 500:
            errors["page"] = ["Como mucho 500 caracteres."]
        if not errors and dates["from"] and dates["to"] and dates["from"] > dates["to"]:
            errors["from"] = ["`from` no puede ser posterior a `to`."]
        if not errors and dates["from"] and dates["to"] and (dates["to"] - dates["from"]).days > 366:
            errors["to"] = ["El intervalo máximo es de un año."]
        if errors:
            raise ApplicationError("Parámetros no válidos.", code="validation_error", fields=errors)
        rng = selectors.analytics_range(self.actor, first=dates["from"], last=dates["to"], flow_version=version,
                                          page=page or None)
        data = self.compute(rng)
        if request.accepted_renderer.format == "csv":
            return _csv(data, self.name)
        return Response(data)


class FunnelApi(_AnalyticsApi):
    name = "funnel"

    @extend_schema(parameters=_PARAMS, responses={200: OpenApiTypes.OBJECT}, operation_id="analytics_funnel")
    def get(self, request):
        return super().get(request)

    def compute(self, rng):
        return selectors.analytics_funnel(rng)


class QualityApi(_AnalyticsApi):
    name = "quality"

    @extend_schema(parameters=_PARAMS, responses={200: OpenApiTypes.OBJECT}, operation_id="analytics_quality")
    def get(self, request):
        return super().get(request)

    def compute(self, rng):
        return selectors.analytics_quality(rng)


class UsageApi(_AnalyticsApi):
    name = "usage"

    @extend_schema(parameters=_PARAMS, responses={200: OpenApiTypes.OBJECT}, operation_id="analytics_usage")
    def get(self, request):
        return super().get(request)

    def compute(self, rng):
        return selectors.analytics_usage(rng)
