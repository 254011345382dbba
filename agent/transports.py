"""Model transports on the official openai SDK and the Responses API, behind one `ModelClient`.

- api-key: the public API; the GA `{"type": "computer"}` tool; JSON responses.
- codex-oauth: the ChatGPT Codex backend; `stream: true`, `store: false`, `instructions` always,
  the full history every turn (no `previous_response_id`, no `max_output_tokens`), items collected
  from `response.output_item.done` because `response.completed` may carry an empty output.

Both send the full item history with `store: false` and encrypted reasoning, so one conversation
format serves both and a live session's history can be stored and resent as is. Retries (429 and
5xx and timeouts only, with backoff) live here, not in the SDK, so that a stop request interrupts
the backoff and a "quota exhausted" 429 is not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import openai

from agent.errors import (
    AuthFailed,
    AuthMissing,
    EngineError,
    ModelNotSupported,
    ModelRequestRejected,
    QuotaExhausted,
    RateLimited,
    Stopped,
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
    max_retries: int = 3
    retry_base_delay_s: float = 0.5  # backoff: base * 2**attempt, jittered, at most 8 s


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
    status: str = "completed"


class ModelClient(Protocol):
    provider: str
    computer_tool: str  # "builtin" or "function"; the desktop agent switches it when the backend refuses

    def create(self, request: ModelRequest, *, should_stop: Callable[[], bool] = ...) -> ModelResponse: ...


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
    """Items as resent with store=false: ids of unstored reasoning/messages would be looked up and fail."""
    out = []
    for item in items:
        if item.get("type") in ("reasoning", "message", "function_call") and "id" in item:
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


def _error_text(exc: openai.APIStatusError) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    text = inner.get("message") or inner.get("detail") or body.get("detail") or str(exc.message or exc)
    return str(text), inner


class _Base:
    provider = "?"

    def __init__(self, config: TransportConfig):
        self.config = config
        self.computer_tool = "builtin"
        self._sdk: openai.OpenAI | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (self.config.openai_api_key,)

    def _create_once(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    def create(self, request: ModelRequest, *, should_stop: Callable[[], bool] = lambda: False) -> ModelResponse:
        attempt = 0
        while True:
            if should_stop():
                raise Stopped()
            try:
                return self._create_once(request)
            except EngineError:
                raise
            except openai.APIStatusError as exc:
                error, retryable = self._classify(exc, request)
            except openai.APITimeoutError:
                error, retryable = (
                    TransportFailure(f"The model provider did not answer within {self.config.timeout_s:g} s."),
                    True,
                )
            except openai.APIConnectionError as exc:
                error, retryable = (
                    TransportFailure(
                        f"Cannot reach the model provider ({redact(str(exc.__cause__ or exc), *self._secrets())}). "
                        "Check the network and the base URL."
                    ),
                    True,
                )
            if not retryable or attempt >= self.config.max_retries:
                if retryable:
                    error = type(error)(f"{error.message} Gave up after {attempt + 1} attempts.", details=error.details)
                raise error
            delay = min(self.config.retry_base_delay_s * 2**attempt, 8.0) * (1 - 0.25 * random.random())
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:  # a stop request must not wait out a backoff
                if should_stop():
                    raise Stopped()
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            attempt += 1

    def _classify(self, exc: openai.APIStatusError, request: ModelRequest) -> tuple[EngineError, bool]:
        text, inner = _error_text(exc)
        text = redact(text, *self._secrets())
        status = exc.status_code
        kind = f"{inner.get('type', '')} {inner.get('code', '')}".lower()
        lowered = text.lower()
        if status in (401, 403):
            return self._auth_error(status, text), False
        if status == 429:
            if "insufficient_quota" in kind or "usage_limit" in kind or "quota" in lowered:
                details = {k: inner[k] for k in ("resets_in_seconds", "resets_at") if k in inner}
                return QuotaExhausted(
                    f"The account's quota is used up ({text}). Wait for it to reset or add credit.", details=details
                ), False
            return RateLimited(f"The model provider is rate limiting requests ({text})."), True
        if status >= 500 or status == 408:
            return TransportFailure(f"The model provider failed (HTTP {status}: {text})."), True
        if "model" in lowered and any(
            s in lowered for s in ("not supported", "does not exist", "not found", "model_not_found", "not available")
        ):
            return ModelNotSupported(
                f"The model {request.model!r} is not available here: {text}. Choose another model."
            ), False
        if "computer" in lowered and "tool" in lowered:
            return ToolNotSupported(f"The backend refused the computer tool: {text}"), False
        return ModelRequestRejected(f"The model provider rejected the request (HTTP {status}): {text}"), False

    def _auth_error(self, status: int, text: str) -> EngineError:
        return AuthFailed(f"The OpenAI API rejected the API key (HTTP {status}: {text}). Check OPENAI_API_KEY.")


class ApiKeyClient(_Base):
    provider = "api-key"

    def _client(self) -> openai.OpenAI:
        if not self.config.openai_api_key:
            raise AuthMissing(
                "No OpenAI API key is configured. Set OPENAI_API_KEY, or sign in with ChatGPT "
                "and use the codex-oauth provider."
            )
        if self._sdk is None:
            self._sdk = openai.OpenAI(
                api_key=self.config.openai_api_key,
                base_url=self.config.openai_base_url,
                timeout=self.config.timeout_s,
                max_retries=0,
            )
        return self._sdk

    def _create_once(self, request: ModelRequest) -> ModelResponse:
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
        resp = self._client().responses.create(**params)
        return ModelResponse(
            id=resp.id,
            output=[_dump(i) for i in resp.output or []],
            usage=_usage(resp.usage),
            status=resp.status or "completed",
        )


class CodexClient(_Base):
    provider = "codex-oauth"

    def __init__(self, config: TransportConfig, tokens: TokenSource | None):
        super().__init__(config)
        self.tokens = tokens
        self._token: str | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._token,)

    def _client(self) -> openai.OpenAI:
        if self._sdk is None:
            # The bearer token is sent per request (it rotates); the SDK only needs a placeholder here.
            self._sdk = openai.OpenAI(
                api_key="per-request",
                base_url=self.config.codex_base_url.rstrip("/"),
                timeout=self.config.timeout_s,
                max_retries=0,
            )
        return self._sdk

    def _create_once(self, request: ModelRequest) -> ModelResponse:
        if self.tokens is None:
            raise AuthMissing("Not signed in with ChatGPT. Sign in (codex-oauth) or configure an OpenAI API key.")
        token, account = self.tokens.get()
        try:
            return self._stream(request, token, account)
        except openai.AuthenticationError:
            # One refresh and one retry: the token may have expired between our check and the call.
            token, account = self.tokens.refresh_after_unauthorized(token)
            try:
                return self._stream(request, token, account)
            except openai.AuthenticationError as exc:
                raise AuthFailed(
                    "The ChatGPT sign-in was rejected even after a token refresh "
                    f"({redact(_error_text(exc)[0], token)}). Sign in again."
                ) from None

    def _stream(self, request: ModelRequest, token: str, account: str) -> ModelResponse:
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
        stream = self._client().responses.create(**params, extra_headers=headers)
        with stream:
            for event in stream:
                etype = getattr(event, "type", "")
                if etype == "response.output_item.done":
                    items.append(_dump(event.item))
                elif etype in ("response.completed", "response.incomplete"):
                    final = event.response
                elif etype == "response.failed":
                    err = getattr(event.response, "error", None)
                    raise TransportFailure(
                        "The Codex backend failed the response: "
                        f"{redact(getattr(err, 'message', None) or 'no reason given', token)}"
                    )
                elif etype == "error":
                    raise ModelRequestRejected(
                        f"The Codex backend reported an error: "
                        f"{redact(getattr(event, 'message', '') or str(event), token)}"
                    )
        if final is None:
            raise TransportFailure("The Codex stream ended before the response was complete.")
        if not items and final.output:
            items = [_dump(i) for i in final.output]
        return ModelResponse(id=final.id, output=items, usage=_usage(final.usage), status=final.status or "completed")

    def _auth_error(self, status: int, text: str) -> EngineError:
        return AuthFailed(f"The ChatGPT backend refused the sign-in (HTTP {status}: {text}). Sign in again.")


def build_client(provider: str, config: TransportConfig, tokens: TokenSource | None = None) -> ModelClient:
    if provider == "api-key":
        return ApiKeyClient(config)
    if provider == "codex-oauth":
        return CodexClient(config, tokens)
    raise ValueError(f"unknown provider {provider!r} (expected 'api-key' or 'codex-oauth')")
