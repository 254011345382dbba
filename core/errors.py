"""Domain errors. Every error the API reports has one shape: {"code", "message", "details"}.

Services raise these; `config.api_errors.exception_handler` renders them (and DRF's own errors)
into that shape.
"""


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


class Conflict(AppError):
    code = "conflict"
    http_status = 409


class Unavailable(AppError):
    code = "unavailable"
    http_status = 503


class InsufficientStorage(AppError):
    """The data dir's disk is (nearly) full: nothing new is accepted until space is freed."""

    code = "disk_full"
    http_status = 507
