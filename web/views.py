"""The pages: a session check, the first screenful of data from the apps' selectors, a template.

Everything that changes a thing (start, stop, retry, confirm, sign in with ChatGPT) is done by the
page's script through the JSON API with the session cookie and the CSRF token, so each action has
one implementation: the API's service. The API token never reaches a page.
"""

from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from scenarios.catalog import Scenario
from web.selectors import last_screenshot_urls
from web.templatetags.deskhand import words

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


KIND_WORDS = {"run": "Runs", "session": "Live sessions"}


def _history_filters(params) -> tuple[dict, str]:
    """The page's kind and status filters, and a sentence when one of them cannot apply.

    A filter that cannot apply is dropped alone, and said so: the other one stays chosen.
    """
    from history.selectors import history_statuses

    statuses = history_statuses()
    kind, status, problem = params.get("kind") or "", params.get("status") or "", ""
    if kind and kind not in statuses:
        problem, kind = f"There is no kind “{kind}”, so runs and live sessions are both shown.", ""
    allowed = statuses[kind] if kind else [*statuses["run"], *statuses["session"]]
    if status and status not in allowed:
        if kind and any(status in values for values in statuses.values()):
            problem = f"{KIND_WORDS[kind]} are never “{words(status)}”, so {KIND_WORDS[kind].lower()} in every status are shown."
        else:
            problem = f"There is no status “{status}”, so every status is shown."
        status = ""
    return {name: value for name, value in (("kind", kind), ("status", status)) if value}, problem


@require_GET
@operator_required
def history_page(request):
    from history.selectors import history_list, history_query, history_statuses

    try:
        page = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page = 1
    filters, problem = _history_filters(request.GET)
    result = history_list(**history_query({**filters, "limit": str(PAGE_SIZE), "offset": str((page - 1) * PAGE_SIZE)}))
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
    by_kind = history_statuses()
    # Every status once, with the kinds that have it: the page's script offers only the chosen kind's.
    statuses = [
        {"value": value, "kinds": " ".join(kind for kind, values in by_kind.items() if value in values)}
        for value in dict.fromkeys([*by_kind["run"], *by_kind["session"]])
    ]
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
            **_providers(auth_status()["providers"]),
            "default_model": settings.DEFAULT_MODEL,
            "machines": _machines(),
            "replay_of": _replay_of(request.GET.get("replayOf")),
        },
    )


def _replay_of(run_id: str | None) -> dict | None:
    """The run "Replay it with another input" came from: its id, scenario and input (secret values,
    which are not kept, left out so the form asks for them)."""
    from runs.selectors import run_get

    run = run_get(run_id=run_id) if run_id else None
    if run is None:
        return None
    secrets = set(Scenario.from_dict(run.scenario).secret_inputs) if run.scenario else set()
    return {
        "id": run.pk,
        "scenarioId": run.scenario_id,
        "input": {name: value for name, value in (run.input or {}).items() if name not in secrets},
    }


def _providers(status: dict, *, chosen: str | None = None) -> dict:
    """The providers for a form's select: which are ready, how to fix the others, which is chosen.

    A provider that is not ready (no API key, not signed in to ChatGPT) cannot be chosen: the run
    would only fail at once. The chosen one is `chosen` when ready, else the first ready one.
    """
    codex = status.get("codex-oauth") or {}
    providers = [
        {
            "value": "api-key",
            "label": "API key",
            "ready": bool((status.get("api-key") or {}).get("configured")),
            "hint": "OPENAI_API_KEY is not set",
            "fix": "How to set it",
            "fix_url": "/status#auth-title",
        },
        {
            "value": "codex-oauth",
            "label": "ChatGPT account (Codex OAuth)",
            "ready": bool(codex.get("signedIn")),
            "hint": "not signed in",
            "fix": "Sign in with ChatGPT on the Status page",
            "fix_url": "/status#codex-actions",
        },
    ]
    ready = [p["value"] for p in providers if p["ready"]]
    selected = chosen if chosen in ready else (ready[0] if ready else None)
    for provider in providers:
        provider["selected"] = provider["value"] == selected
    return {"providers": providers, "any_provider_ready": bool(ready)}


# What each machine is doing, in the words of a form's machine list.
MACHINE_WORDS = {"idle": "free", "busy": "busy", "offline": "offline"}


def _machines() -> list[dict]:
    """The machines a form offers (all of them: a run for a busy or offline one waits for it)."""
    from runs.selectors import machine_list, machine_status

    machines = []
    for machine in machine_list():
        status = machine_status(machine)
        waiting = len(machine.queued_run_ids)
        words = MACHINE_WORDS[status] + (f", {waiting} run{'s' if waiting != 1 else ''} waiting" if waiting else "")
        machines.append({"name": machine.name, "status": status, "words": words})
    return machines


@require_GET
@operator_required
def live_page(request, session_id: str | None = None):
    from providers.selectors import auth_status
    from sessions.selectors import session_get, session_list
    from sessions.serializers import SessionDetailSerializer

    context = {"default_model": settings.DEFAULT_MODEL}
    if session_id is None:
        context.update(_providers(auth_status()["providers"]))
        context["machines"] = _machines()
        recent, _ = session_list(limit=10)
        context["recent"] = recent
        return render(request, "web/live_index.html", context)
    session = session_get(session_id=session_id)
    if session is None:
        raise Http404(f"No live session {session_id}.")
    context["session"] = session
    context.update(_providers(auth_status()["providers"], chosen=session.auth_provider))
    context["initial"] = SessionDetailSerializer(session).data
    return render(request, "web/live.html", context)


@require_GET
@operator_required
def status_page(request):
    # Health probes the providers over the network (seconds when one is down): the script asks for
    # it after the page is shown instead of holding the page back.
    return render(request, "web/status.html", {})


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for on their own (pages also name the SVG one)."""
    return FileResponse(open(finders.find("web/favicon.ico"), "rb"), content_type="image/x-icon")
