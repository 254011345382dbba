"""Which operating system this is, named the way a person would, with the apps people use on it.

The agents' instructions say this (a model told "Linux" reaches for Mousepad on a Windows machine),
and the health endpoint shows it. `describe()` asks the system once per process; the pure helpers
below it make the decisions and are tested for every OS on any OS.
"""

from __future__ import annotations

import configparser
import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

OsName = Literal["linux", "windows", "macos"]


def current_os() -> OsName:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


@dataclass(frozen=True)
class SystemInfo:
    os: OsName
    name: str  # "Windows 11 Pro (build 22631)", "macOS 14.5 Sonoma", "Debian GNU/Linux 12 (bookworm)"
    desktop: str  # "Windows desktop", "macOS (Finder)", "Openbox on X11"
    editor: str  # the plain-text editor people use here
    browser: str  # the default web browser
    file_manager: str
    terminal: str


# -- Windows --

# The ProgId Windows stores for the default https handler (UserChoice) → the browser's name.
_WINDOWS_BROWSERS = {
    "msedgehtm": "Microsoft Edge",
    "chromehtml": "Google Chrome",
    "firefoxurl": "Mozilla Firefox",
    "bravehtml": "Brave",
    "operastable": "Opera",
    "chromiumhtm": "Chromium",
}


def windows_name(release: str, build: str, edition: str) -> str:
    """Windows 11 still reports release "10"; its builds start at 22000."""
    try:
        build_number = int(build.split(".")[-1])
    except ValueError:
        build_number = 0
    if release == "10" and build_number >= 22000:
        release = "11"
    edition_text = f" {edition}" if edition and edition not in ("Core",) else ""
    return f"Windows {release}{edition_text}" + (f" (build {build_number})" if build_number else "")


def windows_browser(prog_id: str | None) -> str:
    key = (prog_id or "").lower()
    for prefix, name in _WINDOWS_BROWSERS.items():
        if key.startswith(prefix):
            return name
    return "Microsoft Edge"  # always installed; the default until someone picks another


# -- macOS --

_MAC_NAMES = {"11": "Big Sur", "12": "Monterey", "13": "Ventura", "14": "Sonoma", "15": "Sequoia", "26": "Tahoe"}


def mac_name(version: str) -> str:
    major = version.split(".")[0] if version else ""
    nickname = _MAC_NAMES.get(major)
    return f"macOS {version}" + (f" {nickname}" if nickname else "") if version else "macOS"


# -- Linux --


def desktop_file_name(text: str) -> str | None:
    """The `Name=` of a freedesktop .desktop file (what the menus call the app)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser.get("Desktop Entry", "Name", fallback=None)


def linux_desktop(env: dict[str, str]) -> str:
    session = "Wayland" if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland" else "X11"
    desktop = env.get("XDG_CURRENT_DESKTOP") or env.get("DESKTOP_SESSION") or ""
    if desktop:
        return f"{desktop.split(':')[0]} on {session}"
    return f"an {session} desktop" if session == "X11" else f"a {session} desktop"


_LINUX_EDITORS = ("mousepad", "gedit", "gnome-text-editor", "kate", "kwrite", "xed", "pluma", "featherpad", "leafpad")
_LINUX_BROWSERS = ("firefox", "chromium", "google-chrome", "microsoft-edge", "epiphany")


def _xdg_default(args: list[str]) -> str | None:
    """The app's name behind an `xdg-mime`/`xdg-settings` default (a .desktop file id)."""
    if shutil.which(args[0]) is None:
        return None
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=3, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    desktop_id = out.stdout.strip()
    if out.returncode != 0 or not desktop_id.endswith(".desktop"):
        return None
    data_dirs = [os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local/share")]
    data_dirs += (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    for folder in data_dirs:
        path = Path(folder) / "applications" / desktop_id
        if path.is_file():
            return desktop_file_name(path.read_text(encoding="utf-8", errors="replace"))
    return None


def _first_installed(names: tuple[str, ...]) -> str | None:
    found = next((name for name in names if shutil.which(name)), None)
    return found.replace("-", " ").title() if found else None


# -- the description --


@functools.cache
def describe() -> SystemInfo:
    """This machine, asked once per process (a few milliseconds; on Linux up to two xdg look-ups)."""
    if sys.platform == "win32":
        import winreg

        prog_id = None
        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER,
                r"Software\Microsoft\Windows\Shell\Associations\UrlAssociations\https\UserChoice",
            ) as key:
                prog_id = str(winreg.QueryValueEx(key, "ProgId")[0])
        except OSError:
            pass
        release, build, _, _ = platform.win32_ver()
        return SystemInfo(
            os="windows",
            name=windows_name(release, build, platform.win32_edition() or ""),
            desktop="the Windows desktop (Start menu, taskbar)",
            editor="Notepad",
            browser=windows_browser(prog_id),
            file_manager="File Explorer",
            terminal="Windows Terminal",
        )
    if sys.platform == "darwin":
        return SystemInfo(
            os="macos",
            name=mac_name(platform.mac_ver()[0]),
            desktop="the macOS desktop (menu bar, Dock, Finder)",
            editor="TextEdit",
            browser="Safari",
            file_manager="Finder",
            terminal="Terminal",
        )
    try:
        name = platform.freedesktop_os_release().get("PRETTY_NAME") or "Linux"
    except OSError:
        name = "Linux"
    return SystemInfo(
        os="linux",
        name=name,
        desktop=linux_desktop(dict(os.environ)),
        editor=_xdg_default(["xdg-mime", "query", "default", "text/plain"])
        or _first_installed(_LINUX_EDITORS)
        or "the desktop's text editor",
        browser=_xdg_default(["xdg-settings", "get", "default-web-browser"])
        or _first_installed(_LINUX_BROWSERS)
        or "the desktop's web browser",
        file_manager="the desktop's file manager",
        terminal="the terminal",
    )
