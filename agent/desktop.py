"""The desktop agent: the computer-use loop.

Per turn: model call → for each computer call: confirm safety checks, run the batch in order (model
coordinates mapped through the last screenshot the model saw), settle, one screenshot back.
"""

from __future__ import annotations

import json
from typing import Any

from agent import memory as memory_mod
from agent import prompts, risk
from agent.computer import Capture
from agent.context import AgentResult, Context, Item, prune_images, user_message
from agent.errors import EngineError, FailSafeTriggered, Resumed, Stopped, TimedOut, ToolNotSupported
from agent.platform.keys import UnknownKey, map_keys
from agent.progress import ProgressWatch
from agent.screen import Geometry, ModelShot, PrepareAhead, ScreenChanges, prepare, settle
from agent.sink import ConfirmationRequest
from agent.transports import ModelRequest

COMPUTER_FUNCTION_TOOL = {
    "type": "function",
    "name": "computer",
    "description": prompts.COMPUTER_FUNCTION,
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "actions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {
                            "type": "string",
                            "enum": [
                                "click",
                                "double_click",
                                "drag",
                                "move",
                                "scroll",
                                "keypress",
                                "type",
                                "wait",
                                "screenshot",
                            ],
                        },
                        "x": {"type": "number"},
                        "y": {"type": "number"},
                        "button": {"type": "string", "enum": ["left", "right", "wheel", "back", "forward"]},
                        "keys": {"type": "array", "items": {"type": "string"}},
                        "text": {"type": "string"},
                        "path": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                            },
                        },
                        "scroll_x": {"type": "number"},
                        "scroll_y": {"type": "number"},
                    },
                    "required": ["type"],
                },
            }
        },
        "required": ["actions"],
    },
}

DEFAULT_WAIT_S = 1.0


