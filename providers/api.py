"""HTTP interface of the providers app: sign-in status, sign in with ChatGPT, sign out."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import StrictInputSerializer

from . import selectors, services
from .codex_login import METHODS


class CodexLoginInputSerializer(StrictInputSerializer):
    method = serializers.ChoiceField(
        choices=METHODS,
        default="browser",
        help_text="browser: open `authorizeUrl` on this machine; device: enter `userCode` at `verificationUrl` "
        "from any browser; import: copy the Codex CLI's sign-in from $CODEX_HOME/auth.json.",
    )


class LoginStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed", "expired", "cancelled"])
    method = serializers.ChoiceField(choices=METHODS)
    startedAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField(allow_null=True, help_text="When a pending login stops waiting.")
    authorizeUrl = serializers.URLField(required=False, help_text="browser: the page to open.")
    verificationUrl = serializers.URLField(required=False, help_text="device: where to enter the code.")
    userCode = serializers.CharField(required=False, help_text="device: the code to enter.")
    finishedAt = serializers.DateTimeField(required=False)
    accountId = serializers.CharField(required=False)
    error = serializers.DictField(required=False, help_text='{"code", "message"} when failed or expired.')


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField(required=False)


class ApiKeyStatusSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    baseUrl = serializers.URLField()


class CodexStatusSerializer(serializers.Serializer):
    signedIn = serializers.BooleanField()
    accountId = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    plan = serializers.CharField(allow_null=True, help_text="ChatGPT plan, e.g. plus, pro, team.")
    expiresAt = serializers.DateTimeField(allow_null=True, help_text="Access token expiry; it is refreshed before.")
    lastRefresh = serializers.DateTimeField(allow_null=True)
    signedInAt = serializers.DateTimeField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    lastError = ErrorSerializer(allow_null=True, help_text="Why the last refresh failed or why the sign-in was lost.")
    baseUrl = serializers.URLField()
    importAvailable = serializers.BooleanField(help_text="$CODEX_HOME/auth.json holds ChatGPT tokens to import.")
    login = LoginStateSerializer(allow_null=True, help_text="The latest sign-in attempt of this server process.")


class ProvidersSerializer(serializers.Serializer):
    api_key = ApiKeyStatusSerializer()
    codex_oauth = CodexStatusSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["api-key"] = fields.pop("api_key")
        fields["codex-oauth"] = fields.pop("codex_oauth")
        return fields


class AuthStatusSerializer(serializers.Serializer):
    providers = ProvidersSerializer()


class LogoutSerializer(serializers.Serializer):
    signedIn = serializers.BooleanField()
    revoked = serializers.BooleanField(allow_null=True, help_text="null when there was nothing to revoke.")
    loginCancelled = serializers.BooleanField()


class AuthStatusView(APIView):
    @extend_schema(tags=["auth"], summary="Sign-in status of each model provider", responses=AuthStatusSerializer)
    def get(self, request):
        return Response(selectors.auth_status())


class CodexLoginView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="Sign in with ChatGPT",
        description="Starts the Codex OAuth sign-in. `browser` answers 202 with `authorizeUrl` and listens on "
        "127.0.0.1:1455 for the callback until the login ends; `device` answers 202 with `userCode` and "
        "`verificationUrl` and polls the issuer; `import` copies the Codex CLI's tokens and answers 200. "
        "Follow progress in GET /api/auth/status. A second request while a login of the same method is "
        "pending answers that login.",
        request=CodexLoginInputSerializer,
        responses={200: LoginStateSerializer, 202: LoginStateSerializer},
        examples=[OpenApiExample("device", value={"method": "device"}, request_only=True)],
    )
    def post(self, request):
        serializer = CodexLoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        login = services.codex_login_start(method=serializer.validated_data["method"])
        return Response(login.to_dict(), status=status.HTTP_202_ACCEPTED if login.pending else status.HTTP_200_OK)


class CodexLogoutView(APIView):
    @extend_schema(
        tags=["auth"],
        summary="Sign out of ChatGPT",
        description="Cancels a pending sign-in, deletes the stored tokens and revokes them at the issuer "
        "(a failed revocation does not block the sign-out). Idempotent.",
        request=None,
        responses=LogoutSerializer,
    )
    def post(self, request):
        return Response(services.codex_logout())
