"""Risk rules for shell commands: which ones a person approves before they run.

Two dialects, because the cli agent speaks the machine's shell: POSIX (bash, zsh) and PowerShell
(which also runs cmd's built-ins through `cmd /c` and Windows' own tools: reg, diskpart, icacls…).
The same categories hold for both: Deskhand's own data, elevated privileges, installing software,
sending data out, changing the system, and deleting outside the task's scratch directory.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path, PureWindowsPath

from agent.platform.shell import Dialect

_OWN_DATA = re.compile(r"deskhand|\.codex|auth\.json|api[_-]?token", re.I)

# -- POSIX --
_PRIVILEGE = re.compile(r"(^|[;&|(]\s*|\s)(sudo|su|doas|pkexec|runuser)(\s|$)")
_INSTALL = re.compile(
    r"\b(apt|apt-get|aptitude|dpkg|dnf|yum|pacman|zypper|apk|brew|snap|flatpak|port)\b.*\b(install|remove|"
    r"purge|-i|-S|-R|upgrade|uninstall)\b|\bpip3?\s+(install|uninstall)\b|\bnpm\s+(i|install)\s+(-g|--global)"
    r"|\bgem\s+install\b|\bcargo\s+install\b|\bcurl\b[^|]*\|\s*(sudo\s+)?(ba|z)?sh\b|\binstaller\s+-pkg\b"
)
_UPLOAD = re.compile(
    r"\bcurl\b.*(\s-T\s|--upload-file|\s-d\s|\s-d\S|--data|\s-F\s|--form|-X\s*(POST|PUT))"
    r"|\bwget\b.*--(post|body)|\b(scp|sftp|ftp|rsync)\b.*\S+:|\b(nc|ncat|netcat|socat)\b"
)
_SYSTEM_WRITE = re.compile(
    r"(>>?|\btee\b(\s+-a)?|\bcp\b|\bmv\b|\bln\b|\binstall\b|\bchmod\b|\bchown\b|\bsed\s+-i\b|"
    r"\bdd\b[^|]*\bof=)\s*\S*\s*/(etc|usr|bin|sbin|boot|lib|lib64|opt|var|sys|proc|root|System|Library)\b"
    r"|\bdd\b[^|]*of=/dev/|\bmkfs|\bshutdown\b|\breboot\b|\bsystemctl\b|\bcrontab\b|\blaunchctl\b"
    r"|\bdiskutil\s+(erase|partition|unmount|zero)|\bcsrutil\b|\bspctl\b|\bdefaults\s+write\b|\bnvram\b"
)
_DELETE_CMDS = {"rm", "rmdir", "shred", "unlink", "srm", "trash", "trash-put"}

# -- PowerShell and cmd --
_PS_PRIVILEGE = re.compile(
    r"-Verb\s+['\"]?RunAs\b|\brunas(\.exe)?\s|(^|[;&|(]\s*|\s)(sudo|gsudo)(\s|$)|\bSet-ExecutionPolicy\b"
    r"|\bAdd-LocalGroupMember\b|\bnet\s+(user|localgroup)\b",
    re.I,
)
_PS_INSTALL = re.compile(
    r"\b(winget|choco|scoop)(\.exe)?\s+(install|uninstall|upgrade|remove)\b|\bInstall-(Module|Package|Script)\b"
    r"|\b(Uninstall-Package|Add-AppxPackage|Remove-AppxPackage)\b|\bmsiexec\b|\bpip3?\s+(install|uninstall)\b"
    r"|\bnpm\s+(i|install)\s+(-g|--global)|\bAdd-WindowsCapability\b|\bEnable-WindowsOptionalFeature\b"
    r"|\b(iex|Invoke-Expression)\b.*\b(iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|curl|wget)\b"
    r"|\b(iwr|irm|Invoke-WebRequest|Invoke-RestMethod|curl|wget)\b[^|]*\|\s*(iex|Invoke-Expression)\b",
    re.I,
)
_PS_UPLOAD = re.compile(
    r"\b(Invoke-WebRequest|Invoke-RestMethod|iwr|irm)\b.*(-Method\s+['\"]?(Post|Put|Patch)|-InFile\b|-Body\b)"
    r"|\bcurl(\.exe)?\b.*(\s-T\s|--upload-file|\s-d\s|--data|\s-F\s|--form|-X\s*(POST|PUT))"
    r"|\bSend-MailMessage\b|\bStart-BitsTransfer\b.*-Upload|\b(scp|sftp|ftp)(\.exe)?\b"
    r"|\bNew-Object\s+(System\.)?Net\.(WebClient|Sockets)|\.Upload(File|String|Data)\b",
    re.I,
)
_PS_SYSTEM = re.compile(
    r"\b(Format-Volume|Clear-Disk|Initialize-Disk|Remove-Partition|Set-Partition|New-Partition)\b"
    r"|\bdiskpart\b|\bformat(\.com)?\s+[a-z]:|\bbcdedit\b|\bvssadmin\b|\bwbadmin\b|\bcipher\s+/w\b"
    r"|\breg(\.exe)?\s+(add|delete|import|load|unload|restore|copy)\b"
    r"|\b(Set|New|Remove|Rename)-Item(Property)?\b[^;|]*\b(HKLM|HKCU|HKCR|HKU|Registry)::?"
    r"|\b(Stop-Computer|Restart-Computer)\b|\bshutdown(\.exe)?\s+/[srlph]\b"
    r"|\b(Set|Stop|New|Remove)-Service\b|\bsc(\.exe)?\s+(config|delete|create|stop)\b"
    r"|\bschtasks(\.exe)?\s+/(create|delete|change)\b|\b(Register|Unregister|Set)-ScheduledTask\b"
    r"|\bSet-MpPreference\b|\bAdd-MpPreference\b|\bnetsh\b|\b(Disable|Enable)-(NetAdapter|WindowsOptionalFeature)\b"
    r"|\b(icacls|takeown|cacls)(\.exe)?\b|\bSet-Acl\b|\bStop-Process\b[^;|]*\b(-Name\s+)?['\"]?(lsass|csrss|winlogon|explorer)\b"
    r"|[a-z]:\\(windows|program files( \(x86\))?|programdata)\\",
    re.I,
)
_PS_DELETE = re.compile(r"^(remove-item|ri|rm|rmdir|rd|del|erase|clear-content|clc)$", re.I)
_PS_SEPARATORS = {";", "&&", "||", "|", "&"}


def risk_reason(
    command: str, workdir: str, protected_paths: Iterable[str] = (), dialect: Dialect = "posix"
) -> str | None:
    """Why a person must approve this command first, or None."""
    for path in protected_paths:
        if path and str(path) in command:
            return f"touches Deskhand's own data ({path})"
    # The task's own scratch directory is named deskhand-cli-…: its path is not Deskhand's data.
    if _OWN_DATA.search(command.replace(workdir, "") if workdir else command):
        return "touches Deskhand's own data or tokens"
    rules, deletes_outside = _DIALECTS[dialect]
    for pattern, reason in rules:
        if pattern.search(command):
            return reason
    if deletes_outside(command, workdir):
        return "deletes files outside the task's scratch directory"
    return None


def _posix_deletes_outside(command: str, workdir: str) -> bool:
    try:
        tokens = shlex.split(command, posix=True)
    except ValueError:
        return bool(re.search(r"\b(rm|shred|rmdir)\b", command))
    if "-delete" in tokens and tokens and "find" in tokens:
        return True  # find … -delete: the match set is not visible from here
    root = Path(workdir).resolve()
    in_delete = False
    for token in tokens:
        if token in (";", "&&", "||", "|"):
            in_delete = False
            continue
        base = os.path.basename(token)
        if base in _DELETE_CMDS:
            in_delete = True
            continue
        if in_delete and not token.startswith("-"):
            if token.startswith(("~", "$")):
                return True  # home or a variable: not provably inside the scratch dir
            target = (root / token).resolve()
            if target == root or root not in target.parents:
                return True
    return False


def powershell_tokens(command: str) -> list[str]:
    """Words of a PowerShell/cmd command line, quotes removed, separators as their own tokens.
    Approximate (no full parser), and any doubt ends up asking a person."""
    tokens = re.findall(r"'[^']*'|\"[^\"]*\"|&&|\|\||[;|&(){}]|[^\s;|&(){}]+", command)
    return [t[1:-1] if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"" else t for t in tokens]


def _powershell_deletes_outside(command: str, workdir: str) -> bool:
    """Remove-Item/del/rd… with a target outside the scratch dir, a variable, a wildcard root, or a
    pipeline feeding it (Get-ChildItem … | Remove-Item: the set is not visible from here)."""
    tokens = powershell_tokens(command)
    root = PureWindowsPath(workdir)
    in_delete = False
    for index, token in enumerate(tokens):
        if token in _PS_SEPARATORS or token in "(){}":
            in_delete = False
            continue
        if _PS_DELETE.match(token):
            in_delete = True
            if index > 0 and tokens[index - 1] == "|":
                return True
            continue
        if not in_delete or token.startswith(("-", "/")):
            continue
        if token.startswith(("$", "~", "%", "\\\\")) or token.lower().startswith(("env:", "hk")):
            return True
        if not _inside(root, token):
            return True
    return False


def _inside(root: PureWindowsPath, token: str) -> bool:
    target = PureWindowsPath(token)
    if not target.is_absolute() and not target.drive:
        target = root / target
    parts: list[str] = []
    for part in target.parts[1:]:
        if part == "..":
            if not parts:
                return False
            parts.pop()
        elif part not in (".", ""):
            parts.append(part.lower())
    root_parts = [p.lower() for p in root.parts[1:]]
    same_anchor = target.anchor.lower() == root.anchor.lower()
    return same_anchor and len(parts) > len(root_parts) and parts[: len(root_parts)] == root_parts


_DIALECTS: dict[Dialect, tuple[list[tuple[re.Pattern[str], str]], Callable[[str, str], bool]]] = {
    "posix": (
        [
            (_PRIVILEGE, "runs with elevated privileges"),
            (_INSTALL, "installs or removes software"),
            (_UPLOAD, "sends data over the network"),
            (_SYSTEM_WRITE, "changes system files or system state"),
        ],
        _posix_deletes_outside,
    ),
    "powershell": (
        [
            (_PS_PRIVILEGE, "runs with elevated privileges or changes the execution policy"),
            (_PS_INSTALL, "installs or removes software, or runs code downloaded from the internet"),
            (_PS_UPLOAD, "sends data over the network"),
            (_PS_SYSTEM, "changes system files, the registry, disks or system state"),
        ],
        _powershell_deletes_outside,
    ),
}
