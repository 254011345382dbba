"""Everything that differs by operating system, one small module per concern.

- `system`: which OS this is, its name and version, its usual apps (what the instructions say)
- `shell`: the cli agent's shell (bash, zsh, PowerShell) and its command line
- `proctree`: starting a command in its own group and ending its whole process tree
- `files`: the cross-process file lock and user-only file permissions (mode 0600, a Windows ACL)
- `window_list`: the visible windows and the focused app
- `keys`: model key names → the input library's names per OS (Cmd on macOS)
- `clipboard`: typing by paste (xclip on X11, the OS clipboard elsewhere)
- `capture`: display checks, DPI/Retina scaling, macOS permission messages
- `screen_changes`: what the display server reports drawn (X11 DAMAGE), so settling need not poll
- `apps`: where the browsers are installed

The OS is chosen at run time, and no module imports a POSIX-only or Windows-only module at import
time. Branches test `sys.platform` directly (never a helper function): mypy understands those
tests, so `make check` type-checks each side under `--platform win32` and `--platform darwin`, and a
POSIX-only call outside such a branch (`os.killpg`, `fcntl`) fails the check. Decisions are pure
functions taking the OS as an argument, so their tests run on Linux for all three systems.
"""
