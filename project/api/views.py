"""Base API views. Authenticated staff requests run inside
`scope(agency=actor.agency_id)` so every scoped query in the handler is
filtered to the actor's agency, and an unscoped one raises."""

from __future__ import annotations

from django_scopes import scope
from rest_framework.views import APIView

from tenancy.actors import StaffActor


class AgencyAPIView(APIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actor = getattr(request, "actor", None)
        if isinstance(actor, StaffActor):
            self._scope = scope(agency=actor.agency_id)
            self._scope.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        scope_cm = getattr(self, "_scope", None)
        if scope_cm is not None:
            self._scope = None
            scope_cm.__exit__(None, None, None)
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def actor(self) -> StaffActor:
        return self.request.actor
