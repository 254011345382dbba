"""`python -m deskhand.importcheck`: fails when a module imports a POSIX-only or Windows-only module at
import time (deskhand.checks.import_problems). Paths may be given; default: every first-party package."""

from __future__ import annotations

import sys
from pathlib import Path

from deskhand.checks import import_problems, python_files

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or python_files(ROOT)
    problems = import_problems(files)
    for problem in problems:
        print(problem)
    print(f"import check: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
