"""A fake OpenAI Responses API and ChatGPT Codex backend: a real HTTP server on loopback.

The real `openai` SDK talks to it through a base URL, so the whole transport (headers, JSON, SSE
streaming, retries, timeouts, closed connections) is exercised. The script lives in the test
process (a queue of turns), so the server also answers a worker running in another process.

    fake = FakeOpenAI().start()
    fake.add_turn(fake.computer_call({"type": "screenshot"}))
    fake.add_turn(fake.message("Done."))
    ... client with base_url=fake.api_base_url (api-key) or codex_base_url=fake.codex_base_url ...
    fake.requests[0].body["tools"]

Paths: POST /v1/responses (api-key; JSON, or SSE when "stream": true) and
POST /backend-api/codex/responses (Codex; always SSE, with the backend's own refusals: stream and
store false required, instructions required, no previous_response_id or max_output_tokens).

**Strict like the real service.** Every request is checked before a turn is used (see
tests/fakes/openai_checks.py): each call in the input has exactly one output after it, a computer
call's output is a `computer_screenshot` with a data or http(s) image URL and acknowledges exactly
its pending safety checks, no item id is sent under `store: false` (404, as the real API), a
`previous_response_id` must name a stored response, strict schemas are closed, unknown parameters are
refused. A refused request gets the real status and error body, uses no turn, and is recorded with
`refusal` set; the test fixtures fail a test whose requests were refused unless it called
`expect_refusals()`.

**Scripting, one entry per model request** (router calls are answered apart, from `routes` or
`default_route`, so a test scripts only the turns it cares about). Every entry takes `delay_s`: the
handler waits that long before answering (a real computer-use call takes 5-30 s) and, if the client
closes the connection meanwhile, records the request as cancelled and answers nothing.

    add_turn(*items, usage=None, delay_s=0)       a completed response with these output items
    add_incomplete(reason, *items)                status "incomplete", incomplete_details.reason
                                                  ("max_output_tokens" or "content_filter")
    add_failed(message, code="server_error")      status "failed" with `error` (JSON 200, or response.failed)
    add_error(status, body=None, headers=None, *, code=None, retry_after=None)
        the real service's error bodies: 400 (code="model_not_found": unknown model), 401 (invalid key),
        429 (rate limit with x-ratelimit-* headers, `Retry-After` when retry_after is given;
        code="insufficient_quota"; code="usage_limit_reached" for the Codex quota), 500, 502 (an HTML
        gateway page), 503; `body`/`headers` override
    add_reset(delay_s=0)                          close the connection without an answer (TCP reset)
    add_timeout(seconds=60)                       hold the request without answering, then close: the
                                                  client's read timeout fires first

Streaming (the Codex path, or "stream": true) sends what the real API sends: response.created and
response.in_progress, then per item output_item.added, its deltas (response.output_text.delta,
response.reasoning_summary_text.delta, response.function_call_arguments.delta, with their part and
done events), output_item.done, and finally response.completed, response.incomplete or
response.failed. The Codex path's response.completed carries `output: []`, as the real backend's does.

**Records.** `requests` holds every request in arrival order: path, headers, body, `arrived_at`
and `answered_at` (wall clock, time.time(), comparable with a worker's clock on this machine), the
HTTP `status` answered, `cancelled` (the client closed the connection first) and `refusal`.
`model_requests()` leaves out router calls. A stop test, for example:

    fake.add_turn(fake.computer_call({"type": "screenshot"}), delay_s=30)
    ... start the task, wait_until(lambda: fake.model_requests()), stop it, stopped_at = time.time() ...
    wait_until(lambda: fake.model_requests()[-1].cancelled)          # the in-flight request was closed
    assert all(r.arrived_at < stopped_at for r in fake.model_requests())  # none started after the stop
"""

from __future__ import annotations

import itertools
import json
import re
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.openai_checks import Refusal, check_request, invalid


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict
    arrived_at: float = field(default_factory=time.time)  # wall clock: comparable across processes
    answered_at: float | None = None  # when the answer was complete; None if none was sent
    status: int | None = None  # the HTTP status answered; None when the connection was dropped
    cancelled: bool = False  # the client closed the connection before the answer
    refusal: dict | None = None  # the error body, when the fake refused it as the real service would

    @property
    def is_router(self) -> bool:
        return _format_name(self.body) == "route"


@dataclass
class Turn:
    output: list
    usage: dict | None
    delay_s: float = 0.0
    status: str = "completed"  # completed | incomplete | failed
    incomplete_reason: str | None = None
    error: dict | None = None  # a failed response's {"code", "message"}


