"""The static checks `python -m deskhand check` runs, besides ruff: mypy on this OS and, over the
code that must run on every OS, mypy for Windows and macOS plus an import-time check.

mypy reads `sys.platform` tests: under `--platform win32` a POSIX-only call (`os.killpg`, `fcntl.flock`,
`os.fchmod`) outside an `if sys.platform != "win32":` branch is an error, and under the default
(Linux) platform so is a Windows-only one (`winreg`, `ctypes.windll`, `signal.CTRL_BREAK_EVENT`). An
unused `import fcntl` is no type error, yet on Windows it stops the server at start; `import_problems`
catches that: no module imports a POSIX-only or Windows-only module at import time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

# The code that runs on Windows and macOS too, and the Django-side files that call the OS.
PLATFORM_PATHS = [
    "agent",
    "deskhand",
    "core/files.py",
    "providers/codex_tokens.py",
    "config/management/commands/serve.py",
    "config/management/commands/worker.py",
]
PLATFORMS = ("win32", "darwin")

POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt", "spwd"}
WINDOWS_ONLY = {"winreg", "msvcrt", "winsound", "_winapi", "nt", "win32api", "win32con", "win32file", "pywintypes"}
# Where import-time imports are checked: every first-party package (the server imports them all, and
# the suite's portable part imports tests/ on Windows and macOS).
IMPORT_CHECK_ROOTS = [
    "agent",
    "config",
    "core",
    "deskhand",
    "events",
    "history",
    "logs",
    "memory",
    "providers",
    "runs",
    "scenarios",
    "sessions",
    "tests",
    "web",
]


def mypy_commands(python: str) -> list[list[str]]:
    """mypy for this OS (pyproject's `files`), then the platform check for Windows and macOS."""
    return [[python, "-m", "mypy"]] + [platform_check_command(python, platform) for platform in PLATFORMS]


def platform_check_command(python: str, platform: str, paths: Iterable[str] = ()) -> list[str]:
    """mypy as if on `platform` ("win32", "darwin") over `paths` (default: PLATFORM_PATHS)."""
    return [python, "-m", "mypy", "--platform", platform, *(list(paths) or PLATFORM_PATHS)]


def import_problems(files: Iterable[Path]) -> list[str]:
    """`file:line: imports X at import time` for each module-level import of a platform-only module
    that is not inside an `if sys.platform …` branch."""
    problems = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_time_nodes(tree.body):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in POSIX_ONLY or top in WINDOWS_ONLY:
                    kind = "POSIX-only" if top in POSIX_ONLY else "Windows-only"
                    problems.append(f"{path}:{node.lineno}: imports {kind} module {top!r} at import time")
    return problems


def _import_time_nodes(body: list[ast.stmt]) -> Iterable[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: top level, and inside try/with/if blocks,
    except the branches of `if sys.platform …` tests (and `if TYPE_CHECKING:`)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_platform_test(node.test):
                yield from _import_time_nodes(node.body)
                yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_nodes(block)
        elif isinstance(node, ast.With):
            yield from _import_time_nodes(node.body)


def _is_platform_test(test: ast.expr) -> bool:
    source = ast.unparse(test)
    return "sys.platform" in source or "TYPE_CHECKING" in source or "os.name" in source


def python_files(root: Path, roots: Iterable[str] = IMPORT_CHECK_ROOTS) -> list[Path]:
    files: list[Path] = []
    for name in roots:
        folder = root / name
        files += [p for p in sorted(folder.rglob("*.py")) if "migrations" not in p.parts]
    return files
