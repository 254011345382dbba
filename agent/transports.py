"""Model transports on the official openai SDK and the Responses API, behind one `ModelClient`.

- api-key: the public API; the GA `{"type": "computer"}` tool; JSON responses.
- codex-oauth: the ChatGPT Codex backend; `stream: true`, `store: false`, `instructions` always,
  the full history every turn (no `previous_response_id`, no `max_output_tokens`), items collected
  from `response.output_item.done` because `response.completed` may carry an empty output.

Both send the full item history with `store: false` and encrypted reasoning, so one conversation
format serves both and a live session's history can be stored and resent as is.

A real call takes 5-30 s, so a call is abortable: it runs as a task on the client's own event
loop (the SDK's async client), and the engine's thread, which waits for it, cancels the task as
soon as `should_abort()` says so: the HTTP request (or the Codex stream) is closed, not waited
out. Retries live here, not in the SDK: transient faults (429 without a used-up quota, 5xx,
timeouts, connection resets) are retried with backoff, honouring Retry-After, within a time
budget, and every wait is reported through `on_retry` so a person sees why nothing moves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, cast

import openai

from agent.errors import (
    Aborted,
    AuthFailed,
    AuthMissing,
    EngineError,
    ModelNotSupported,
    ModelRequestRejected,
    QuotaExhausted,
    RateLimited,
    ToolNotSupported,
    TransportFailure,
    redact,
)

ORIGINATOR = "deskhand"  # the `originator` header the Codex backend and the sign-in service see


@dataclass
class TransportConfig:
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    codex_base_url: str = "https://chatgpt.com/backend-api/codex"
    timeout_s: float = 120
    # Transient faults are retried for this long, counted from the first failure of a call.
    retry_budget_s: float = 120
    max_retries: int | None = None  # at most this many retries too (None: the budget alone decides)
    retry_base_delay_s: float = 1.0  # backoff: base * 2**attempt, jittered, at most 30 s


class TokenSource(Protocol):
    def get(self) -> tuple[str, str]: ...
    def refresh_after_unauthorized(self, rejected_access_token: str) -> tuple[str, str]: ...


@dataclass
class ModelRequest:
    model: str
    instructions: str
    input: list[dict]
    tools: list[dict] = field(default_factory=list)
    text_format: dict | None = None  # {"type": "json_schema", "name", "schema", "strict"}
    reasoning: dict | None = None


@dataclass
class ModelResponse:
    id: str
    output: list[dict]
    usage: dict
    status: str = "completed"  # or "incomplete"; a failed response raises TransportFailure instead
    incomplete_reason: str | None = None  # "max_output_tokens", "content_filter"


def _never() -> bool:
    return False


class ModelClient(Protocol):
    provider: str
    computer_tool: str  # "builtin" or "function"; the desktop agent switches it when the backend refuses

    def create(
        self,
        request: ModelRequest,
        *,
        should_abort: Callable[[], bool] = _never,
        on_retry: Callable[[str], None] | None = None,
    ) -> ModelResponse: ...

    def close(self) -> None: ...


def _usage(raw: Any) -> dict[str, int]:
    if raw is None:
        return {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    data = raw if isinstance(raw, dict) else raw.model_dump()
    i, o = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
    return {"input_tokens": i, "output_tokens": o, "total_tokens": int(data.get("total_tokens") or i + o)}


def _dump(item: Any) -> dict[str, Any]:
    dumped = item if isinstance(item, dict) else item.model_dump(exclude_none=True)
    return cast(dict[str, Any], dumped)


def _input_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items as resent with store=false: nothing was stored, so the service looks up any item id it is
    sent and answers 404 (computer calls included); Codex too sends its history without ids."""
    out = []
    for item in items:
        if "id" in item:
            item = {k: v for k, v in item.items() if k != "id"}
        if item.get("type") == "message" and item.get("role") == "assistant":
            item = {k: v for k, v in item.items() if k != "status"}
        out.append(item)
    return out


def _raw_input(request: ModelRequest) -> dict[str, Any]:
    """The conversation as an extra body field, sent as it is.

    The SDK walks every typed request field against its TypedDict annotations; for a history
    carrying base64 screenshots that walk took about 80 ms a step here, more than everything else
    the engine does between two model calls. Our items are already in wire form.
    """
    return {"input": _input_items(request.input)}


def _response(resp: Any, items: list[dict[str, Any]], secret: str | None) -> ModelResponse:
    """The SDK's response as ours; a `failed` one (the service gave up on it) is an error."""
    if resp.status == "failed":
        reason = getattr(getattr(resp, "error", None), "message", None) or "no reason given"
        raise TransportFailure(f"The model service failed the response: {redact(reason, secret)}")
    details = getattr(resp, "incomplete_details", None)
    return ModelResponse(
        id=resp.id,
        output=items,
        usage=_usage(resp.usage),
        status=resp.status or "completed",
        incomplete_reason=getattr(details, "reason", None),
    )