@dataclass
class ErrorTurn:
    status: int
    body: dict | str | Callable[[dict, dict], dict]  # a callable gets (request body, request headers)
    headers: dict
    delay_s: float = 0.0


@dataclass
class DropTurn:
    """Close the connection without an answer after `delay_s`."""

    delay_s: float = 0.0


DEFAULT_USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "total_tokens": 120,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


class FakeOpenAI:
    API_PATH = "/v1/responses"
    CODEX_PATH = "/backend-api/codex/responses"

    def __init__(self):
        self.turns: deque = deque()
        self.routes: deque = deque()
        self.requests: list[Recorded] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._settings()

    def _settings(self) -> None:
        self.default_route = {"route": "desktop", "reason": "fake: default route"}
        self.route_failure: ErrorTurn | None = None
        self.codex_valid_tokens: set[str] | None = None  # None: any bearer token is accepted
        self.codex_rejects_builtin_computer = False  # True: behave like a backend without the computer tool
        self.codex_empty_completed_output = True  # the real backend's response.completed has output: []
        self.refusals_expected = False
        self._stored: dict[str, list[dict]] = {}  # response id -> its conversation (store true only)
        self._stored_ids: set[str] = set()

    # -- lifecycle --
    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._closing.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() waits for it.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._closing.set()  # ends the waits of delayed turns
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        """An empty script, no records, default settings (a session-wide fake between tests)."""
        with self._lock:
            self.turns.clear()
            self.routes.clear()
            self.requests.clear()
            self._settings()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def codex_base_url(self) -> str:
        return self.url + "/backend-api/codex"

    # -- scripting --
    def add_turn(self, *items: dict, usage: dict | None = None, delay_s: float = 0.0) -> None:
        self.turns.append(Turn(list(items), usage or DEFAULT_USAGE, delay_s))

    def add_incomplete(
        self, reason: str = "max_output_tokens", *items: dict, usage: dict | None = None, delay_s: float = 0.0
    ) -> None:
        """A response cut off by the output token limit or the content filter; `items` is what came out."""
        self.turns.append(Turn(list(items), usage or DEFAULT_USAGE, delay_s, "incomplete", reason))

    def add_failed(
        self,
        message: str = "The model failed to generate a response.",
        code: str = "server_error",
        delay_s: float = 0.0,
    ) -> None:
        self.turns.append(Turn([], None, delay_s, "failed", error={"code": code, "message": message}))

    def add_error(
        self,
        status: int,
        body: dict | None = None,
        headers: dict | None = None,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        default_body, default_headers = _error(status, code, retry_after)
        self.turns.append(ErrorTurn(status, body or default_body, {**default_headers, **(headers or {})}, delay_s))

    def add_reset(self, delay_s: float = 0.0) -> None:
        self.turns.append(DropTurn(delay_s))

    def add_timeout(self, seconds: float = 60.0) -> None:
        self.turns.append(DropTurn(seconds))

    def add_route(self, route: str, reason: str = "scripted") -> None:
        self.routes.append({"route": route, "reason": reason})

    def fail_route(self, status: int = 500) -> None:
        """Every router call fails from now on (retries included)."""
        self.route_failure = ErrorTurn(
            status, {"error": {"message": "fake router failure", "type": "server_error"}}, {}
        )

    def expect_refusals(self) -> None:
        """This test sends requests the real service refuses on purpose."""
        self.refusals_expected = True

    # -- records --
    def model_requests(self) -> list[Recorded]:
        """Requests other than router calls."""
        return [r for r in self.requests if not r.is_router]

    def refused(self) -> list[Recorded]:
        return [r for r in self.requests if r.refusal is not None]

    def assert_no_unexpected_refusals(self) -> None:
        """The fixtures call this after each test: a refusal nobody expected means the engine (or the
        test's script) sent something the real service refuses."""
        if not self.refusals_expected and self.refused():
            raise AssertionError(
                "the fake model server refused requests the real service would refuse: "
                + "; ".join(json.dumps(r.refusal) for r in self.refused())
            )

    # -- item builders --
    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def computer_call(self, *actions: dict, call_id: str | None = None, safety_checks=()) -> dict:
        return {
            "type": "computer_call",
            "id": self._id("cu"),
            "call_id": call_id or self._id("call"),
            "status": "completed",
            "actions": list(actions),
            "pending_safety_checks": list(safety_checks),
        }

    def function_call(self, name: str, arguments: dict, call_id: str | None = None) -> dict:
        return {
            "type": "function_call",
            "id": self._id("fc"),
            "call_id": call_id or self._id("call"),
            "name": name,
            "arguments": json.dumps(arguments),
            "status": "completed",
        }

    def message(self, text: str, phase: str | None = "final_answer") -> dict:
        item = {
            "type": "message",
            "id": self._id("msg"),
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        if phase:
            item["phase"] = phase
        return item

    def json_message(self, obj) -> dict:
        return self.message(json.dumps(obj), phase=None)

    def reasoning(self, summary: str) -> dict:
        return {"type": "reasoning", "id": self._id("rs"), "summary": [{"type": "summary_text", "text": summary}]}

    # -- serving --
    def _next(self, body: dict):
        with self._lock:
            if _format_name(body) == "route":
                if self.route_failure:
                    return self.route_failure
                answer = self.routes.popleft() if self.routes else self.default_route
                return Turn([self.json_message(answer)], DEFAULT_USAGE)
            if not self.turns:
                return ErrorTurn(
                    400,
                    {"error": {"message": "fake server: no scripted turn left", "type": "fake"}},
                    {"x-should-retry": "false"},
                )
            return self.turns.popleft()

    def _check(self, body: dict, path: str) -> None:
        """The refusals shared by both paths; raises Refusal."""
        with self._lock:
            previous = body.get("previous_response_id")
            if previous is not None and previous not in self._stored:
                raise invalid(
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            prior = list(self._stored.get(previous, [])) if previous else []
            check_request(body, prior=prior, stored_ids=set(self._stored_ids))

    def _store(self, body: dict, response: dict) -> None:
        """What `store: true` keeps: the conversation so far, for previous_response_id and item ids."""
        if body.get("store", True) is False:
            return
        with self._lock:
            prior = self._stored.get(body.get("previous_response_id"), [])
            items = body.get("input")
            items = [{"role": "user", "content": items}] if isinstance(items, str) else list(items or [])
            self._stored[response["id"]] = [*prior, *items, *response["output"]]
            self._stored_ids.update(i["id"] for i in response["output"] if "id" in i)


def _format_name(body: dict) -> str | None:
    fmt = (body.get("text") or {}).get("format") or {}
    return fmt.get("name")


# -- the real service's error answers --
def _masked_key(headers: dict) -> str:
    key = headers.get("authorization", "")[7:]
    return key[:3] + "*" * max(len(key) - 7, 4) + key[-4:] if len(key) > 8 else "***"


def _error(status: int, code: str | None, retry_after: float | None) -> tuple:
    """(body, headers) as the real service answers with this status and code."""

    def api_error(message, type_="invalid_request_error", param=None, code=code):
        return {"error": {"message": message, "type": type_, "param": param, "code": code}}

    wait = f"{retry_after:g}s" if retry_after is not None else "2s"
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    if status == 400 and code == "model_not_found":
        return (
            lambda body, _: api_error(f"The requested model '{body.get('model')}' does not exist.", param="model"),
            {},
        )
    if status == 401:
        return (
            lambda _, request_headers: api_error(
                f"Incorrect API key provided: {_masked_key(request_headers)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code=code or "invalid_api_key",
            ),
            {},
        )
    if status == 429 and code == "insufficient_quota":
        return (
            api_error(
                "You exceeded your current quota, please check your plan and billing details. For more "
                "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                type_="insufficient_quota",
            ),
            {},
        )
    if status == 429 and code == "usage_limit_reached":  # the Codex backend's quota
        resets = int(retry_after or 3600)
        return (
            {
                "error": {
                    "type": "usage_limit_reached",
                    "message": "The usage limit has been reached",
                    "plan_type": "plus",
                    "resets_in_seconds": resets,
                }
            },
            {
                "x-codex-primary-used-percent": "100",
                "x-codex-primary-window-minutes": "300",
                "x-codex-primary-reset-after-seconds": str(resets),
            },
        )
    if status == 429:
        return (
            lambda body, _: api_error(
                f"Rate limit reached for {body.get('model')} in organization org-fake on tokens per min (TPM): "
                f"Limit 30000, Used 30000, Requested 1200. Please try again in {wait}. Visit "
                "https://platform.openai.com/account/rate-limits to learn more.",
                type_="tokens",
                code=code or "rate_limit_exceeded",
            ),
            {
                **headers,
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "499",
                "x-ratelimit-reset-requests": "120ms",
                "x-ratelimit-limit-tokens": "30000",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": wait,
            },
        )
    if status == 500:
        return (
            api_error(
                "The server had an error while processing your request. Sorry about that!", "server_error", code=None
            ),
            headers,
        )
    if status == 502:
        page = (
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
            "</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
        )
        return page, {**headers, "Content-Type": "text/html"}
    if status == 503:
        return api_error("The server is overloaded or not ready yet.", "server_error", code=None), headers
    return api_error(f"fake error {status}", "invalid_request_error" if status < 500 else "server_error"), headers


def _chunks(text: str, size: int = 0) -> list[str]:
    """Pieces as a stream sends them: about a word each (or `size` characters)."""
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]
    return re.findall(r"\S+\s*|\s+", text) or [text]


class ChosenRefusal(Refusal):
    """A refusal the test chose through a setting (codex_valid_tokens, codex_rejects_builtin_computer),
    not a request the engine got wrong: it is not recorded as a refusal."""


class ClientGone(Exception):
    """The client closed the connection before the answer was complete."""


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        fake = self.owner
        record = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, {})
        fake.requests.append(record)
        try:
            self._serve(record, raw)
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            record.cancelled = True
            record.status = None
            record.answered_at = None
            self.close_connection = True

    def _serve(self, record: Recorded, raw: bytes) -> None:
        fake = self.owner
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._refuse(
                record,
                invalid(
                    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
                    "valid JSON.)"
                ),
            )
        record.body = body
        try:
            if self.path == fake.API_PATH:
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    raise Refusal(
                        401,
                        {
                            "error": {
                                "message": "You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                                "type": "invalid_request_error",
                                "param": None,
                                "code": None,
                            }
                        },
                    )
            elif self.path == fake.CODEX_PATH:
                self._codex_check(body)
            else:
                return self._json(record, 404, {"error": {"message": f"no route {self.path}"}})
            fake._check(body, self.path)
        except Refusal as refusal:
            return self._refuse(record, refusal)
        turn = fake._next(body)
        if turn.delay_s:
            self._wait(turn.delay_s)
        if isinstance(turn, DropTurn):
            return self._drop(record)
        if isinstance(turn, ErrorTurn):
            payload = turn.body(body, record.headers) if callable(turn.body) else turn.body
            return self._json(record, turn.status, payload, turn.headers)
        response = self._response(body, turn)
        if turn.status != "failed":
            fake._store(body, response)
        if body.get("stream"):
            return self._sse(record, response)
        return self._json(record, 200, response)

    def _codex_check(self, body: dict) -> None:
        """What the real Codex backend answers to a request it refuses (see the research notes)."""
        fake = self.owner
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            raise Refusal(401, {"detail": "Unauthorized"})
        if fake.codex_valid_tokens is not None and auth[7:] not in fake.codex_valid_tokens:
            raise ChosenRefusal(401, {"detail": "Could not validate your token, please try signing in again."})
        if not self.headers.get("ChatGPT-Account-ID"):
            raise Refusal(400, {"detail": "Missing ChatGPT-Account-ID header"})
        if body.get("stream") is not True:
            raise Refusal(400, {"detail": "Stream must be set to true"})
        if body.get("store") is not False:
            raise Refusal(400, {"detail": "Store must be set to false"})
        if not body.get("instructions"):
            raise Refusal(400, {"detail": "Instructions are required"})
        for param in ("previous_response_id", "max_output_tokens"):
            if param in body:
                raise Refusal(400, {"detail": f"Unsupported parameter: {param}"})
        if fake.codex_rejects_builtin_computer and any(
            t.get("type") in ("computer", "computer_use_preview") for t in body.get("tools") or []
        ):
            raise ChosenRefusal(400, {"detail": "Unsupported tool type: computer"})

    # -- waiting and closing --
    def _wait(self, seconds: float) -> None:
        """Wait, watching the socket: a client that closes the connection meanwhile raises ClientGone."""
        end = time.monotonic() + seconds
        sock = self.connection
        while (left := end - time.monotonic()) > 0:
            if self.owner._closing.is_set():
                raise ClientGone()
            readable, _, _ = select.select([sock], [], [], min(0.05, left))
            if not readable:
                continue
            try:
                peeked = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                raise ClientGone() from None
            if not peeked:
                raise ClientGone()  # EOF: the client closed its end
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))  # more bytes from the client: not a close

    def _drop(self, record: Recorded) -> None:
        """Close without an answer; SO_LINGER 0 makes the close a TCP reset, as a dying proxy's."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the socket really closes only once its file objects are gone
        self.connection.close()
        self.close_connection = True
        record.status = None

    # -- answers --
    def _refuse(self, record: Recorded, refusal: Refusal) -> None:
        if not isinstance(refusal, ChosenRefusal):
            record.refusal = refusal.body
        self._json(record, refusal.status, refusal.body)

    def _response(self, body: dict, turn: Turn) -> dict:
        include = body.get("include") or []
        items = []
        for item in turn.output:
            item = dict(item)
            if item["type"] == "reasoning" and "reasoning.encrypted_content" in include:
                item["encrypted_content"] = f"enc:{item['id']}"
            items.append(item)
        return {
            "id": self.owner._id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "model": body.get("model"),
            "status": turn.status,
            "incomplete_details": {"reason": turn.incomplete_reason} if turn.incomplete_reason else None,
            "error": turn.error,
            "output": items,
            "usage": turn.usage,
            "store": body.get("store", True),
            "previous_response_id": body.get("previous_response_id"),
            "instructions": body.get("instructions"),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
        }

    def _sse(self, record: Recorded, response: dict) -> None:
        final = dict(response)
        if self.path == self.owner.CODEX_PATH and self.owner.codex_empty_completed_output:
            final["output"] = []  # as the real backend does: the items only come in output_item.done
        opening = {**response, "status": "in_progress", "output": [], "usage": None}
        opening.update(incomplete_details=None, error=None)
        events = [("response.created", {"response": opening}), ("response.in_progress", {"response": opening})]
        for index, item in enumerate(response["output"]):
            events.extend(_item_events(index, item))
        events.append((f"response.{response['status']}", {"response": final}))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for seq, (name, data) in enumerate(events):
            payload = json.dumps({"type": name, "sequence_number": seq, **data})
            self.wfile.write(f"event: {name}\ndata: {payload}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True
        record.status, record.answered_at = 200, time.time()

    def _json(self, record: Recorded, status: int, payload: dict | str, headers: dict | None = None) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        record.status, record.answered_at = status, time.time()


def _item_events(index: int, item: dict) -> list[tuple[str, dict]]:
    """One output item as the real stream sends it: added, its deltas, done."""
    where = {"item_id": item.get("id"), "output_index": index}
    kind = item["type"]
    events: list[tuple[str, dict]] = []
    if kind == "message":
        events.append(
            (
                "response.output_item.added",
                {"output_index": index, "item": {**item, "status": "in_progress", "content": []}},
            )
        )
        for n, part in enumerate(item.get("content") or []):
            at = {**where, "content_index": n}
            if part.get("type") == "output_text":
                text = part.get("text", "")
                events.append(("response.content_part.added", {**at, "part": {**part, "text": ""}}))
                for piece in _chunks(text):
                    events.append(("response.output_text.delta", {**at, "delta": piece, "logprobs": []}))
                events.append(("response.output_text.done", {**at, "text": text, "logprobs": []}))
            else:  # a refusal
                refusal = part.get("refusal", "")
                events.append(("response.content_part.added", {**at, "part": {**part, "refusal": ""}}))
                for piece in _chunks(refusal):
                    events.append(("response.refusal.delta", {**at, "delta": piece}))
                events.append(("response.refusal.done", {**at, "refusal": refusal}))
            events.append(("response.content_part.done", {**at, "part": part}))
    elif kind == "reasoning":
        added = {k: v for k, v in item.items() if k != "encrypted_content"}
        events.append(("response.output_item.added", {"output_index": index, "item": {**added, "summary": []}}))
        for n, part in enumerate(item.get("summary") or []):
            at = {**where, "summary_index": n}
            text = part.get("text", "")
            events.append(
                ("response.reasoning_summary_part.added", {**at, "part": {"type": "summary_text", "text": ""}})
            )
            for piece in _chunks(text):
                events.append(("response.reasoning_summary_text.delta", {**at, "delta": piece}))
            events.append(("response.reasoning_summary_text.done", {**at, "text": text}))
            events.append(
                ("response.reasoning_summary_part.done", {**at, "part": {"type": "summary_text", "text": text}})
            )
    elif kind == "function_call":
        arguments = item.get("arguments", "")
        events.append(
            (
                "response.output_item.added",
                {"output_index": index, "item": {**item, "arguments": "", "status": "in_progress"}},
            )
        )
        for piece in _chunks(arguments, size=8):
            events.append(("response.function_call_arguments.delta", {**where, "delta": piece}))
        events.append(
            ("response.function_call_arguments.done", {**where, "arguments": arguments, "name": item.get("name")})
        )
    else:
        events.append(
            ("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress"}})
        )
    events.append(("response.output_item.done", {"output_index": index, "item": item}))
    return events
