"""`python -m deskhand run | test | check | format | bench`: what `make run` and `make test` do, on
Linux, Windows and macOS alike.

- run: create .venv (first time), install requirements.txt when it changed, migrate, serve.
- test: install requirements-dev.txt when it changed; on Linux the desktop and browser packages;
  the checks; the suite (on Linux the whole suite, then the `scaled` tests on PostgreSQL and Redis;
  on Windows and macOS the portable part, marker `portable`: the desktop tests need Xvfb).
- check: ruff (lint and format), mypy for this OS and for Windows and macOS, the import-time check.

Run it with any Python 3.11+; it re-runs itself inside .venv.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
SCALED_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "DESKHAND_REDIS_URL": "redis://127.0.0.1:6379/15",
}


def venv_python(venv: Path = VENV, os_name: str = os.name) -> Path:
    return venv / ("Scripts/python.exe" if os_name == "nt" else "bin/python")


def is_linux() -> bool:
    return sys.platform.startswith("linux")


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command from the repository root; stop with its exit code when it fails."""
    command = [str(a) for a in args]
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def serve(python: Path, serve_args: list[str]) -> None:
    """`manage.py serve` in the foreground. Ctrl-C reaches it too (the terminal signals the whole
    process group), and it stops in order, web and worker, within about 15 s: this waits for that
    rather than killing it, as subprocess.run would after a quarter of a second."""
    command = [str(python), "manage.py", "serve", *serve_args]
    print("+", " ".join(command), flush=True)
    proc = subprocess.Popen(command, cwd=ROOT)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # the signal was ours alone: ask serve to stop too
            proc.terminate()
            code = proc.wait()
    raise SystemExit(code)


def install(*, dev: bool) -> Path:
    """The venv's python, with requirements.txt (and requirements-dev.txt) installed when they changed
    since the last install (the stamp files `make` used)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this runs on whatever Python the user started it with
        raise SystemExit("Deskhand needs Python 3.11 or newer.")
    python = venv_python()
    if not python.exists():
        sh(sys.executable, "-m", "venv", VENV)
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check", "-q"]
    base, dev_stamp = VENV / ".installed", VENV / ".installed-dev"
    steps = [(base, ROOT / "requirements.txt", [ROOT / "requirements.txt"])]
    if dev:
        steps.append((dev_stamp, ROOT / "requirements-dev.txt", [base, ROOT / "requirements-dev.txt"]))
    for stamp, requirements, sources in steps:
        if stamp.exists() and all(source.stat().st_mtime <= stamp.stat().st_mtime for source in sources):
            continue
        if stamp == base:
            sh(*pip, "install", "--upgrade", "pip")
        sh(*pip, "install", "-r", requirements)
        if is_linux():
            # pyautogui's dependencies bring an old fork of Xlib that overwrites python-xlib's files.
            sh(*pip, "install", "--force-reinstall", "--no-deps", "python-xlib==0.33")
        stamp.touch()
    return python


def check(python: Path) -> None:
    from deskhand.checks import mypy_commands

    sh(python, "-m", "ruff", "check", ".")
    sh(python, "-m", "ruff", "format", "--check", ".")
    for command in mypy_commands(str(python)):
        sh(*command)
    sh(python, "-m", "deskhand.importcheck")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deskhand", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="install, migrate and serve on http://127.0.0.1:3333/; other arguments go to `manage.py serve` "
        "(--host, --port, --no-worker)",
    )
    test = commands.add_parser("test", help="install the test tools, run the checks and the suite")
    test.add_argument("--portable", action="store_true", help="only the part that runs on every OS (marker portable)")
    commands.add_parser("check", help="ruff, mypy (this OS, Windows, macOS), the import-time check")
    commands.add_parser("format", help="fix what ruff can fix")
    commands.add_parser("bench", help="the benchmarks (Linux)")
    fuzz = commands.add_parser("fuzz", help="schemathesis against a live server: every phase and check")
    fuzz.add_argument("--seconds", type=int, default=600)
    fuzz.add_argument("--seed", type=int, default=20260301)
    # Not argparse.REMAINDER: it refuses a first argument that looks like an option (`run --port 4000`).
    args, serve_args = parser.parse_known_args(argv)
    if serve_args and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(serve_args)}")

    if args.command == "run":
        python = install(dev=False)
        sh(python, "manage.py", "migrate", "--noinput")
        serve(python, serve_args)
        return
    python = install(dev=True)
    if args.command == "check":
        check(python)
    elif args.command == "format":
        sh(python, "-m", "ruff", "check", "--fix", ".")
        sh(python, "-m", "ruff", "format", ".")
    elif args.command == "fuzz":
        sh(ROOT / "scripts/system-packages.sh")
        fuzz_env = {
            "DESKHAND_FUZZ_SECONDS": str(args.seconds),
            "DESKHAND_FUZZ_SEED": str(args.seed),
            "DESKHAND_FUZZ_CHECKS": "all",
        }
        sh(python, "-m", "pytest", "tests/contract/test_fuzz.py", "-p", "no:randomly", env=fuzz_env)
    elif args.command == "bench":
        sh(ROOT / "scripts/system-packages.sh")
        sh(python, "-m", "bench")
    elif args.command == "test":
        portable = args.portable or not is_linux()
        if not portable:
            sh(ROOT / "scripts/system-packages.sh")
        check(python)
        if portable:
            sh(python, "-m", "pytest", "-m", "portable")
            return
        sh(python, "-m", "pytest")
        sh(ROOT / "scripts/services.sh")
        sh(python, "-m", "pytest", "-m", "scaled", "-p", "no:randomly", env=SCALED_ENV)


if __name__ == "__main__":
    main()
