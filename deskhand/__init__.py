"""Deskhand's own commands on every OS, with the standard library only (they run before the venv
exists): `python -m deskhand run`, `python -m deskhand test`. `make` on Linux is a thin wrapper."""
