"""The pages: a session check, the first screenful of data from the apps' selectors, a template.

Everything that changes a thing (start, stop, retry, confirm, sign in with ChatGPT) is done by the
page's script through the JSON API with the session cookie and the CSRF token, so each action has
one implementation: the API's service. The API token never reaches a page.
"""

from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from web.selectors import last_screenshot_urls

PAGE_SIZE = 25

# Staff only, and a visitor who is not signed in goes to the token sign-in, then back here.
operator_required = staff_member_required(login_url=settings.LOGIN_URL)


def _duration(start: str | None, end: str | None) -> str:
    if not start:
        return ""
    begun = datetime.fromisoformat(start)
    finished = datetime.fromisoformat(end) if end else timezone.now()
    return human_duration((finished - begun).total_seconds())


def human_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@require_GET
@operator_required
def history_page(request):
    from core.errors import InvalidInput
    from history.selectors import history_list, history_query
    from runs.models import Run
    from sessions.models import LiveSession

    try:
        page = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page = 1
    filters = {name: request.GET[name] for name in ("kind", "status") if request.GET.get(name)}
    problem = ""
    try:
        query = history_query({**filters, "limit": str(PAGE_SIZE), "offset": str((page - 1) * PAGE_SIZE)})
    except InvalidInput as exc:
        problem = f"{exc.message} The filter was ignored."
        filters = {}
        query = history_query({"limit": str(PAGE_SIZE), "offset": "0"})
        page = 1
    result = history_list(**query)
    thumbnails = last_screenshot_urls(owner_ids=[item["id"] for item in result["items"]])
    items = [
        {
            **item,
            "url": f"/runs/{item['id']}" if item["kind"] == "run" else f"/live/{item['id']}",
            "thumbnail": thumbnails.get(item["id"]),
            "duration": _duration(item["startedAt"], item["endedAt"]),
            "created": datetime.fromisoformat(item["createdAt"]),
            "ended": datetime.fromisoformat(item["endedAt"]) if item["endedAt"] else None,
        }
        for item in result["items"]
    ]
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    statuses = sorted(set(Run.Status.values) | set(LiveSession.Status.values))
    return render(
        request,
        "web/history.html",
        {
            "items": items,
            "total": result["total"],
            "page": page,
            "pages": pages,
            "kind": filters.get("kind", ""),
            "status": filters.get("status", ""),
            "statuses": statuses,
            "problem": problem,
            "filter_query": urlencode(filters),
        },
    )


@require_GET
@operator_required
def run_page(request, run_id: str):
    from runs.selectors import run_get
    from runs.serializers import RunDetailSerializer

    run = run_get(run_id=run_id)
    if run is None:
        raise Http404(f"No run {run_id}.")
    # The same shape as GET /api/runs/<id>: the script has one way to draw a run, first load or refresh.
    return render(request, "web/run.html", {"run": run, "initial": RunDetailSerializer(run).data})


@require_GET
@operator_required
def run_new_page(request):
    from providers.selectors import auth_status
    from scenarios.catalog import load_catalog

    catalog = load_catalog()
    scenarios = [s.as_dict() for s in sorted(catalog.scenarios.values(), key=lambda s: s.id)]
    chosen = request.GET.get("scenario") or ("notepad-hello" if "notepad-hello" in catalog.scenarios else "")
    return render(
        request,
        "web/run_new.html",
        {
            "scenarios": scenarios,
            "scenario_errors": catalog.errors,
            "chosen": chosen,
            "providers": _providers(auth_status()["providers"]),
            "default_model": settings.DEFAULT_MODEL,
        },
    )


def _providers(status: dict) -> list[dict]:
    codex = status.get("codex-oauth") or {}
    return [
        {
            "value": "api-key",
            "label": "API key",
            "ready": bool((status.get("api-key") or {}).get("configured")),
            "hint": "OPENAI_API_KEY is not set",
        },
        {
            "value": "codex-oauth",
            "label": "ChatGPT account (Codex OAuth)",
            "ready": bool(codex.get("signedIn")),
            "hint": "not signed in with ChatGPT (see Status)",
        },
    ]


@require_GET
@operator_required
def live_page(request, session_id: str | None = None):
    from providers.selectors import auth_status
    from sessions.selectors import session_get, session_list
    from sessions.serializers import SessionDetailSerializer

    context = {"providers": _providers(auth_status()["providers"]), "default_model": settings.DEFAULT_MODEL}
    if session_id is None:
        recent, _ = session_list(limit=10)
        context["recent"] = recent
        return render(request, "web/live_index.html", context)
    session = session_get(session_id=session_id)
    if session is None:
        raise Http404(f"No live session {session_id}.")
    context["session"] = session
    context["initial"] = SessionDetailSerializer(session).data
    return render(request, "web/live.html", context)


@require_GET
@operator_required
def status_page(request):
    # Health probes the providers over the network (seconds when one is down): the script asks for
    # it after the page is shown instead of holding the page back.
    return render(request, "web/status.html", {})
