"""The defences of a server that can drive a desktop and a shell (see README, "Security").

Bound to loopback is not a boundary on its own: a web page can reach 127.0.0.1 through the
browser (cross-site requests) or through DNS rebinding (its own name pointing at 127.0.0.1).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse

from config.disk_full import disk_full_response
from core.auth import ApiPrincipal, bearer_token_matches
from core.errors import error_response, is_disk_full
from core.signin import client_address, sign_in_failure_record, sign_in_retry_after, throttled_message

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Every page's script, style sheet, image, font and request comes from this server: an injected
# <script>, inline handler or style attribute does not run, and a page cannot send data elsewhere.
# `data:` images are the live screen's frames (base64 JPEG from the screen stream) and the API
# docs' icons; a data: image cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _wants_a_page(request) -> bool:
    """A browser (or a client that states no preference), not a script that asked for JSON."""
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or "application/json" not in accept


def too_many_failures_response(retry_after: int) -> JsonResponse:
    response = error_response(
        429,
        "too_many_sign_in_failures",
        throttled_message(retry_after),
        {"field": "Authorization", "retryAfter": retry_after},
    )
    response["Retry-After"] = str(retry_after)
    return response


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class HostAllowlistMiddleware:
    """Refuse any request whose Host is not one of ours, before anything else looks at it.

    Django validates Host only when something calls `get_host()`; calling it here, first, makes
    the check unconditional (streams and static files included).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.get_host()
        except DisallowedHost:
            return error_response(400, "bad_host", "This server only answers to its own host names.")
        return self.get_response(request)


class CrossSiteRequestMiddleware:
    """Refuse what a foreign web page can make a browser send.

    A state-changing request carrying a foreign Origin, or any API request the browser marks
    `Sec-Fetch-Site: cross-site`, is refused before authentication even runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fetch_site = request.headers.get("Sec-Fetch-Site", "")
        if fetch_site == "cross-site" and (request.method in UNSAFE_METHODS or is_api_path(request.path)):
            return error_response(403, "cross_site", "Cross-site requests are refused.")
        origin = request.headers.get("Origin")
        if origin and request.method in UNSAFE_METHODS and not self._origin_is_ours(origin, request):
            return error_response(403, "cross_site", "Requests from a foreign Origin are refused.")
        return self.get_response(request)

    @staticmethod
    def _origin_is_ours(origin: str, request) -> bool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        # Same host and port as the request; the Host itself was already checked against the allowlist.
        return parts.netloc.lower() == request.get_host().lower()


class ContentSecurityPolicyMiddleware:
    """Send CONTENT_SECURITY_POLICY with every response (pages, admin, API docs, JSON alike)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class ApiRequestMiddleware:
    """Authentication (with the sign-in throttle), query and body rules for every `/api/` request,
    DRF views and SSE streams alike."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request):
        if not is_api_path(request.path):
            return self.get_response(request)

        principal, refusal = self._authenticate(request)
        if refusal:
            return refusal
        request.api_principal = principal

        refusal = self._check_query(request)
        if refusal:
            return refusal
        if request.method in UNSAFE_METHODS:
            refusal = self._check_body(request)
            if refusal:
                return refusal
        return self.get_response(request)

    def _authenticate(self, request):
        offered = request.headers.get("Authorization")
        client = client_address(request)
        if offered:
            # Throttled before the comparison: a guesser must not learn that a guess was right.
            try:
                retry_after = sign_in_retry_after(client=client)
            except DatabaseError as exc:
                # The first database access of a request: on a full disk, SQLite may not even open.
                if is_disk_full(exc):
                    return None, disk_full_response()
                raise
            if retry_after is not None:
                return None, too_many_failures_response(retry_after)
            if bearer_token_matches(offered):
                return ApiPrincipal("token"), None
        user = get_user(request)
        if user.is_authenticated and user.is_staff:
            # A cookie is sent by the browser on its own, so a cookie-authenticated write must
            # also prove it comes from our pages: the CSRF token.
            if request.method in UNSAFE_METHODS:
                rejected = self.csrf.process_view(request, None, (), {})
                if rejected is not None:
                    return None, error_response(403, "csrf_failed", "CSRF token missing or incorrect.")
            return ApiPrincipal("session", user.get_username()), None
        if offered:
            sign_in_failure_record(client=client)
        elif request.path == reverse("docs") and request.method == "GET" and _wants_a_page(request):
            # The docs are a page people open in a browser: sign in, then come back to them.
            return None, redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        response = error_response(
            401, "not_authenticated", "Send the API token: `Authorization: Bearer <token>` (see README)."
        )
        response["WWW-Authenticate"] = 'Bearer realm="deskhand"'
        return None, response

    @staticmethod
    def _check_query(request):
        # Django refuses more fields by raising while the view reads them, which a DRF view
        # reported as a 500; counting the separators first costs nothing.
        query = request.META.get("QUERY_STRING", "")
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        if query and query.count("&") + 1 > limit:
            return error_response(
                400,
                "too_many_parameters",
                f"The query has more than {limit} parameters.",
                {"field": "query", "limit": limit},
            )
        return None

    @staticmethod
    def _check_body(request):
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.", {"field": "Content-Length"})
        # The server refuses these before the body is read (config.http_limits); this is the same
        # rule for any other ASGI server, and for the test client.
        too_large = {"field": "body", "limit": settings.MAX_BODY_BYTES}
        if length > settings.MAX_BODY_BYTES:
            return error_response(
                413, "body_too_large", f"The body is {length} bytes; the limit is {settings.MAX_BODY_BYTES}.", too_large
            )
        try:
            body = request.body
        except RequestDataTooBig:
            return error_response(
                413, "body_too_large", f"The body exceeds the limit of {settings.MAX_BODY_BYTES} bytes.", too_large
            )
        if body:
            content_type = request.content_type or ""
            if content_type != "application/json":
                return error_response(
                    415,
                    "unsupported_media_type",
                    f"Send JSON (Content-Type: application/json), not {content_type!r}.",
                    {"field": "Content-Type"},
                )
        return None
