"""The browser the agents drive: Playwright's sync API over the Chrome DevTools Protocol.

Either the user's own Chrome/Chromium/Edge, started with remote debugging on loopback
(`BrowserConfig.cdp_url`), or a managed instance of the installed browser (never a downloaded
one) with its own profile folder, headed on the desktop so the screen stream shows it. The
managed browser outlives a task: the next task (a live session's follow-up) attaches to it again
through the `DevToolsActivePort` file Chromium writes into the profile folder.

Playwright's sync API runs an event loop on the thread that started it, and Django refuses ORM
calls from a thread with a running loop; Playwright objects may not cross threads either. So one
thread owns Playwright (`BrowserSession`) and the engine hands it jobs. Between jobs that thread
keeps pumping Playwright's loop, so the request filter that keeps pages away from forbidden
origins answers at once even while the model clicks pixels.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import psutil

from agent.platform.apps import browser_candidates
from agent.platform.proctree import end_tree, own_group_options

T = TypeVar("T")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
LAUNCH_ARGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--password-store=basic",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
PID_FILE = "deskhand-browser.pid"
START_TIMEOUT_S = 30.0
JOB_TIMEOUT_S = 60.0


class BrowserUnavailable(Exception):
    """No browser could be found, started or attached to; the message says what to do."""


@dataclass
class BrowserConfig:
    profile_dir: str  # the managed browser's own profile folder (in the data dir)
    cdp_url: str | None = None  # attach to a running browser instead (loopback only)
    executable: str | None = None  # the browser binary; found on the system when None
    forbidden_origins: tuple = ()  # "host:port" the pages may never load (Deskhand's own address)
    downloads_dir: str | None = None  # where a confirmed download is saved (~/Downloads when None)


# -- finding and checking --


def find_browser(executable: str | None = None) -> str:
    if executable:
        if not Path(executable).is_file():
            raise BrowserUnavailable(f"The configured browser {executable} does not exist (DESKHAND_BROWSER_PATH).")
        return executable
    for path in browser_candidates():
        if Path(path).is_file():
            return path
    raise BrowserUnavailable(
        "No Chrome, Chromium or Edge is installed (on Debian: `apt-get install chromium`). "
        "Set DESKHAND_BROWSER_PATH to the browser's binary, or start your browser with "
        "--remote-debugging-port=9222 and set DESKHAND_BROWSER_CDP_URL."
    )


def check_cdp_url(url: str) -> str:
    """Only a debugging endpoint on this machine's loopback: anything else would hand a remote
    browser (or a remote attacker's endpoint) the agent's actions."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "ws") or (parts.hostname or "") not in LOOPBACK_HOSTS or not parts.port:
        raise BrowserUnavailable(
            f"The browser debugging address {url!r} is refused: only http://127.0.0.1:<port> "
            "(loopback) is accepted (DESKHAND_BROWSER_CDP_URL)."
        )
    return url


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "0.0.0.0", "::") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_key(host: str, port: int | None, scheme: str = "http") -> tuple[str, int]:
    """One spelling per origin: every loopback name is the same place, a missing port the scheme's."""
    host = (host or "").strip("[]").lower()
    port = port or (443 if scheme in ("https", "wss") else 80)
    return ("loopback" if _is_loopback(host) else host, port)


def parse_origins(origins: Iterable[object] | None) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    for origin in origins or ():
        text = str(origin).strip()
        if not text:
            continue
        parts = urlsplit(text if "://" in text else f"http://{text}")
        try:
            keys.add(origin_key(parts.hostname or "", parts.port, parts.scheme))
        except ValueError:
            continue
    return keys


