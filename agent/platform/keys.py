"""Key names as the model writes them ("CTRL", "ENTER", "ArrowLeft", "Super") → pyautogui's names."""

from __future__ import annotations

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
    "lalt": "altleft",
    "ralt": "altright",
    "altgr": "altright",
    # X11 has no "cmd": the model's META/CMD/SUPER/WIN all mean the Super (Windows) key there.
    "meta": "win",
    "cmd": "win",
    "command": "win",
    "super": "win",
    "win": "win",
    "windows": "win",
    "os": "win",
    "lwin": "winleft",
    "rwin": "winright",
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

MODIFIERS = {
    "ctrl",
    "ctrlleft",
    "ctrlright",
    "shift",
    "shiftleft",
    "shiftright",
    "alt",
    "altleft",
    "altright",
    "win",
    "winleft",
    "winright",
}


class UnknownKey(ValueError):
    pass


def map_key(name: str) -> str:
    """One model key name → one pyautogui key name. Raises UnknownKey (shown to the model) otherwise."""
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


def map_keys(names) -> list[str]:
    """A combination such as ["CTRL", "A"]; a single "ctrl+a" string is split too."""
    if isinstance(names, str):
        names = names.split("+") if len(names) > 1 and "+" in names else [names]
    return [map_key(n) for n in names]
