"""The execution machinery runs and live sessions share: the desktop claim, the Django sink,
heartbeats, the model client and the memory provider.

An *owner* is the row an execution reports to (a Run, or a LiveSession for a live command). The
sink never decides an owner's final status: it writes events, answers "should I stop?" from the
database, blocks on confirmations, and keeps the heartbeat. The caller (runs.services.run_execute,
or the sessions service) claims the owner, calls the engine, and writes the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, models
from django.db.models import Exists, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.redact import redact
from events.services import event_append, screenshot_store
from runs.models import Confirmation, Machine, Run

logger = logging.getLogger("deskhand.runs")

# How often the sink re-reads the stop flag: the engine asks before every action and every 50 ms
# inside waits and shell commands; one indexed read per this interval keeps a stop within ~0.3 s
# without a query per poll.
STOP_POLL_SECONDS = 0.25
# How long a confirmation waits for a person before it counts as declined (fail closed).
CONFIRMATION_TIMEOUT_SECONDS = 15 * 60


def heartbeat_interval() -> float:
    """A heartbeat several times per stale period, so one slow write never makes a live run look dead."""
    return max(0.5, min(10.0, settings.HEARTBEAT_STALE_SECONDS / 6))


def stale_before(seconds: float | None = None):
    return timezone.now() - timezone.timedelta(seconds=seconds or settings.HEARTBEAT_STALE_SECONDS)


# --- The desktop claim --------------------------------------------------------------------------


def desktop_claim(*, machine_id: int, holder: str, queued_before: Run | None = None) -> bool:
    """Take the machine's desktop for `holder` with one conditional UPDATE; True when it is ours.

    With `queued_before` (a queued run), the claim also requires that no older queued run is
    waiting for this machine with a live heartbeat: waiting runs take the desktop in creation
    order, while an orphaned queued row (its worker died) cannot block the line.
    """
    now = timezone.now()
    claim = Machine.objects.filter(pk=machine_id, desktop_holder="")
    if queued_before is not None:
        stale = stale_before()
        older_waiting = Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=queued_before.created_at).filter(
            # Waiting here with a live heartbeat, or not picked up yet but fresh: its task may
            # simply have reached a worker thread a moment after ours.
            (Q(machine_id=machine_id, heartbeat_at__gte=stale) & ~Q(claim_token=""))
            | Q(claim_token="", created_at__gte=stale)
        )
        claim = claim.filter(~Exists(older_waiting))
    return claim.update(desktop_holder=holder, desktop_claimed_at=now, desktop_heartbeat_at=now) == 1


def desktop_release(*, machine_id: int, holder: str) -> bool:
    """Free the desktop if `holder` still has it (a sweeper may already have freed it)."""
    return (
        Machine.objects.filter(pk=machine_id, desktop_holder=holder).update(
            desktop_holder="", desktop_claimed_at=None, desktop_heartbeat_at=None
        )
        == 1
    )


def desktop_sweep(*, machine_id: int | None = None, claimed_before=None) -> list[str]:
    """Free desktops whose holder stopped heartbeating, or (with `claimed_before`, used by a worker
    starting up: nothing it runs claimed the desktop before it started) every claim older than that.
    Returns the freed holders."""
    machines = Machine.objects.exclude(desktop_holder="")
    if machine_id is not None:
        machines = machines.filter(pk=machine_id)
    if claimed_before is not None:
        machines = machines.annotate(claimed=Coalesce("desktop_claimed_at", "created_at")).filter(
            claimed__lt=claimed_before
        )
    else:
        machines = machines.annotate(beat=Coalesce("desktop_heartbeat_at", "desktop_claimed_at", "created_at")).filter(
            beat__lt=stale_before()
        )
    freed = []
    for machine in machines:
        if desktop_release(machine_id=machine.pk, holder=machine.desktop_holder):
            freed.append(machine.desktop_holder)
    return freed


# --- The owner and its sink ---------------------------------------------------------------------


@dataclass
class ExecutionOwner:
    """The row an execution reports to and the statuses it moves between while it runs.

    `claim` filters prove the execution still owns the row (e.g. {"claim_token": ...}); every write
    the sink makes is conditional on them and on `active_statuses`, so an execution that was swept
    as stale learns it (should_stop() turns true) instead of overwriting the sweeper's verdict.
    """

    model: type[models.Model]
    pk: str
    running_status: str
    waiting_status: str
    claim: dict = field(default_factory=dict)
    machine_id: int | None = None

    @property
    def active_statuses(self) -> tuple[str, str]:
        return (self.running_status, self.waiting_status)

    def rows(self):
        return self.model.objects.filter(pk=self.pk, status__in=self.active_statuses, **self.claim)

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.model._meta.get_fields())


USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


class DjangoSink:
    """The engine's Sink over the event log, the owner row and the Confirmation table.

    Called from the engine's thread and from the heartbeat thread; each thread uses its own
    database connection (Django's connections are per thread).
    """

    def __init__(
        self,
        owner: ExecutionOwner,
        *,
        memory_writer=None,
        usage_before: dict | None = None,
        confirmation_timeout_s: float = CONFIRMATION_TIMEOUT_SECONDS,
    ):
        self.owner = owner
        self.memory_writer = memory_writer
        self.confirmation_timeout_s = confirmation_timeout_s
        self.lost = threading.Event()  # set when the row is no longer ours (swept, deleted)
        self._stop_checked_at = 0.0
        self._stop = False
        self._usage = {key: 0 for key in USAGE_KEYS}
        # What the owner had used before this execution (a live session's earlier commands).
        self._usage_before = {key: int((usage_before or {}).get(key) or 0) for key in USAGE_KEYS}
        self.route = ""

    # -- events --
    def emit(self, type: str, data: dict) -> None:
        event_append(owner_id=self.owner.pk, type=type, data=data)
        if type == "usage":
            cumulative = data.get("cumulative") or {}
            for key in self._usage:
                self._usage[key] = int(cumulative.get(key, self._usage[key] + int(data.get(key) or 0)))
            self.owner.rows().update(usage=self.owner_usage)
        elif type == "agent_route":
            self.route = str(data.get("route") or "")
            if self.owner.has_field("route"):
                self.owner.rows().update(route=self.route[:20])

    @property
    def usage(self) -> dict:
        """This execution's tokens."""
        return dict(self._usage)

    @property
    def owner_usage(self) -> dict:
        """The owner's tokens: what it had used before, plus this execution's."""
        return {key: self._usage_before[key] + self._usage[key] for key in USAGE_KEYS}

    # -- stop --
    def should_stop(self) -> bool:
        if self._stop or self.lost.is_set():
            return True
        now = time.monotonic()
        if now - self._stop_checked_at < STOP_POLL_SECONDS:
            return False
        self._stop_checked_at = now
        row = self.owner.rows().values("stop_requested_at").first()
        if row is None:
            self.lost.set()  # swept or deleted: whoever did that decided the outcome
            return True
        self._stop = row["stop_requested_at"] is not None
        return self._stop

    # -- heartbeat --
    def heartbeat(self) -> None:
        now = timezone.now()
        if self.owner.rows().update(heartbeat_at=now) == 0:
            self.lost.set()
            return
        if self.owner.machine_id is not None:
            Machine.objects.filter(pk=self.owner.machine_id, desktop_holder=self.owner.pk).update(
                desktop_heartbeat_at=now, last_heartbeat=now
            )

    # -- confirmations --
    def confirm(self, request) -> str:
        """Block until a person answers, the stop flag is set or the wait times out. Fail closed."""
        owner = self.owner
        pending = Confirmation.objects.create(
            owner_id=owner.pk,
            fingerprint=request.fingerprint,
            kind=request.kind,
            action=_json_safe(request.action),
            reason=redact(request.reason)[:2000],
        )
        if owner.model.objects.filter(pk=owner.pk, status=owner.running_status, **owner.claim).update(
            status=owner.waiting_status
        ):
            self.emit(
                "status", {"status": owner.waiting_status, "reason": "Waiting for a person to confirm an action."}
            )
        self.emit("confirmation_required", {**request.as_event(), "confirmationId": pending.pk})
        deadline = time.monotonic() + self.confirmation_timeout_s
        next_beat = 0.0
        decision = "declined"
        while True:
            if time.monotonic() >= next_beat:
                self.heartbeat()
                next_beat = time.monotonic() + heartbeat_interval()
            status = Confirmation.objects.filter(pk=pending.pk).values_list("status", flat=True).first()
            if status == Confirmation.Status.CONFIRMED:
                # Single use: only the first consumer of this exact fingerprint turns it into "used".
                used = Confirmation.objects.filter(
                    pk=pending.pk, status=Confirmation.Status.CONFIRMED, fingerprint=request.fingerprint
                ).update(status=Confirmation.Status.USED)
                decision = "confirmed" if used else "declined"
                break
            if status != Confirmation.Status.PENDING:
                break
            if self.should_stop() or time.monotonic() >= deadline:
                Confirmation.objects.filter(pk=pending.pk, status=Confirmation.Status.PENDING).update(
                    status=Confirmation.Status.EXPIRED, resolved_at=timezone.now()
                )
                break
            time.sleep(0.2)
        if owner.model.objects.filter(pk=owner.pk, status=owner.waiting_status, **owner.claim).update(
            status=owner.running_status
        ):
            self.emit("status", {"status": owner.running_status})
        self.emit(
            "confirmation_resolved",
            {"fingerprint": request.fingerprint, "decision": decision, "confirmationId": pending.pk},
        )
        return decision

    # -- storage --
    def store_screenshot(self, data: bytes, *, mime: str, width: int, height: int) -> str:
        return screenshot_store(owner_id=self.owner.pk, data=data, mime=mime, width=width, height=height).id

    def remember(
        self, *, content: str, category: str, app_context: str | None, tags: list[str], confidence: float
    ) -> None:
        if self.memory_writer is None:
            self.emit("log", {"level": "warning", "message": "Memory is not available here; the note was not saved."})
            return
        self.memory_writer(
            content=content,
            category=category,
            app_context=app_context,
            tags=list(tags),
            confidence=confidence,
            source_owner_id=self.owner.pk,
        )


def confirmation_resolve(*, owner_id: str, choice: str, fingerprint: str | None = None) -> Confirmation | None:
    """A person's answer to the owner's pending confirmation; None when nothing is pending.

    With `fingerprint`, the answer applies only to that exact action (a stale page cannot approve
    a different action that replaced it).
    """
    if choice not in ("confirmed", "declined"):
        raise ValueError(choice)
    pending = Confirmation.objects.filter(owner_id=owner_id, status=Confirmation.Status.PENDING)
    if fingerprint:
        pending = pending.filter(fingerprint=fingerprint)
    target = pending.order_by("-created_at").first()
    if target is None:
        return None
    if (
        Confirmation.objects.filter(pk=target.pk, status=Confirmation.Status.PENDING).update(
            status=choice, resolved_at=timezone.now()
        )
        != 1
    ):
        return None
    target.refresh_from_db()
    return target


class Heartbeat:
    """A background thread that heartbeats while the engine blocks (a model call, a long command)."""

    def __init__(self, sink: DjangoSink, interval: float | None = None):
        self.sink = sink
        self.interval = interval or heartbeat_interval()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{sink.owner.pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        try:
            while not self._done.wait(self.interval):
                try:
                    self.sink.heartbeat()
                except Exception:
                    logger.warning("Heartbeat for %s failed", self.sink.owner.pk, exc_info=True)
        finally:
            connection.close()


# --- What the engine needs from Django ----------------------------------------------------------


def model_client_build(*, provider: str):
    """One model client per execution, configured from settings (never from the request: a
    request that chose the base URL could send the key anywhere)."""
    from agent.transports import TransportConfig, build_client

    config = TransportConfig(
        openai_api_key=settings.OPENAI_API_KEY or None,
        openai_base_url=settings.OPENAI_BASE_URL,
        codex_base_url=settings.CODEX_BASE_URL,
    )
    tokens = None
    if provider == "codex-oauth":
        from providers.codex_tokens import CodexTokenSource

        tokens = CodexTokenSource.from_settings()
    return build_client(provider, config, tokens)


def missing_credentials(*, provider: str) -> str | None:
    """What is missing for `provider`, as a message that says what to do; None when it looks usable."""
    if provider == "api-key" and not settings.OPENAI_API_KEY:
        return (
            "No OpenAI API key is configured. Set OPENAI_API_KEY in the environment (or .env) of the "
            'worker and restart it, or sign in with ChatGPT and use authProvider "codex-oauth".'
        )
    return None


class NoDesktop:
    """The computer when this process cannot see a desktop: the cli agent still works, and a
    desktop action fails with the reason (the engine reports it as an error event)."""

    def __init__(self, reason: str):
        self.reason = reason

    def _fail(self, *args, **kwargs):
        from agent.errors import ComputerUnavailable

        raise ComputerUnavailable(self.reason)

    screenshot = click = double_click = drag = move = scroll = keypress = type = screen_size = _fail

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def windows(self) -> list[dict]:
        return []

    def release_all(self) -> None:
        pass


def computer_get():
    from agent.computer import get_computer
    from agent.errors import ComputerUnavailable

    try:
        return get_computer()
    except ComputerUnavailable as exc:
        return NoDesktop(exc.message)


# The web server's default address (`serve`), and the sign-in callback listener: pages the agent's browser
# may never load (a page could otherwise steer the agent into approving its own actions).
OWN_ORIGINS = ("127.0.0.1:3333", "localhost:3333")


def browser_config_build():
    """The browser the engine may drive: a managed one with its profile in the data dir, or the user's
    own browser when DESKHAND_BROWSER_CDP_URL names its loopback debugging address."""
    from agent.browser import BrowserConfig

    own = [*OWN_ORIGINS, f"127.0.0.1:{settings.CODEX_CALLBACK_PORT}"]
    own += [f"{host}:{port}" for host in settings.ALLOWED_HOSTS for port in (settings.SERVER_PORT, 3333)]
    return BrowserConfig(
        profile_dir=str(settings.DATA_DIR / "browser-profile"),
        cdp_url=settings.BROWSER_CDP_URL or None,
        executable=settings.BROWSER_PATH or None,
        forbidden_origins=tuple(dict.fromkeys(own)),
    )


def memory_provider_build(*, owner_id: str):
    """The memory the engine reads before a task, and the writer its `remember` tool calls."""
    from memory.provider import DjangoMemoryProvider

    provider = DjangoMemoryProvider(owner_id=owner_id)
    return provider, provider.remember


def screen_config_build():
    """How screenshots reach the model, from the settings."""
    from agent.screen import ScreenConfig

    return ScreenConfig(max_long_edge=settings.SCREENSHOT_MAX_EDGE, image_format=settings.SCREENSHOT_FORMAT)


def protected_paths() -> list[str]:
    """What a shell command may touch, or the desktop agent type, only with a person's approval:
    Deskhand's data, code and API token (the engine never repeats the values; events are redacted)."""
    return [str(settings.DATA_DIR), str(settings.CODEX_HOME), str(settings.BASE_DIR), settings.API_TOKEN]


def execution_thread_cleanup() -> None:
    """Worker threads outlive requests: drop connections Django would otherwise keep open forever."""
    close_old_connections()


def _json_safe(value):
    import json

    return json.loads(json.dumps(value, default=str))


__all__ = [
    "DjangoSink",
    "ExecutionOwner",
    "Heartbeat",
    "NoDesktop",
    "computer_get",
    "confirmation_resolve",
    "browser_config_build",
    "desktop_claim",
    "desktop_release",
    "desktop_sweep",
    "memory_provider_build",
    "missing_credentials",
    "model_client_build",
    "protected_paths",
    "screen_config_build",
    "stale_before",
    "heartbeat_interval",
]