def url_refusal(url: str, forbidden: set[tuple[str, int]]) -> str | None:
    """Why the browser may not go to `url`, or None. Only web pages and about:blank are allowed."""
    text = (url or "").strip()
    lowered = text.lower()
    if lowered in ("about:blank", ""):
        return None
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = {
            "file": "local files",
            "javascript": "scripts in the address bar",
            "view-source": "page sources",
            "data": "inline data pages",
        }.get(scheme, "browser-internal or non-web pages")
        return (
            f"{scheme or 'this'}: URLs are refused ({what} are out of bounds for the agent); only http(s) "
            "pages and about:blank can be opened"
        )
    try:
        key = origin_key(parts.hostname or "", parts.port, scheme)
    except ValueError:
        return "the URL has an invalid port"
    if key in forbidden:
        return "this is Deskhand's own address; the agent may not open it"
    return None


# -- the managed browser --


def _pid_alive_with(pid: int, needle: str) -> bool:
    """Whether `pid` runs and its command line holds `needle` (not a reused pid)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and needle in " ".join(process.cmdline())
    except psutil.AccessDenied:
        return True  # it runs; we may not read it (another user's process on macOS): trust the pid file
    except (psutil.Error, ValueError):
        return False


def _endpoint_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/json/version", timeout=2) as response:
            return response.status == 200 and "webSocketDebuggerUrl" in json.loads(response.read() or b"{}")
    except (OSError, ValueError):
        return False


def _running_endpoint(profile: Path) -> str | None:
    """The debugging address of our managed browser on this profile, if it still runs."""
    try:
        pid = int((profile / PID_FILE).read_text().strip())
        port = int((profile / "DevToolsActivePort").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    url = f"http://127.0.0.1:{port}"
    if _pid_alive_with(pid, f"--user-data-dir={profile}") and _endpoint_answers(url):
        return url
    return None


def launch_managed(config: BrowserConfig) -> str:
    """Start (or find running) the managed browser on its profile; its loopback debugging address."""
    profile = Path(config.profile_dir).resolve()
    profile.mkdir(parents=True, exist_ok=True)
    try:
        profile.chmod(0o700)  # cookies and sign-ins live here
    except OSError:
        pass
    running = _running_endpoint(profile)
    if running:
        return running
    executable = find_browser(config.executable)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise BrowserUnavailable(
            "No desktop to show the browser on (DISPLAY is not set). Start Deskhand inside "
            "the desktop session it drives."
        )
    (profile / "DevToolsActivePort").unlink(missing_ok=True)
    args = [executable, f"--user-data-dir={profile}", *LAUNCH_ARGS, "--start-maximized"]
    if sys.platform != "win32" and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    args.append("about:blank")
    log = open(profile / "deskhand-browser.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **own_group_options()
        )
    except OSError as exc:
        raise BrowserUnavailable(f"The browser {executable} could not be started: {exc}.") from None
    finally:
        log.close()
    (profile / PID_FILE).write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrowserUnavailable(
                f"The browser {executable} exited at start (code {proc.returncode}); see "
                f"{profile / 'deskhand-browser.log'}."
            )
        url = _running_endpoint(profile)
        if url:
            return url
        time.sleep(0.1)
    raise BrowserUnavailable(f"The browser {executable} did not open its debugging port within {START_TIMEOUT_S:g} s.")


def shutdown_managed(profile_dir: str, timeout_s: float = 10.0) -> bool:
    """End the managed browser of this profile (tests, and a caller that wants it gone)."""
    profile = Path(profile_dir).resolve()
    try:
        pid = int((profile / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return False
    if not _pid_alive_with(pid, f"--user-data-dir={profile}"):
        return False
    end_tree(pid, grace_s=timeout_s)
    return True


# -- the session: one thread owns Playwright --


@dataclass
class _Job:
    fn: Callable[[BrowserSession], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class BrowserSession:
    """One task's connection to the browser. `run(fn)` runs `fn(session)` on the Playwright thread.

    State read by jobs: `context`, `page` (the current tab), `downloads` (pending, not yet saved),
    `opened` (tabs opened by pages since the last job). Closing disconnects; the browser stays.
    """

    def __init__(self, config: BrowserConfig):
        self.config = config
        self.forbidden = parse_origins(config.forbidden_origins)
        self.attached = bool(config.cdp_url)
        # Playwright objects (typed Any: playwright is imported on the browser thread only).
        self.context: Any = None
        self.page: Any = None
        self.downloads: list[Any] = []
        self.opened: list[Any] = []
        self.blocked: list[str] = []
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # -- engine side --
    def start(self) -> None:
        if self._thread is not None:
            if self._start_error:
                raise self._start_error
            return
        self._thread = threading.Thread(target=self._main, name="deskhand-browser", daemon=True)
        self._thread.start()
        self._ready.wait(START_TIMEOUT_S + 15)
        if self._start_error:
            raise self._start_error
        if not self._ready.is_set():
            self._start_error = BrowserUnavailable("The browser did not answer in time.")
            raise self._start_error

    def run(
        self,
        fn: Callable[[BrowserSession], T],
        *,
        timeout_s: float = JOB_TIMEOUT_S,
        check: Callable[[], None] | None = None,
    ) -> T:
        """Run `fn(self)` on the Playwright thread and return its result (or raise its error).
        `check` is called while waiting (the engine's stop and time budget)."""
        self.start()
        job = _Job(fn)
        self._jobs.put(job)
        deadline = time.monotonic() + timeout_s
        while not job.done.wait(0.05):
            if check:
                check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the browser did not finish within {timeout_s:g} s")
        if job.error:
            raise job.error
        return cast(T, job.result)

    def close(self) -> None:
        if self._thread is None:
            return
        self._jobs.put(None)
        self._thread.join(timeout=15)

    # -- Playwright thread --
    def _main(self) -> None:
        playwright = None
        try:
            from playwright.sync_api import sync_playwright

            url = check_cdp_url(self.config.cdp_url) if self.config.cdp_url else launch_managed(self.config)
            playwright = sync_playwright().start()
            browser = playwright.chromium.connect_over_cdp(url, timeout=START_TIMEOUT_S * 1000)
            self.context = browser.contexts[0] if browser.contexts else browser.new_context()
            self.context.route(self._should_block, self._block)
            self.context.on("page", self._on_page)
            for page in self.context.pages:
                page.on("download", lambda d: self.downloads.append(d))
            pages = [p for p in self.context.pages if not p.url.startswith(("chrome://", "devtools://"))]
            self.page = pages[-1] if pages else self.context.new_page()
            self._ready.set()
        except BaseException as exc:  # noqa: BLE001 - reported to the engine thread
            message = str(exc).split("\n")[0]
            self._start_error = (
                exc
                if isinstance(exc, BrowserUnavailable)
                else BrowserUnavailable(f"Could not connect to the browser: {type(exc).__name__}: {message}")
            )
            self._ready.set()
            if playwright is not None:
                try:
                    playwright.stop()
                except Exception:  # noqa: BLE001 - start-up already failed; that error is the one to report
                    pass
            return
        try:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    self._pump()
                    continue
                if job is None:
                    break
                try:
                    job.result = job.fn(self)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting engine thread
                    job.error = exc
                job.done.set()
        finally:
            try:
                playwright.stop()  # disconnects; the browser itself keeps running
            except Exception:  # noqa: BLE001 - a browser that is gone needs no disconnect
                pass

    def _pump(self) -> None:
        """Let Playwright's loop run for a moment (the request filter and events are handled only then)."""
        try:
            if self.page is not None and not self.page.is_closed():
                self.page.wait_for_timeout(100)
                return
            live = [p for p in self.context.pages if not p.is_closed()]
            if live:
                self.page = live[-1]
                return
        except Exception:  # noqa: BLE001 - a page closing under us; the next round picks another
            pass
        time.sleep(0.05)

    def _on_page(self, page: Any) -> None:
        page.on("download", lambda d: self.downloads.append(d))
        self.opened.append(page)

    def _should_block(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return False
        try:
            return origin_key(parts.hostname or "", parts.port, parts.scheme) in self.forbidden
        except ValueError:
            return False

    def _block(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort("blockedbyclient")
