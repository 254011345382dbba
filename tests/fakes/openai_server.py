"""A fake OpenAI Responses API and ChatGPT Codex backend: a real HTTP server on loopback.

The real `openai` SDK talks to it through a base URL, so the whole transport (headers, JSON, SSE
streaming, retries) is exercised. The script lives in the test process (a queue of turns), so the
server also answers a worker running in another process.

    fake = FakeOpenAI().start()
    fake.add_turn(fake.computer_call({"type": "screenshot"}))
    fake.add_turn(fake.message("Done."))
    ... client with base_url=fake.api_base_url (api-key) or codex_base_url=fake.codex_base_url ...
    fake.requests[0].body["tools"]

Paths: POST /v1/responses (api-key; JSON, or SSE when "stream": true) and
POST /backend-api/codex/responses (Codex; always SSE, and strict like the real backend).
Router calls (text.format.name == "route") are answered from `routes` (or `default_route`), so a
test scripts only the turns it cares about.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict
    received_at: float = field(default_factory=time.time)  # wall clock: comparable across processes


@dataclass
class ErrorTurn:
    status: int
    body: dict
    headers: dict


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
        self.default_route = {"route": "desktop", "reason": "fake: default route"}
        self.route_failure: ErrorTurn | None = None
        self.requests: list[Recorded] = []
        self.codex_valid_tokens: set[str] | None = None  # None: any bearer token is accepted
        self.codex_rejects_builtin_computer = False  # True: behave like a backend without the computer tool
        self.codex_empty_completed_output = True  # the real backend's response.completed has output: []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --
    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

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
    def add_turn(self, *items: dict, usage: dict | None = None) -> None:
        self.turns.append({"output": list(items), "usage": usage or DEFAULT_USAGE})

    def add_error(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        self.turns.append(
            ErrorTurn(status, body or {"error": {"message": f"fake error {status}", "type": "fake"}}, headers or {})
        )

    def add_route(self, route: str, reason: str = "scripted") -> None:
        self.routes.append({"route": route, "reason": reason})

    def fail_route(self, status: int = 500) -> None:
        """Every router call fails from now on (retries included)."""
        self.route_failure = ErrorTurn(
            status, {"error": {"message": "fake router failure", "type": "server_error"}}, {}
        )

    def model_requests(self) -> list[Recorded]:
        """Requests other than router calls."""
        return [r for r in self.requests if _format_name(r.body) != "route"]

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
                if isinstance(answer, ErrorTurn):
                    return answer
                return {"output": [self.json_message(answer)], "usage": DEFAULT_USAGE}
            if not self.turns:
                return ErrorTurn(
                    400,
                    {"error": {"message": "fake server: no scripted turn left", "type": "fake"}},
                    {"x-should-retry": "false"},
                )
            return self.turns.popleft()


def _format_name(body: dict) -> str | None:
    fmt = (body.get("text") or {}).get("format") or {}
    return fmt.get("name")


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "invalid JSON body"}})
        fake = self.owner
        fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == fake.API_PATH:
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                return self._json(
                    401, {"error": {"message": "You didn't provide an API key.", "type": "invalid_request_error"}}
                )
            problem = None
        elif self.path == fake.CODEX_PATH:
            problem = self._codex_problem(body)
            if isinstance(problem, ErrorTurn):
                return self._send_error(problem)
        else:
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        turn = fake._next(body)
        if isinstance(turn, ErrorTurn):
            return self._send_error(turn)
        if body.get("stream"):
            return self._sse(body, turn)
        return self._json(200, self._response(body, turn["output"], turn["usage"]))

    def _codex_problem(self, body: dict):
        """What the real Codex backend answers to a request it refuses (see the research notes)."""
        fake = self.owner
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            return ErrorTurn(401, {"detail": "Unauthorized"}, {})
        if fake.codex_valid_tokens is not None and auth[7:] not in fake.codex_valid_tokens:
            return ErrorTurn(401, {"detail": "Could not validate your token, please try signing in again."}, {})
        if not self.headers.get("ChatGPT-Account-ID"):
            return ErrorTurn(400, {"detail": "Missing ChatGPT-Account-ID header"}, {})
        if body.get("stream") is not True:
            return ErrorTurn(400, {"detail": "Stream must be set to true"}, {})
        if body.get("store") is not False:
            return ErrorTurn(400, {"detail": "Store must be set to false"}, {})
        if not body.get("instructions"):
            return ErrorTurn(400, {"detail": "Instructions are required"}, {})
        for param in ("previous_response_id", "max_output_tokens"):
            if param in body:
                return ErrorTurn(400, {"detail": f"Unsupported parameter: {param}"}, {})
        if fake.codex_rejects_builtin_computer and any(
            t.get("type") in ("computer", "computer_use_preview") for t in body.get("tools") or []
        ):
            return ErrorTurn(400, {"detail": "Unsupported tool type: computer"}, {})
        return None

    def _response(self, body: dict, output: list, usage: dict) -> dict:
        include = body.get("include") or []
        items = []
        for item in output:
            item = dict(item)
            if item["type"] == "reasoning" and "reasoning.encrypted_content" in include:
                item["encrypted_content"] = f"enc:{item['id']}"
            items.append(item)
        return {
            "id": self.owner._id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "model": body.get("model"),
            "status": "completed",
            "output": items,
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }

    def _sse(self, body: dict, turn: dict) -> None:
        response = self._response(body, turn["output"], turn["usage"])
        seq = itertools.count()
        events = [("response.created", {"response": {**response, "status": "in_progress", "output": []}})]
        for index, item in enumerate(response["output"]):
            events.append(
                ("response.output_item.added", {"output_index": index, "item": {**item, "status": "in_progress"}})
            )
            events.append(("response.output_item.done", {"output_index": index, "item": item}))
        completed = dict(response)
        if self.path == self.owner.CODEX_PATH and self.owner.codex_empty_completed_output:
            completed["output"] = []  # as the real backend does: the items only come in output_item.done
        events.append(("response.completed", {"response": completed}))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            payload = json.dumps({"type": name, "sequence_number": next(seq), **data})
            self.wfile.write(f"event: {name}\ndata: {payload}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _send_error(self, turn: ErrorTurn) -> None:
        self._json(turn.status, turn.body, turn.headers)

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