def _error_text(exc: openai.APIStatusError) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    text = inner.get("message") or inner.get("detail") or body.get("detail") or str(exc.message or exc)
    return str(text), inner


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the service asks us to wait (Retry-After in seconds or as a date, or retry-after-ms)."""
    if "retry-after-ms" in headers:
        with contextlib.suppress(ValueError):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _CallLoop:
    """An event loop on a thread of its own, where each model call runs as a task that the
    waiting thread can cancel (cancelling closes the HTTP request or the stream)."""

    POLL_S = 0.05

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="model-calls", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], should_abort: Callable[[], bool]) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            try:
                return future.result(timeout=self.POLL_S)
            except concurrent.futures.TimeoutError:
                pass
            try:
                abort = should_abort()
            except BaseException:
                future.cancel()
                raise
            if abort:
                future.cancel()
                raise Aborted()

    def close(self, coro: Coroutine[Any, Any, Any] | None = None) -> None:
        if coro is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class _Base:
    provider = "?"

    def __init__(self, config: TransportConfig):
        self.config = config
        self.computer_tool = "builtin"
        self._sdk: openai.AsyncOpenAI | None = None
        self._calls = _CallLoop()

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.config.openai_api_key,)

    def close(self) -> None:
        """Let go of the connections and the call loop (one client serves one execution)."""
        self._calls.close(self._sdk.close() if self._sdk is not None else None)

    def _create_once(self, request: ModelRequest, should_abort: Callable[[], bool]) -> ModelResponse:
        raise NotImplementedError

    def create(
        self,
        request: ModelRequest,
        *,
        should_abort: Callable[[], bool] = _never,
        on_retry: Callable[[str], None] | None = None,
    ) -> ModelResponse:
        """One model call, retried through transient faults. Raises `Aborted` as soon as
        `should_abort()` is true (in flight or while waiting to retry)."""
        attempt, first_failure = 0, None
        while True:
            if should_abort():
                raise Aborted()
            retry_after = None
            try:
                return self._create_once(request, should_abort)
            except (Aborted, EngineError):
                raise
            except openai.APIStatusError as exc:
                error, retryable = self._classify(exc, request)
                retry_after = _retry_after(exc.response.headers)
            except openai.APITimeoutError:
                error, retryable = (
                    TransportFailure(f"The model service did not answer within {self.config.timeout_s:g} s."),
                    True,
                )
            except openai.APIConnectionError as exc:
                cause = redact(str(exc.__cause__ or exc), *self._secrets())
                error, retryable = (
                    TransportFailure(f"Cannot reach the model service ({cause}). Check the network and the base URL."),
                    True,
                )
            now = time.monotonic()
            first_failure = first_failure if first_failure is not None else now
            spent = now - first_failure
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            out_of_tries = self.config.max_retries is not None and attempt >= self.config.max_retries
            if not retryable:
                raise error
            if out_of_tries or spent + delay > self.config.retry_budget_s:
                raise type(error)(
                    f"{error.message} Gave up after {attempt + 1} attempts in {spent:.0f} s "
                    f"(retry budget {self.config.retry_budget_s:g} s, DESKHAND_MODEL_RETRY_SECONDS).",
                    details=error.details,
                )
            attempt += 1
            if on_retry is not None:
                on_retry(f"{_waiting_reason(error)}; retrying in {delay:.0f} s (attempt {attempt + 1}).")
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:  # a stop or pause must not wait out a backoff
                if should_abort():
                    raise Aborted()
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _backoff(self, attempt: int) -> float:
        delay: float = min(self.config.retry_base_delay_s * 2**attempt, 30.0)
        return delay * (1 - 0.25 * random.random())

    def _classify(self, exc: openai.APIStatusError, request: ModelRequest) -> tuple[EngineError, bool]:
        text, inner = _error_text(exc)
        text = redact(text, *self._secrets())
        status = exc.status_code
        kind = f"{inner.get('type', '')} {inner.get('code', '')}".lower()
        lowered = text.lower()
        if status == 401:
            return self._auth_error(status, text), False
        if status == 403:
            return AuthFailed(
                f"The model service refused access (HTTP 403: {text}). The credential works but may not "
                "use this model or project: check the account's plan and the model name."
            ), False
        if status == 429:
            if "insufficient_quota" in kind or "usage_limit" in kind or "quota" in lowered:
                details = {k: inner[k] for k in ("resets_in_seconds", "resets_at") if k in inner}
                return QuotaExhausted(
                    f"The account's quota is used up ({text}). Wait for it to reset, or add credit to the plan.",
                    details=details,
                ), False
            return RateLimited(f"The model service is rate-limiting requests ({text})."), True
        if status >= 500 or status == 408:
            return TransportFailure(f"The model service failed (HTTP {status}: {text})."), True
        if "model" in lowered and any(
            s in lowered for s in ("not supported", "does not exist", "not found", "model_not_found", "not available")
        ):
            return ModelNotSupported(
                f"The model {request.model!r} is not available here: {text}. Choose another model name."
            ), False
        if "computer" in lowered and "tool" in lowered:
            return ToolNotSupported(f"The backend refused the computer tool: {text}"), False
        return ModelRequestRejected(f"The model service rejected the request (HTTP {status}): {text}"), False

    def _auth_error(self, status: int, text: str) -> EngineError:
        return AuthFailed(f"The OpenAI API rejected the API key (HTTP {status}: {text}). Check OPENAI_API_KEY.")


def _waiting_reason(error: EngineError) -> str:
    if isinstance(error, RateLimited):
        return "The model service is rate-limiting"
    return error.message.rstrip(".")


class ApiKeyClient(_Base):
    provider = "api-key"

    def _client(self) -> openai.AsyncOpenAI:
        if not self.config.openai_api_key:
            raise AuthMissing(
                "No OpenAI API key is configured. Set OPENAI_API_KEY, or sign in with ChatGPT "
                "and use the codex-oauth provider."
            )
        if self._sdk is None:
            self._sdk = openai.AsyncOpenAI(
                api_key=self.config.openai_api_key,
                base_url=self.config.openai_base_url,
                timeout=self.config.timeout_s,
                max_retries=0,
            )
        return self._sdk

    def _create_once(self, request: ModelRequest, should_abort: Callable[[], bool]) -> ModelResponse:
        params: dict[str, Any] = dict(
            model=request.model,
            instructions=request.instructions,
            extra_body=_raw_input(request),
            store=False,
            include=["reasoning.encrypted_content"],
            truncation="auto",
        )
        if request.tools:
            params["tools"] = request.tools
        if request.text_format:
            params["text"] = {"format": request.text_format}
        if request.reasoning:
            params["reasoning"] = request.reasoning
        resp: Any = self._calls.run(self._client().responses.create(**params), should_abort)
        return _response(resp, [_dump(i) for i in resp.output or []], self.config.openai_api_key)


class CodexClient(_Base):
    provider = "codex-oauth"

    def __init__(self, config: TransportConfig, tokens: TokenSource | None):
        super().__init__(config)
        self.tokens = tokens
        self._token: str | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._token,)

    def _client(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            # The bearer token is sent per request (it rotates); the SDK only needs a placeholder here.
            self._sdk = openai.AsyncOpenAI(
                api_key="per-request",
                base_url=self.config.codex_base_url.rstrip("/"),
                timeout=self.config.timeout_s,
                max_retries=0,
            )
        return self._sdk

    def _create_once(self, request: ModelRequest, should_abort: Callable[[], bool]) -> ModelResponse:
        if self.tokens is None:
            raise AuthMissing("Not signed in with ChatGPT. Sign in (codex-oauth) or configure an OpenAI API key.")
        # Tokens are read (and refreshed) on this thread: the file lock and the issuer's HTTP call
        # must not block the call loop.
        token, account = self.tokens.get()
        try:
            return cast(ModelResponse, self._calls.run(self._stream(request, token, account), should_abort))
        except openai.AuthenticationError:
            # One refresh and one retry: the token may have expired between our check and the call.
            token, account = self.tokens.refresh_after_unauthorized(token)
            try:
                return cast(ModelResponse, self._calls.run(self._stream(request, token, account), should_abort))
            except openai.AuthenticationError as exc:
                raise AuthFailed(
                    "The ChatGPT sign-in was rejected even after a token refresh "
                    f"({redact(_error_text(exc)[0], token)}). Sign in again."
                ) from None

    async def _stream(self, request: ModelRequest, token: str, account: str) -> ModelResponse:
        self._token = token
        params: dict[str, Any] = dict(
            model=request.model,
            instructions=request.instructions or "You are a helpful assistant.",
            extra_body=_raw_input(request),
            store=False,
            stream=True,
            include=["reasoning.encrypted_content"],
        )
        if request.tools:
            params["tools"] = request.tools
            params["tool_choice"] = "auto"
        if request.text_format:
            params["text"] = {"format": request.text_format}
        if request.reasoning:
            params["reasoning"] = request.reasoning
        headers = {
            "Authorization": f"Bearer {token}",
            "ChatGPT-Account-ID": account,
            "originator": ORIGINATOR,
            "Accept": "text/event-stream",
        }
        items: list[dict] = []
        final = None
        stream = await self._client().responses.create(**params, extra_headers=headers)
        async with stream:
            async for event in stream:
                etype = getattr(event, "type", "")
                if etype == "response.output_item.done":
                    items.append(_dump(event.item))
                elif etype in ("response.completed", "response.incomplete", "response.failed"):
                    final = event.response
                elif etype == "error":
                    raise ModelRequestRejected(
                        f"The Codex backend reported an error: {redact(getattr(event, 'message', '') or str(event), token)}"
                    )
        if final is None:
            raise TransportFailure("The Codex stream ended before the response was complete.")
        if not items and final.output:
            items = [_dump(i) for i in final.output]
        return _response(final, items, token)

    def _auth_error(self, status: int, text: str) -> EngineError:
        return AuthFailed(f"The ChatGPT backend refused the sign-in (HTTP {status}: {text}). Sign in again.")


def build_client(provider: str, config: TransportConfig, tokens: TokenSource | None = None) -> ModelClient:
    if provider == "api-key":
        return ApiKeyClient(config)
    if provider == "codex-oauth":
        return CodexClient(config, tokens)
    raise ValueError(f"unknown provider {provider!r} (expected 'api-key' or 'codex-oauth')")
