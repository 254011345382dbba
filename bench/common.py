"""Shared helpers of the benches: modes, Django set-up, Daphne/worker/desktop, percentiles, tables.

Every bench measures the two deployment modes the same way:

* `embedded` (the default product): SQLite in a private data dir, the file broker, polled wake-ups;
* `scaled`: PostgreSQL (its own database, `deskhand_bench`, created and dropped here), Redis wake-ups
  (`redis://127.0.0.1:6379/15`) and a Redis broker on db 13 (not the tests' 14: a bench worker must
  never take a test's task).

Settings are read once per process, so a bench runs each mode in a child process
(`python -m bench.<name> --child --mode <mode>`) and merges the children's JSON.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
# Overridable, so a bench can run beside tests or other benches without sharing their stores.
PG_DB = os.environ.get("BENCH_PG_DB") or "deskhand_bench"
REDIS_WAKEUPS = os.environ.get("BENCH_REDIS_WAKEUPS") or "redis://127.0.0.1:6379/15"
REDIS_BROKER = os.environ.get("BENCH_REDIS_BROKER") or "redis://127.0.0.1:6379/13"
TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"
MODES = ("embedded", "scaled")


# --- numbers ----------------------------------------------------------------------------------
def pct(values, p: float) -> float | None:
    """The p-th percentile (nearest rank on the sorted values), None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def summary_ms(values_s_or_ms, *, scale: float = 1.0) -> dict:
    values = [v * scale for v in values_s_or_ms]
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(pct(values, 50), 1),
        "p95_ms": round(pct(values, 95), 1),
        "p99_ms": round(pct(values, 99), 1),
        "max_ms": round(max(values), 1),
        "mean_ms": round(statistics.fmean(values), 1),
    }


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) if cells else len(col) for i, col in enumerate(columns)]
    print(f"\n## {title}")
    print("  ".join(col.ljust(w) if i == 0 else col.rjust(w) for i, (col, w) in enumerate(zip(columns, widths))))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    sys.stdout.flush()


def machine() -> dict:
    import psutil

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "machine": machine(), **payload}, indent=2))
    return path


# --- modes and Django -------------------------------------------------------------------------
def mode_env(mode: str, data_dir: Path) -> dict:
    env = {
        "DESKHAND_DATA_DIR": str(data_dir),
        "DESKHAND_API_TOKEN": TOKEN,
        "DESKHAND_SECRET_KEY": "bench-secret-key-not-secret-0123456789abcdef",
        "DESKHAND_LOG_LEVEL": "WARNING",
        "DESKHAND_MACHINE_NAME": f"bench-{os.getpid()}",
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or "config.settings",
    }
    if mode == "scaled":
        env.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{PG_DB}",
            CELERY_BROKER_URL=REDIS_BROKER,
            DESKHAND_REDIS_URL=REDIS_WAKEUPS,
        )
    else:
        env.update(
            DATABASE_URL=f"sqlite:///{data_dir / 'deskhand.sqlite3'}", CELERY_BROKER_URL="", DESKHAND_REDIS_URL=""
        )
    return env


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, timeout=60
    )


def drop_pg() -> None:
    _psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def setup_django(mode: str, *, settings_module: str | None = None) -> Path:
    """Point this process at a fresh store of `mode`, migrate it, return the data dir."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"deskhand-bench-{mode}-"))
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.update(mode_env(mode, data_dir))
    for key in ("CELERY_BROKER_URL", "DESKHAND_REDIS_URL"):
        if os.environ.get(key) == "":
            del os.environ[key]
    if mode == "scaled":
        drop_pg()
        _psql(f"CREATE DATABASE {PG_DB}")
        import redis

        redis.Redis.from_url(REDIS_BROKER).flushdb()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return data_dir


def teardown_django(mode: str, data_dir: Path) -> None:
    from django.db import connections

    connections.close_all()
    if mode == "scaled":
        try:
            drop_pg()
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort
            print(f"(could not drop {PG_DB}: {exc})", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)


def server(extra_env: dict | None = None):
    """Daphne serving the project over this process's database (tests.fixtures.server.AsgiServer)."""
    from tests.fixtures.server import AsgiServer

    return AsgiServer(extra_env=extra_env)


def http_client(srv, **kw):
    import httpx

    return httpx.Client(
        base_url=srv.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=kw.pop("timeout", 30), **kw
    )


