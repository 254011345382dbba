"""The output shapes of the providers app: sign-in status and a login attempt (built by the
selectors and `LoginState.to_dict()`, documented here)."""

from rest_framework import serializers

from .codex_login import METHODS


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


class ProviderErrorSerializer(serializers.Serializer):
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
    lastError = ProviderErrorSerializer(
        allow_null=True, help_text="Why the last refresh failed or why the sign-in was lost."
    )
    baseUrl = serializers.URLField()
    importAvailable = serializers.BooleanField(help_text="$CODEX_HOME/auth.json holds ChatGPT tokens to import.")
    login = LoginStateSerializer(allow_null=True, help_text="The latest sign-in attempt of this server process.")


class AuthProvidersSerializer(serializers.Serializer):
    api_key = ApiKeyStatusSerializer()
    codex_oauth = CodexStatusSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["api-key"] = fields.pop("api_key")
        fields["codex-oauth"] = fields.pop("codex_oauth")
        return fields


class AuthStatusSerializer(serializers.Serializer):
    providers = AuthProvidersSerializer()


class LogoutSerializer(serializers.Serializer):
    signedIn = serializers.BooleanField()
    revoked = serializers.BooleanField(allow_null=True, help_text="null when there was nothing to revoke.")
    loginCancelled = serializers.BooleanField()
