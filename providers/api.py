"""HTTP interface of the providers app: sign-in status, sign in with ChatGPT, sign out."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import errors
from core.serializers import StrictInputSerializer, validated_input

from . import selectors, services
from .codex_login import METHODS
from .serializers import AuthStatusSerializer, LoginStateSerializer, LogoutSerializer


class CodexLoginInputSerializer(StrictInputSerializer):
    method = serializers.ChoiceField(
        choices=METHODS,
        default="browser",
        help_text="browser: open `authorizeUrl` on this machine; device: enter `userCode` at `verificationUrl` "
        "from any browser; import: copy the Codex CLI's sign-in from $CODEX_HOME/auth.json.",
    )


class AuthStatusView(APIView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_status",
        summary="Sign-in status of each model provider",
        responses={200: AuthStatusSerializer, **errors()},
    )
    def get(self, request):
        return Response(selectors.auth_status())


class CodexLoginView(APIView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_codex_login",
        summary="Sign in with ChatGPT",
        description="Starts the Codex OAuth sign-in. `browser` answers 202 with `authorizeUrl` and listens on "
        "127.0.0.1:1455 for the callback until the login ends; `device` answers 202 with `userCode` and "
        "`verificationUrl` and polls the issuer; `import` copies the Codex CLI's tokens and answers 200. "
        "Follow progress in GET /api/auth/status. A second request while a login of the same method is "
        "pending answers that login.",
        request=CodexLoginInputSerializer,
        responses={
            200: LoginStateSerializer,
            202: LoginStateSerializer,
            **errors(
                "invalid_input",
                "codex_import_unavailable",
                "callback_port_busy",
                "issuer_unreachable",
                "device_login_unavailable",
            ),
        },
        examples=[OpenApiExample("device", value={"method": "device"}, request_only=True)],
    )
    def post(self, request):
        data = validated_input(CodexLoginInputSerializer, request.data)
        login = services.codex_login_start(method=data["method"])
        return Response(login.to_dict(), status=status.HTTP_202_ACCEPTED if login.pending else status.HTTP_200_OK)


class CodexLogoutView(APIView):
    @extend_schema(
        tags=["auth"],
        operation_id="auth_codex_logout",
        summary="Sign out of ChatGPT",
        description="Cancels a pending sign-in, deletes the stored tokens and revokes them at the issuer "
        "(a failed revocation does not block the sign-out). Idempotent.",
        request=None,
        responses={200: LogoutSerializer, **errors()},
    )
    def post(self, request):
        return Response(services.codex_logout())