# --- child processes per mode -------------------------------------------------------------------
def run_children(module: str, modes, *, quick: bool, extra: list[str] | None = None, timeout_s: float = 300) -> dict:
    """Run `python -m bench.<module> --child --mode M` per mode; returns {mode: its JSON (or error)}."""
    out = {}
    for mode in modes:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            target = handle.name
        cmd = [sys.executable, "-m", f"bench.{module}", "--child", "--mode", mode, "--out", target]
        if quick:
            cmd.append("--quick")
        if os.environ.get("BENCH_PROFILE"):
            cmd.append("--profile")
        cmd += extra or []
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout_s, stdout=sys.stderr)
            if proc.returncode == 0:
                out[mode] = json.loads(Path(target).read_text())
            else:
                out[mode] = {"error": f"exit code {proc.returncode}"}
        except subprocess.TimeoutExpired:
            out[mode] = {"error": f"timed out after {timeout_s:.0f} s"}
        finally:
            Path(target).unlink(missing_ok=True)
        out[mode]["seconds"] = round(time.monotonic() - started, 1)
    return out


def child_args(argv=None):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--mode", choices=MODES, default="embedded")
    parser.add_argument("--out")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the largest round")
    return parser.parse_args(argv)


# --- CPU of another process ---------------------------------------------------------------------
class CpuMeter:
    """CPU seconds used by a process (and its threads) between start() and stop(), as % of one core."""

    def __init__(self, pid: int):
        import psutil

        self.proc = psutil.Process(pid)

    def start(self) -> CpuMeter:
        t = self.proc.cpu_times()
        self.cpu0, self.wall0 = t.user + t.system, time.monotonic()
        return self

    def stop(self) -> float:
        t = self.proc.cpu_times()
        return round(100 * (t.user + t.system - self.cpu0) / max(1e-9, time.monotonic() - self.wall0), 1)


# --- profiles -----------------------------------------------------------------------------------
def py_spy(pid: int, seconds: float, out: Path):
    """Start sampling `pid` with py-spy (collapsed stacks) for `seconds`; None when py-spy is missing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise_collapsed(path: Path, top: int = 15) -> dict:
    """Inclusive share of each frame and self share of each leaf, from py-spy's collapsed stacks."""
    inclusive, leaf, total = {}, {}, 0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")" if " (" in f else f
            for f in stack.split(";")
        ]
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
    if not total:
        return {}

    def share(d):
        return [[k, round(100 * v / total, 1)] for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "inclusive_pct": share(inclusive), "self_pct": share(leaf)}


# --- the desktop ----------------------------------------------------------------------------------
def busy_desktop(width: int = 1920, height: int = 1080):
    """Xvfb + openbox + a focused mousepad holding ~20 KB of Python source (tests.fixtures.desktop).

    Returns (desktop, editor). The text goes in through the clipboard (xclip + ctrl+v), the way a
    person would paste it, because the fixture opens the editor on an empty file.
    """
    from tests.fixtures.desktop import start_desktop

    desktop = start_desktop(width, height)
    os.environ["DISPLAY"] = desktop.display
    os.environ.pop("XAUTHORITY", None)
    if "DBUS_SESSION_BUS_ADDRESS" in desktop.env:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = desktop.env["DBUS_SESSION_BUS_ADDRESS"]
    try:
        editor = desktop.open_editor(name=f"bench-{os.getpid()}.py")
        text = "".join(Path(p).read_text() for p in (ROOT / "sessions" / "screen.py", ROOT / "events" / "wakeups.py"))
        clip = subprocess.Popen(
            ["xclip", "-selection", "clipboard", "-i"],
            env=desktop.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        clip.communicate(text[:20000].encode(), timeout=10)
        subprocess.run(["xdotool", "key", "--delay", "0", "ctrl+v"], env=desktop.env, timeout=10)
        time.sleep(1.0)
        subprocess.run(["xdotool", "key", "--delay", "0", "ctrl+Home"], env=desktop.env, timeout=10)
        time.sleep(0.5)
    except Exception:
        desktop.stop()
        raise
    return desktop, editor


_TICKER = """
import sys, time, tkinter
root = tkinter.Tk()
root.geometry("+40+40")
label = tkinter.Label(root, font=("DejaVu Sans", 40))
label.pack()
end = time.monotonic() + float(sys.argv[1])
def tick():
    if time.monotonic() > end:
        root.destroy()
        return
    label.config(text=f"{time.time():.3f}")
    root.after(16, tick)
tick()
root.mainloop()
"""


def ticker(desktop, seconds: float):
    """A screen that changes every frame: a window redrawing a clock at about 60 Hz (bounded)."""
    return subprocess.Popen(
        [sys.executable, "-c", _TICKER, str(seconds)],
        env=desktop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
