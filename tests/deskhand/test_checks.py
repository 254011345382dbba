"""The static platform check fails the build on a POSIX-only call outside a platform branch (and a
Windows-only one), and the import-time check on a platform-only import; the real tree passes."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deskhand.__main__ import ROOT, venv_python
from deskhand.checks import import_problems, platform_check_command, python_files

pytestmark = [pytest.mark.portable, pytest.mark.timeout(240)]

POSIX_CALLS = """
    import fcntl
    import os
    import signal


    def stop(pid: int) -> None:
        os.killpg(pid, signal.SIGKILL)


    def lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
"""
BRANCHED = """
    import os
    import signal
    import sys


    def stop(pid: int) -> None:
        if sys.platform == "win32":
            os.kill(pid, signal.SIGTERM)
        else:
            os.killpg(pid, signal.SIGKILL)
"""
WINDOWS_CALL = """
    import winreg


    def browser() -> str:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, "Software") as key:
            return str(winreg.QueryValueEx(key, "ProgId")[0])
"""


def _check(tmp_path, source, platform):
    module = tmp_path / "module_under_check.py"
    module.write_text(textwrap.dedent(source))
    command = platform_check_command(sys.executable, platform, [str(module)])
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=200)


def test_a_posix_only_call_outside_a_platform_branch_fails_the_windows_check(tmp_path):
    result = _check(tmp_path, POSIX_CALLS, "win32")
    assert result.returncode == 1, result.stdout
    assert 'Module has no attribute "killpg"' in result.stdout
    assert 'Module has no attribute "flock"' in result.stdout


def test_the_same_call_inside_a_platform_branch_passes_for_windows_and_macos(tmp_path):
    for platform in ("win32", "darwin"):
        result = _check(tmp_path, BRANCHED, platform)
        assert result.returncode == 0, result.stdout


def test_a_windows_only_call_fails_the_macos_check(tmp_path):
    result = _check(tmp_path, WINDOWS_CALL, "darwin")
    assert result.returncode == 1 and 'Module has no attribute "OpenKey"' in result.stdout, result.stdout


def test_a_platform_only_import_at_import_time_is_found_and_a_branched_one_is_not(tmp_path):
    module = tmp_path / "imports.py"
    module.write_text(
        textwrap.dedent(
            """
            import sys

            import fcntl

            if sys.platform == "win32":
                import msvcrt
            try:
                import termios
            except ImportError:
                termios = None


            def later():
                import winreg  # at call time: fine
            """
        )
    )
    problems = import_problems([module])
    assert [p.split(": ", 1)[1] for p in problems] == [
        "imports POSIX-only module 'fcntl' at import time",
        "imports POSIX-only module 'termios' at import time",
    ]


def test_the_project_imports_no_platform_only_module_at_import_time():
    files = python_files(ROOT)
    assert len(files) > 100 and import_problems(files) == []


def test_the_venv_python_is_where_each_os_puts_it():
    assert venv_python(Path("v"), "nt") == Path("v/Scripts/python.exe")
    assert venv_python(Path("v"), "posix") == Path("v/bin/python")