class DesktopAgent:
    def __init__(self, ctx: Context, *, browser_first: bool = False):
        self.ctx = ctx
        self.progress = ProgressWatch(ctx.task.no_progress_repeats)
        self.paused_this_turn = False  # a pause cut this turn short: its remaining batches are not run
        self.browser_first = browser_first  # a web task: the browser tools first, pixels for the rest
        self.shot: ModelShot | None = None  # the last screenshot the model saw: its scale maps coordinates
        # Who chose the actions, for their `computer_action` events: "model", or "replay" when
        # agent.replay drives this agent from a recording.
        self.source = "model"

    def tools(self) -> list[dict]:
        computer = {"type": "computer"} if self.ctx.client.computer_tool == "builtin" else COMPUTER_FUNCTION_TOOL
        browser = self.ctx.browser.tools() if self.ctx.browser is not None else []
        return [computer, *browser, memory_mod.REMEMBER_TOOL]

    def instructions(self) -> str:
        base = prompts.desktop(self.ctx.system)
        if self.ctx.browser is not None:
            base += prompts.BROWSER + (prompts.BROWSER_FIRST if self.browser_first else "")
        if self.ctx.secrets:
            base += self.ctx.secrets.prompt()
        return self.ctx.instructions(base)

    def run(self, instruction: str, history: list[dict]) -> AgentResult:
        ctx = self.ctx
        items = ctx.conversation = list(history) + [user_message(instruction)]
        turn = 0
        while turn < ctx.task.max_turns:
            request = ModelRequest(
                model=ctx.task.model,
                instructions=self.instructions(),
                input=prune_images(items, ctx.screen.keep_images),
                tools=self.tools(),
                reasoning={"summary": "auto"},
            )
            try:
                response = ctx.call(request, agent="desktop")
            except Resumed as resumed:
                items.append(self.screen_after_pause(resumed))
                continue
            except ToolNotSupported:
                if ctx.client.computer_tool != "builtin":
                    raise
                # The Codex backend may refuse the built-in tool: offer the same actions as a function.
                ctx.client.computer_tool = "function"
                ctx.sink.emit(
                    "log",
                    {
                        "level": "info",
                        "message": "The backend refused the built-in computer tool; "
                        "using the computer function tool instead.",
                    },
                )
                continue
            turn += 1
            items.extend(response.output)
            text = ctx.emit_messages(response.output)
            calls = [i for i in response.output if i.get("type") in ("computer_call", "function_call")]
            if not calls:
                return AgentResult("succeeded", text or "Done.", items)
            self.paused_this_turn = False
            for call in calls:
                items.extend(self.handle(call))
            items.extend(self.progress.after_turn(calls))
        return AgentResult(
            "failed",
            f"The task used its whole budget of {ctx.task.max_turns} turns without "
            "finishing. Raise max_turns or split the task into smaller ones.",
            items,
        )

    def screen_after_pause(self, resumed: Resumed) -> dict:
        """What the model sees first after a person handed the desktop back: a note and the screen now."""
        shot = self.capture(settle_first=True)
        self.record_screen(shot)  # what the model's next coordinates are pixels of (agent.recording)
        return {
            "type": "message",
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": f"A person paused you and used the desktop for {resumed.paused_s:.0f} s. What you "
                    "asked for last was not done, and the screen may have changed: this is the screen now. "
                    "Continue the task from here.",
                },
                {"type": "input_image", "image_url": shot.data_url(), "detail": "original"},
            ],
        }

    # -- one call --
    def handle(self, call: Item) -> list[Item]:
        if call["type"] == "computer_call":
            actions = call.get("actions") or ([call["action"]] if call.get("action") else [])
            return self.computer(call, actions, function=False)
        name = call.get("name")
        try:
            args = json.loads(call.get("arguments") or "{}")
        except ValueError:
            args = None
        if name == "computer" and isinstance(args, dict):
            return self.computer(call, list(args.get("actions") or []), function=True)
        if self.ctx.browser is not None and str(name).startswith("browser_"):
            return self.ctx.browser.handle(call["call_id"], str(name), args)
        self.ctx.sink.emit("tool_call", {"call_id": call["call_id"], "name": name, "arguments": args})
        if name == "remember" and isinstance(args, dict):
            result = memory_mod.save(self.ctx.memory, args)
        else:
            result = f"Unknown tool {name!r} or arguments that are not a JSON object."
        self.ctx.sink.emit("tool_result", {"call_id": call["call_id"], "name": name, "output": result})
        return [{"type": "function_call_output", "call_id": call["call_id"], "output": result}]

    def computer(self, call: Item, actions: list[dict[str, Any]], *, function: bool) -> list[Item]:
        ctx = self.ctx
        call_id = call["call_id"]
        ctx.sink.emit("tool_call", {"call_id": call_id, "name": "computer", "actions": actions})
        checks = call.get("pending_safety_checks") or []
        acknowledged: list[dict[str, Any]] = []
        problem: str | None = None
        status = "ok"
        risks = self.gui_risks(actions)
        if checks:
            # One question covers both: the person sees the exact actions, the model's checks and our rules.
            reason = " ".join(c.get("message") or c.get("code") or "" for c in checks).strip() or "Model safety check"
            if risks:
                reason += " Also: this batch " + "; ".join(risks) + "."
            request = ConfirmationRequest.build(
                "safety_check", {"call_id": call_id, "actions": actions, "checks": checks}, reason
            )
            if ctx.sink.confirm(request) == "confirmed":
                acknowledged = checks
            else:
                status, problem = (
                    "declined",
                    (
                        f"The person declined your computer actions {json.dumps(actions)} ({reason}), so they "
                        "were not run. Do not retry them; choose another way or stop and explain."
                    ),
                )
        elif risks:
            request = ConfirmationRequest.build(
                "gui_action", {"call_id": call_id, "actions": actions}, "This batch " + "; ".join(risks) + "."
            )
            if ctx.sink.confirm(request) != "confirmed":
                status, problem = (
                    "declined",
                    (
                        "The person declined these actions (" + "; ".join(risks) + "), so "
                        "none of them was run. Do not retry them; choose another way or "
                        "stop and explain."
                    ),
                )
        settles = status == "ok" and any(a.get("type") != "screenshot" for a in actions)
        # Settling waits until it sees the batch's effect: on the display server's reports of what
        # was drawn since the batch began, where it gives them, and against the screen as it was
        # just before. That is grabbed now (1-2 ms), not taken from the model's last screenshot: a
        # clock or a notification that changed while the model thought must not pass for the effect.
        changes = ctx.computer.watch_screen() if settles else None
        try:
            before = ctx.computer.screenshot() if settles else None
            if status == "ok":
                problem = self.run_batch(call_id, actions)
                status = "error" if problem else "ok"
            seen = self.shot.data if self.shot is not None else None
            settle_first = settles and status == "ok"
            frame = self.capture(settle_first=settle_first, before=before, changes=changes)
        finally:
            if changes is not None:
                changes.close()
        self.progress.screen(seen, frame.data)
        ref = self.record_screen(frame, call_id=call_id)
        result = {"call_id": call_id, "status": status, "screenshot": ref}
        if problem:
            result["error"] = problem
        ctx.sink.emit("tool_result", result)
        if function:
            text = problem or f"Done. Screenshot {frame.width}x{frame.height} (coordinates are pixels in it)."
            return [
                {
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": [
                        {"type": "input_text", "text": text},
                        {"type": "input_image", "image_url": frame.data_url(), "detail": "original"},
                    ],
                }
            ]
        output = {
            "type": "computer_call_output",
            "call_id": call_id,
            "output": {"type": "computer_screenshot", "image_url": frame.data_url(), "detail": "original"},
        }
        if acknowledged:
            output["acknowledged_safety_checks"] = acknowledged
        elif checks:
            # The service refuses an output that leaves the call's safety checks unacknowledged, and
            # acknowledging them would say the person approved: the call leaves the conversation.
            ctx.conversation.remove(call)
            return [user_message(problem or "")]
        # A computer_call_output carries only an image: the reason for an error or a decline goes beside it.
        return [output] + ([user_message(problem)] if problem else [])

    def gui_risks(self, actions: list[dict]) -> list[str]:
        """Our own rules (agent.risk), whatever the model's safety checks say."""
        windows: list | None = []
        if risk.needs_windows(actions):
            try:
                windows = self.ctx.computer.windows()
            except Exception:  # noqa: BLE001 - unknown windows: typed text may reach a terminal
                windows = None
        return risk.gui_risk(actions, windows=windows, protected=self.ctx.protected_paths)

    def run_batch(self, call_id: str, actions: list[dict]) -> str | None:
        """Run actions in order; the first failure stops the batch and is returned as text for the model."""
        if self.paused_this_turn:
            return "Not run: a person paused the task during this turn. Look at the new screenshot first."
        for index, action in enumerate(actions):
            try:
                self.ctx.check()
                self.run_action(call_id, action)
            except Resumed as resumed:
                self.paused_this_turn = True
                return (
                    f"A person paused the task before action {index + 1} and used the desktop for "
                    f"{resumed.paused_s:.0f} s; that action and the ones after it were not run. Look at the "
                    "new screenshot before you go on."
                )
            except (Stopped, TimedOut, EngineError, FailSafeTriggered):
                raise  # a stop, a spent budget, a missing desktop, a person's corner push: not tool errors
            except (ValueError, TypeError, KeyError, UnknownKey) as exc:
                return f"Action {index + 1} ({action.get('type')}) failed: {exc}. Later actions were not run."
            except Exception as exc:  # noqa: BLE001 - a failed action goes back to the model as data
                return f"Action {index + 1} ({action.get('type')}) failed: {type(exc).__name__}: {exc}."
        return None

    def run_action(self, call_id: str, action: dict) -> None:
        ctx, computer = self.ctx, self.ctx.computer
        kind = action.get("type")
        event: dict[str, Any] = {"call_id": call_id, "type": kind, "source": self.source}
        keys = action.get("keys") or ()
        map_keys(keys)  # an unknown key name fails here, before anything is pressed
        if kind in ("click", "double_click", "move", "scroll"):
            shot = self.aimed_shot(call_id)
            x, y = shot.to_screen(action["x"], action["y"])
            event.update(x=x, y=y)
            if keys:
                event["keys"] = list(keys)
            if kind == "click":
                button = str(action.get("button") or "left")
                event["button"] = button
                ctx.sink.emit("computer_action", event)
                computer.click(x, y, button=button, keys=keys)
            elif kind == "double_click":
                ctx.sink.emit("computer_action", event)
                computer.double_click(x, y, keys=keys)
            elif kind == "move":
                ctx.sink.emit("computer_action", event)
                computer.move(x, y, keys=keys)
            else:
                # Scroll distances are in screenshot pixels too.
                sx = round(float(action.get("scroll_x") or 0) * shot.scale_x)
                sy = round(float(action.get("scroll_y") or 0) * shot.scale_y)
                event.update(scroll_x=sx, scroll_y=sy)
                ctx.sink.emit("computer_action", event)
                computer.scroll(x, y, sx, sy, keys=keys)
        elif kind == "drag":
            shot = self.aimed_shot(call_id)
            path = [shot.to_screen(p["x"], p["y"]) for p in action.get("path") or []]
            event["path"] = [{"x": x, "y": y} for x, y in path]
            ctx.sink.emit("computer_action", event)
            computer.drag(path, keys=keys)
        elif kind == "keypress":
            pressed = list(action.get("keys") or [])
            event["keys"] = pressed
            ctx.sink.emit("computer_action", event)
            computer.keypress(pressed)
        elif kind == "type":
            text = str(action.get("text") or "")
            event["text"] = text  # as the model wrote it: placeholders, never secret values
            ctx.sink.emit("computer_action", event)
            computer.type(ctx.secrets.reveal(text))
        elif kind == "wait":
            seconds = min(float(action.get("seconds") or (action.get("ms") or 0) / 1000 or DEFAULT_WAIT_S), 30.0)
            event["seconds"] = seconds
            ctx.sink.emit("computer_action", event)
            ctx.sleep(seconds)
        elif kind == "screenshot":
            ctx.sink.emit("computer_action", event)
        else:
            raise ValueError(f"unknown action type {kind!r}")

    def aimed_shot(self, call_id: str) -> ModelShot:
        """The screenshot an aimed action's coordinates are pixels of: the model's last one.

        Before any, the screen now, kept like every screen the model saw so that a replay can find
        the target again. Only aimed actions need one: capturing it for a first `screenshot`, `type`
        or `keypress` cost a whole capture and encode (~28 ms at 1920×1080) that nothing used."""
        if self.shot is None:
            shot = self.capture(settle_first=False)
            self.record_screen(shot, call_id=call_id)
            return shot
        return self.shot

    def record_screen(self, shot: ModelShot, **extra: Any) -> str:
        """Store a screenshot and emit its `screenshot` event; its ref."""
        ref = self.ctx.sink.store_screenshot(shot.data, mime=shot.mime, width=shot.width, height=shot.height)
        self.ctx.sink.emit(
            "screenshot", {"ref": ref, "width": shot.width, "height": shot.height, "mime": shot.mime, **extra}
        )
        return ref

    def capture(
        self,
        *,
        settle_first: bool,
        remember: bool = True,
        before: Capture | None = None,
        changes: ScreenChanges | None = None,
    ) -> ModelShot:
        """The screen for the model, after settling if asked (`agent.screen.settle` says how `before`
        and `changes` help it)."""
        ctx = self.ctx
        if settle_first:
            geometry: dict[str, Geometry] = {}

            def grab() -> Capture:
                cap = ctx.computer.screenshot()
                geometry["g"] = cap.geometry
                return cap

            ahead = PrepareAhead(lambda cap: prepare(cap, cap.geometry, ctx.screen))
            settled = settle(
                grab, ctx.screen, should_stop=ctx.sink.should_stop, on_still=ahead.offer, before=before, changes=changes
            )
            shot = ahead.shot(settled.digest) or prepare(settled.grabbed, geometry["g"], ctx.screen)
        else:
            cap = ctx.computer.screenshot()
            shot = prepare(cap, cap.geometry, ctx.screen)
        if remember:
            self.shot = shot
        return shot
