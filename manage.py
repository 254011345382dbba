#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Names this process's log file (deskhand-worker.log); read when logging is configured.
    if sys.argv[1:2] == ["worker"]:
        os.environ.setdefault("DESKHAND_PROCESS_KIND", "worker")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
