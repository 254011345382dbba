"""Who is calling: the bearer token (API clients) or a logged-in session (pages, admin).

`config.security.ApiRequestMiddleware` decides once per request and stores the answer on the
request; DRF views and the plain async SSE views both read it from there, so every `/api/` path
(streams, screenshots and log files included) is guarded by the same code.
"""

import hmac

from django.conf import settings
from rest_framework.authentication import BaseAuthentication


class ApiPrincipal:
    """The caller of an API request. Truthy `is_authenticated` is what DRF's IsAuthenticated checks."""

    is_authenticated = True

    def __init__(self, kind: str, username: str = ""):
        self.kind = kind  # "token" or "session"
        self.username = username

    def __str__(self) -> str:
        return self.username or self.kind


def bearer_token_matches(header_value: str | None) -> bool:
    if not header_value:
        return False
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    # Constant time: a byte-by-byte comparison leaks how much of a guess was right.
    return hmac.compare_digest(token.strip().encode(), settings.API_TOKEN.encode())


class MiddlewareAuthentication(BaseAuthentication):
    def authenticate(self, request):
        principal = getattr(request._request, "api_principal", None)
        return (principal, None) if principal else None

    def authenticate_header(self, request):
        return 'Bearer realm="deskhand"'
