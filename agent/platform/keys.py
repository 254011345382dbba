"""Key names as the model writes them ("CTRL", "ENTER", "ArrowLeft", "CMD") → the input library's names.

Two steps: the model's name → one canonical name (`canonical_key`: "cmd", "super", "win" and "meta"
are all "meta"; "option" is "alt"), then the canonical name → pyautogui's name on this OS
(`gui_key`): "meta" is the Command key on macOS and the Windows (Super) key elsewhere. Risk rules
work on canonical names, so one rule covers every spelling on every OS.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.platform.system import OsName, current_os

_ALIASES = {
    "ctrl": "ctrl",
    "control": "ctrl",
    "lctrl": "ctrlleft",
    "rctrl": "ctrlright",
    "shift": "shift",
    "lshift": "shiftleft",
    "rshift": "shiftright",
    "alt": "alt",
    "option": "alt",
    "opt": "alt",
    "loption": "altleft",
    "roption": "altright",
    "lalt": "altleft",
    "ralt": "altright",
    "altgr": "altright",
    # The model's META/CMD/SUPER/WIN are one key: Command on macOS, Windows/Super elsewhere.
    "meta": "meta",
    "cmd": "meta",
    "command": "meta",
    "super": "meta",
    "win": "meta",
    "windows": "meta",
    "os": "meta",
    "lwin": "metaleft",
    "rwin": "metaright",
    "lcmd": "metaleft",
    "rcmd": "metaright",
    "fn": "fn",
    "enter": "enter",
    "return": "enter",
    "tab": "tab",
    "esc": "esc",
    "escape": "esc",
    "backspace": "backspace",
    "bksp": "backspace",
    "delete": "delete",
    "del": "delete",
    "insert": "insert",
    "ins": "insert",
    "space": "space",
    " ": "space",
    "spacebar": "space",
    "arrowleft": "left",
    "left": "left",
    "arrowright": "right",
    "right": "right",
    "arrowup": "up",
    "up": "up",
    "arrowdown": "down",
    "down": "down",
    "home": "home",
    "end": "end",
    "pageup": "pageup",
    "pgup": "pageup",
    "pagedown": "pagedown",
    "pgdn": "pagedown",
    "capslock": "capslock",
    "numlock": "numlock",
    "scrolllock": "scrolllock",
    "printscreen": "printscreen",
    "print": "printscreen",
    "prtsc": "printscreen",
    "pause": "pause",
    "menu": "apps",
    "contextmenu": "apps",
    "apps": "apps",
    "volumeup": "volumeup",
    "volumedown": "volumedown",
    "volumemute": "volumemute",
    "plus": "+",
    "minus": "-",
    "comma": ",",
    "period": ".",
    "slash": "/",
    "backslash": "\\",
    "semicolon": ";",
    "quote": "'",
    "backquote": "`",
    "equal": "=",
    "equals": "=",
    "bracketleft": "[",
    "bracketright": "]",
}
# pyautogui's own side-specific names ("ctrlleft", "winright", "optionleft") read back as themselves.
_ALIASES.update(
    {
        f"{name}{side}": f"{canonical}{side}"
        for name, canonical in (("ctrl", "ctrl"), ("shift", "shift"), ("alt", "alt"), ("option", "alt"))
        + (("win", "meta"), ("command", "meta"))
        for side in ("left", "right")
    }
)

# Canonical modifier names; `gui_key` turns them into the OS's names.
MODIFIERS = frozenset(
    {"ctrl", "ctrlleft", "ctrlright", "shift", "shiftleft", "shiftright", "alt", "altleft", "altright"}
    | {"meta", "metaleft", "metaright", "fn"}
)

# pyautogui's names per OS where they differ from the canonical name. macOS has one Command key code
# and calls Alt "option"; keys a Mac keyboard lacks are refused (pyautogui would drop them silently).
_GUI_NAMES: dict[OsName, dict[str, str]] = {
    "linux": {"meta": "win", "metaleft": "winleft", "metaright": "winright"},
    "windows": {"meta": "win", "metaleft": "winleft", "metaright": "winright"},
    "macos": {
        "meta": "command",
        "metaleft": "command",
        "metaright": "command",
        "alt": "option",
        "altleft": "optionleft",
        "altright": "optionright",
    },
}
_MISSING: dict[OsName, dict[str, str]] = {
    "linux": {"fn": "Fn is handled by the keyboard itself"},
    "windows": {"fn": "Fn is handled by the keyboard itself"},
    "macos": {
        "apps": "a Mac has no menu key (right-click instead)",
        "printscreen": "a Mac has no Print Screen key (use cmd+shift+3)",
        "insert": "a Mac has no Insert key",
        "scrolllock": "a Mac has no Scroll Lock key",
        "numlock": "a Mac has no Num Lock key",
        "pause": "a Mac has no Pause key",
    },
}
# The shortcut modifier of copy, paste, select-all and save.
PRIMARY_MODIFIER: dict[OsName, str] = {"linux": "ctrl", "windows": "ctrl", "macos": "meta"}


class UnknownKey(ValueError):
    pass


def canonical_key(name: str) -> str:
    """One model key name → its canonical name. Raises UnknownKey (shown to the model) otherwise."""
    if not isinstance(name, str) or name == "":
        raise UnknownKey(f"empty key name {name!r}")
    if len(name) == 1:
        return name.lower() if name.isalpha() else name
    # "ArrowLeft", "Page_Up", "page-down" all normalise to one lookup key.
    norm = name.lower().replace("_", "").replace("-", "")
    if norm in _ALIASES:
        return _ALIASES[norm]
    if norm.startswith("key") and len(norm) == 4:  # "KeyA" (DOM code names)
        return norm[3]
    if norm.startswith("digit") and len(norm) == 6:
        return norm[5]
    if norm.startswith("f") and norm[1:].isdigit() and 1 <= int(norm[1:]) <= 24:
        return norm
    raise UnknownKey(f"unknown key name {name!r}")


def canonical_keys(names: str | Iterable[str]) -> list[str]:
    """A combination such as ["CTRL", "A"]; a single "ctrl+a" string is split too."""
    if isinstance(names, str):
        names = names.split("+") if len(names) > 1 and "+" in names else [names]
    return [canonical_key(n) for n in names]


def gui_key(canonical: str, os_name: OsName | None = None) -> str:
    os_name = os_name or current_os()
    if canonical in _MISSING[os_name]:
        raise UnknownKey(f"{canonical!r}: {_MISSING[os_name][canonical]}")
    return _GUI_NAMES[os_name].get(canonical, canonical)


def map_key(name: str, os_name: OsName | None = None) -> str:
    """One model key name → pyautogui's name on `os_name` (default: this OS)."""
    return gui_key(canonical_key(name), os_name)


