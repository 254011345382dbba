"""Sign-in for the pages and admin: the API token is the password.

One secret to keep instead of two: whoever holds the API token can already do everything the
pages can, so the pages ask for it once and then use an ordinary session cookie (the token never
travels in a URL or lives in the page).
"""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from core.auth import bearer_token_matches
from core.signin import client_address, sign_in_failure_record, sign_in_retry_after, throttled_message

OPERATOR_USERNAME = "deskhand"


class TokenLoginForm(forms.Form):
    token = forms.CharField(
        label="API token", widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True})
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not bearer_token_matches(f"Bearer {token}"):
            raise forms.ValidationError("That is not this server's API token.", code="wrong_token")
        return token


def _operator():
    user, created = get_user_model().objects.get_or_create(
        username=OPERATOR_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = settings.LOGIN_REDIRECT_URL
    form = TokenLoginForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST":
        client = client_address(request)
        # Throttled before the token is compared, as on the API (core.signin).
        retry_after = sign_in_retry_after(client=client)
        if retry_after is not None:
            form, status = TokenLoginForm(), 429
        elif form.is_valid():
            login(request, _operator(), backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url)
        else:
            status = 401
            if form.has_error("token", code="wrong_token"):
                sign_in_failure_record(client=client)
    token_hint = str(settings.API_TOKEN_FILE) if settings.API_TOKEN_FILE else "the DESKHAND_API_TOKEN variable"
    throttled = throttled_message(retry_after) if retry_after is not None else ""
    response = render(
        request,
        "login.html",
        {"form": form, "next": next_url, "token_hint": token_hint, "throttled": throttled},
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["POST"])
def logout_view(request):
    logout(request)
    return redirect(settings.LOGIN_URL)
