"""REST rate limit per staff member (issue 9), counted in the shared cache."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class StaffRateThrottle(SimpleRateThrottle):
    scope = "staff"

    def get_rate(self):
        # Read per request, so a deployment (or a test) can change it live.
        return settings.REST_RATE_PER_USER

    def get_cache_key(self, request, view):
        actor = getattr(request, "actor", None)
        if actor is None:
            return None  # anonymous endpoints have limits of their own
        return self.cache_format % {"scope": self.scope, "ident": actor.user_id}