def map_keys(names: str | Iterable[str], os_name: OsName | None = None) -> list[str]:
    return [gui_key(k, os_name) for k in canonical_keys(names)]


def gui_modifiers(os_name: OsName | None = None) -> list[str]:
    """The OS's modifier key names, to release them all after an interrupted action."""
    return list(dict.fromkeys(gui_key(k, os_name) for k in ("shift", "ctrl", "alt", "meta")))


# Standard shortcuts, in canonical names ("meta" is Cmd on macOS).
SHORTCUTS: dict[OsName, dict[str, list[str]]] = {
    os_name: {
        "select_all": [primary, "a"],
        "copy": [primary, "c"],
        "paste": [primary, "v"],
        # Linux terminals take ctrl+shift+v (ctrl+v is a control character there).
        "paste_in_terminal": [primary, "shift", "v"] if os_name == "linux" else [primary, "v"],
        "document_end": ["meta", "down"] if os_name == "macos" else ["ctrl", "end"],
    }
    for os_name, primary in PRIMARY_MODIFIER.items()
}


def shortcut(action: str, os_name: OsName | None = None) -> list[str]:
    """A standard shortcut's keys in pyautogui's names: shortcut("paste") is ctrl+v, cmd+v on macOS."""
    os_name = os_name or current_os()
    return [gui_key(k, os_name) for k in SHORTCUTS[os_name][action]]
