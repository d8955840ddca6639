"""DRF authentication with our staff JWTs."""

from __future__ import annotations

from rest_framework import authentication, exceptions



class JWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != self.keyword or not token.strip():
            raise exceptions.AuthenticationFailed("Cabecera Authorization mal formada.")
        from tenancy.services import Unauthenticated, actor_from_access_token

        try:
            actor = actor_from_access_token(token.strip())
        except Unauthenticated as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        request.actor = actor
        return (actor, token)

    def authenticate_header(self, request):
        return 'Bearer realm="markezy"'


from drf_spectacular.extensions import OpenApiAuthenticationExtension  # noqa: E402


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the staff JWT as an HTTP bearer scheme in the OpenAPI schema."""

    target_class = "tenancy.auth.JWTAuthentication"
    name = "staffJWT"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
