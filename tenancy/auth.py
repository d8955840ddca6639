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
