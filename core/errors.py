"""Domain errors. Every error the API reports has one shape: {"code", "message", "details"}.

Services raise these; `config.api_errors.exception_handler` renders them (and DRF's own errors)
into that shape, the plain async stream views and the security middleware through
`error_response` below: one builder for every error body the API sends.
"""

import errno
import shutil
from pathlib import Path

from django.http import JsonResponse

from core.redact import redact_data

# Every code the API answers with: its HTTP status and what it means. The OpenAPI schema lists,
# for each operation, the codes it can return (core.openapi), and a test checks that every code
# raised in the code base is listed here.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_input": (400, "A parameter or a body field is wrong; `details.field` names it."),
    "invalid_json": (400, "The body is not valid JSON."),
    "bad_request": (400, "The request itself is malformed (for example its Content-Length)."),
    "bad_host": (400, "The Host header is not one of this server's names."),
    "issuer_bad_response": (400, "The ChatGPT sign-in service answered without JSON."),
    "not_authenticated": (401, "No valid `Authorization: Bearer <token>`."),
    "forbidden": (403, "Not allowed."),
    "cross_site": (403, "A cross-site request, or a write from a foreign Origin."),
    "csrf_failed": (403, "A cookie-authenticated write without the CSRF token."),
    "not_found": (404, "Nothing with this id or name."),
    "method_not_allowed": (405, "The path does not answer this method."),
    "not_acceptable": (406, "The Accept header allows no type this endpoint answers with."),
    "conflict": (409, "The request conflicts with the current state."),
    "run_active": (409, "The run has not finished yet."),
    "run_finished": (409, "The run has already finished."),
    "scenario_gone": (409, "The run's scenario no longer exists."),
    "secret_inputs_gone": (409, "The run had secret inputs, which are not kept; start a new run with them."),
    "no_recording": (409, "No succeeded run of the scenario can be replayed with this input."),
    "recording_not_succeeded": (409, "Only a succeeded run is a recording to replay."),
    "recording_not_replayable": (409, "The run did something a replay cannot repeat (a shell or browser tool)."),
    "recording_not_refillable": (409, "An input that differs from the recorded run's was not typed by it."),
    "no_pending_confirmation": (409, "Nothing is waiting for a confirmation (or not this one)."),
    "session_closed": (409, "The live session is closed."),
    "session_busy": (409, "The live session is executing an instruction."),
    "waiting_confirmation": (409, "The live session is waiting for a confirmation."),
    "desktop_busy": (409, "Another execution drives the desktop."),
    "not_executing": (409, "Nothing is executing."),
    "not_running": (409, "The run is not running, so it cannot be paused."),
    "not_paused": (409, "The run or session is not paused, so there is nothing to resume."),
    "codex_import_unavailable": (409, "There is no Codex CLI sign-in to import."),
    "callback_port_busy": (409, "The sign-in callback port is taken by another program."),
    "codex_signed_out": (409, "Not signed in with ChatGPT."),
    "codex_token_file_insecure": (409, "The ChatGPT token file can be read by other users."),
    "body_timeout": (408, "The body did not arrive within DESKHAND_BODY_TIMEOUT_SECONDS."),
    "body_too_large": (413, "The body is larger than DESKHAND_MAX_BODY_BYTES."),
    "uri_too_long": (414, "The request line (the query) is too long."),
    "unsupported_media_type": (415, "The body is not JSON (Content-Type: application/json)."),
    "rate_limited": (429, "Too many requests."),
    "too_many_sign_in_failures": (
        429,
        "Too many wrong tokens or passwords from this address; wait Retry-After seconds.",
    ),
    "headers_too_large": (431, "The request headers are too large."),
    "disk_full": (507, "The data dir's disk is (nearly) full; free some space."),
    "server_error": (500, "A bug; the server log has the details."),
    "unavailable": (503, "A service this request needs is not available."),
    "display_unavailable": (503, "No desktop display is reachable."),
    "issuer_unreachable": (503, "The ChatGPT sign-in service cannot be reached."),
    "device_login_unavailable": (503, "The ChatGPT sign-in service refused a device code."),
    "codex_refresh_failed": (503, "The ChatGPT sign-in could not be refreshed; try again later."),
}

# Less free space than this, and an I/O error is taken for a full disk.
NO_SPACE_BYTES = 1 << 20


class AppError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(AppError):
    code = "invalid_input"
    http_status = 400

    def __init__(self, field: str, message: str, *, details: dict | None = None):
        super().__init__(f"{field}: {message}", details={"field": field, **(details or {})})
        self.field = field


class NotFound(AppError):
    code = "not_found"
    http_status = 404


class MethodNotAllowed(AppError):
    code = "method_not_allowed"
    http_status = 405

    def __init__(self, method: str, *, allowed: tuple[str, ...]):
        # Worded as DRF words it, so every path of the API says it the same way.
        super().__init__(f'Method "{method}" not allowed.')
        self.allowed = allowed


class Conflict(AppError):
    code = "conflict"
    http_status = 409


class Unavailable(AppError):
    code = "unavailable"
    http_status = 503


class DiskFull(AppError):
    """A disk Deskhand writes to is (nearly) full: nothing new is accepted until space is freed."""

    code = "disk_full"
    http_status = 507


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    """The one error shape, secrets masked (a message may quote what a caller sent)."""
    return redact_data({"code": code, "message": message, "details": details or {}})


def error_response(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def app_error_response(exc: AppError) -> JsonResponse:
    """An AppError as a plain Django response, for views and middleware that DRF does not wrap."""
    response = error_response(exc.http_status, exc.code, exc.message, exc.details)
    if isinstance(exc, MethodNotAllowed):
        response["Allow"] = ", ".join(exc.allowed)
    return response


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, says the disk is full.

    The operating system's ENOSPC/EDQUOT (a file write), SQLite's "database or disk is full"
    (SQLITE_FULL, wrapped by Django as OperationalError), PostgreSQL's disk_full (SQLSTATE 53100).
    SQLite says only "disk I/O error" when it cannot even create its journal files to open the
    database; that counts when the disk holding the data has no space left.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlstate", None) == "53100":
            return True
        text = str(exc).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return True
        if "disk i/o error" in text and _data_disk_has_no_space():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _data_disk_has_no_space() -> bool:
    from django.conf import settings

    folders = {Path(settings.DATA_DIR)}
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        folders.add(Path(database["NAME"]).parent)
    for folder in folders:
        try:
            if shutil.disk_usage(folder).free < NO_SPACE_BYTES:
                return True
        except OSError:
            continue
    return False


def disk_full_error() -> DiskFull:
    """The error to report for a write that failed on a full disk, naming where the data lives."""
    from django.conf import settings

    return DiskFull(
        f"A disk is full: the one holding Deskhand's data directory ({settings.DATA_DIR}), or the database's. "
        "Nothing was saved; free some space and try again.",
        details={"dataDir": str(settings.DATA_DIR)},
    )
