"""Pay at start what the first execution of a process would otherwise pay on its first steps.

Measured on the first run after `serve` starts (1920x1080 Xvfb, loopback model, `bench.server_step`;
before this existed): its first model request came ~450 ms later than a warm run's, its screenshot
step ~300 ms later and its first click ~450 ms later. Nearly all of it is work done once per
process, lazily, inside the run:

- imports: pyautogui ~330 ms (pyscreeze pulls in OpenCV and numpy), the SDK's responses resource
  and its streaming types ~110 ms, pywinctl ~80 ms, the engine's own modules ~70 ms, the HTTP stack
  under the SDK (httpcore2, h11, anyio's sockets) ~45 ms, mss ~20 ms, PIL's encoder plugins ~15 ms;
- the first answer the SDK parses builds its response types (~160 ms; the next one takes 3 ms);
- the X connections of pyautogui and mss, and the system description (two `xdg-*` look-ups,
  ~130 ms), which every desktop prompt states.

`warm_up()` does all of that once, in the order a run needs it. Each part is on its own: one that
fails (no display, no xdg tools) is reported and the others still run, and nothing here changes
the desktop (no input is sent; one screenshot is taken and dropped).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("deskhand.agent")

# Imported lazily by the engine and the libraries under it during a run's first steps (found with
# `python -X importtime` between the worker's start and its first task).
ENGINE_MODULES = (
    "agent.engine",
    "agent.browser_tools",
    "agent.replay",  # OpenCV: already loaded by pyautogui's pyscreeze; the rest is ~5 ms
    "agent.checks",
    "agent.platform.window_list",
    "agent.platform.clipboard",
)
HTTP_MODULES = (
    "openai.resources.responses",
    "openai.lib._response_resources",
    "openai.lib.streaming.responses",
    "httpcore2",
    "h11",
    "anyio._core._sockets",
    "anyio._core._streams",
)


def warm_up(*, desktop: bool = True, extra: Sequence[tuple[str, Callable[[], object]]] = ()) -> dict[str, float | str]:
    """Import and initialise what the first execution needs, then the caller's `extra` parts; per
    part, its seconds or, when it failed, why. Never raises. `desktop=False`: skip what needs a
    display."""
    parts: list[tuple[str, Callable[[], object]]] = [
        ("engine", lambda: _import_all(ENGINE_MODULES)),
        ("model client", _model_client),
        ("image encoders", _image_encoders),
    ]
    if desktop:
        parts += [("computer", _computer), ("system description", _system_description)]
    return warm_parts([*parts, *extra], payer="the first run")


def warm_parts(parts: Sequence[tuple[str, Callable[[], object]]], *, payer: str) -> dict[str, float | str]:
    """Run each part on its own; per part, its seconds or, when it failed, why. Never raises:
    `payer` pays later for a part that failed."""
    report: dict[str, float | str] = {}
    for name, part in parts:
        started = time.perf_counter()
        try:
            part()
        except Exception as exc:  # noqa: BLE001 - a worker without a display still works (CLI runs)
            report[name] = f"failed: {exc}"[:300]
            # Not a warning: no display is a normal state for a worker that runs CLI tasks only.
            logger.info("Warm-up of the %s failed (%s pays for it instead): %r", name, payer, exc)
        else:
            report[name] = round(time.perf_counter() - started, 3)
    return report


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:  # another SDK or HTTP stack version: nothing to warm there
            logger.debug("Warm-up: no module %s", name)


def _model_client() -> None:
    """The SDK's client, one JSON and one streamed `responses.create` answered inside the process
    (an in-memory transport: nothing is sent), and the HTTP stack's modules. The first answer the
    SDK parses builds its response types (~160 ms, against 3 ms for the next one). The client is
    thrown away: an execution makes its own."""
    import asyncio

    import openai

    http: Any
    try:
        http = importlib.import_module("httpx2")  # what the SDK speaks since openai 3
    except ModuleNotFoundError:
        http = importlib.import_module("httpx")

    def answer(request: Any) -> Any:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return http.Response(200, headers={"content-type": "text/event-stream"}, content=_SSE_ANSWER)
        return http.Response(200, json=_ANSWER)

    streamed: list[str] = []

    async def round_trips() -> None:
        client = openai.AsyncOpenAI(
            api_key="warm-up",
            base_url="http://warm-up.invalid/v1",
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(transport=http.MockTransport(answer)),
        )
        try:
            response = await client.responses.create(model="warm-up", input="warm-up", store=False)
            for item in response.output:
                item.model_dump(exclude_none=True)
            stream = await client.responses.create(model="warm-up", input="warm-up", store=False, stream=True)
            async with stream:
                async for event in stream:
                    if event.type == "response.output_item.done":
                        event.item.model_dump(exclude_none=True)
                        streamed.append(event.item.type)
        finally:
            await client.close()

    # The HTTP library logs every request at INFO; these two are not the model's and went nowhere.
    quiet = [logging.getLogger(name) for name in ("httpx2", "httpx")]
    levels = [logger.level for logger in quiet]
    for each in quiet:
        each.setLevel(logging.WARNING)
    try:
        # On a thread of its own: the caller's thread may run an event loop already (any async
        # caller, or a test under Playwright), and a thread can run only one.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskhand-warm-up") as pool:
            pool.submit(asyncio.run, round_trips()).result()
    finally:
        for each, level in zip(quiet, levels, strict=True):
            each.setLevel(level)
    if len(streamed) != len(_ANSWER["output"]):  # the stream's format changed: this warmed nothing
        raise RuntimeError(f"the streamed warm-up answer gave {streamed}")
    _import_all(HTTP_MODULES)


# An answer with the items a desktop run gets: reasoning, a computer call, a message.
_ANSWER: dict[str, Any] = {
    "id": "resp_warm_up",
    "object": "response",
    "created_at": 0,
    "model": "warm-up",
    "status": "completed",
    "output": [
        {"type": "reasoning", "id": "rs_warm_up", "summary": [], "encrypted_content": "warm-up"},
        {
            "type": "computer_call",
            "id": "cu_warm_up",
            "call_id": "call_warm_up",
            "status": "completed",
            "actions": [{"type": "click", "x": 1, "y": 1, "button": "left"}, {"type": "type", "text": "warm-up"}],
            "pending_safety_checks": [],
        },
        {
            "type": "message",
            "id": "msg_warm_up",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "warm-up", "annotations": []}],
        },
    ],
    "usage": {
        "input_tokens": 1,
        "output_tokens": 1,
        "total_tokens": 2,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
_SSE_ANSWER = "".join(
    f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': n, **data})}\n\n"
    for n, (kind, data) in enumerate(
        [
            ("response.created", {"response": {**_ANSWER, "status": "in_progress", "output": []}}),
            *(
                ("response.output_item.done", {"output_index": i, "item": item})
                for i, item in enumerate(_ANSWER["output"])
            ),
            ("response.completed", {"response": _ANSWER}),
        ]
    )
).encode()


def _image_encoders() -> None:
    """PIL registers its plugins on the first save; a run encodes PNG or JPEG screenshots."""
    import io

    from PIL import Image

    image = Image.new("RGB", (64, 64))
    for fmt in ("PNG", "JPEG"):
        image.save(io.BytesIO(), fmt)


def _computer() -> None:
    """The process's computer: pyautogui and its X connection, one capture scaled and encoded as a
    run does, and the window list (pywinctl) that checks and the desktop prompt read."""
    from agent.computer import get_computer
    from agent.screen import ScreenConfig, prepare

    computer = get_computer()
    computer.gui  # noqa: B018 - imports pyautogui and connects it to the display
    capture = computer.screenshot()
    prepare(capture.image, capture.geometry, ScreenConfig())
    computer.windows()


def _system_description() -> None:
    from agent.platform.system import describe

    describe()
