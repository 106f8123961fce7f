"""cmd.exe's string tricks, emulated on text: what a ``cmd /c`` line would finally run.

The emulation covers what obfuscators use: caret escapes, ``set VAR=value`` chains (``&``, ``&&``,
``||``), ``%VAR%`` expansion with substrings (``%VAR:~start,length%``, negative values included) and
replacements (``%VAR:old=new%``, ``%VAR:*old=new%``), delayed expansion (``!VAR!`` under ``/V:ON``),
``call`` (one more expansion pass), simple ``for`` loops over a list that build a string, and the
default Windows environment, from which single characters are taken (``%COMSPEC:~-7,1%``). Nothing runs:
``set`` only changes the emulator's own table, and the result is the text of the commands that remain.
"""

from __future__ import annotations

import re
from typing import Final

from shellwatch.decode.model import Budget, Decoder, Step

ENVIRONMENT: Final[dict[str, str]] = {
    name.lower(): value
    for name, value in {
        "ALLUSERSPROFILE": r"C:\ProgramData",
        "APPDATA": r"C:\Users\user\AppData\Roaming",
        "CommonProgramFiles": r"C:\Program Files\Common Files",
        "CommonProgramFiles(x86)": r"C:\Program Files (x86)\Common Files",
        "CommonProgramW6432": r"C:\Program Files\Common Files",
        "COMPUTERNAME": "DESKTOP",
        "ComSpec": r"C:\WINDOWS\system32\cmd.exe",
        "DriverData": r"C:\Windows\System32\Drivers\DriverData",
        "HOMEDRIVE": "C:",
        "HOMEPATH": r"\Users\user",
        "LOCALAPPDATA": r"C:\Users\user\AppData\Local",
        "NUMBER_OF_PROCESSORS": "4",
        "OS": "Windows_NT",
        "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "ProgramData": r"C:\ProgramData",
        "ProgramFiles": r"C:\Program Files",
        "ProgramFiles(x86)": r"C:\Program Files (x86)",
        "ProgramW6432": r"C:\Program Files",
        "PSModulePath": r"C:\Program Files\WindowsPowerShell\Modules;"
        r"C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules",
        "PUBLIC": r"C:\Users\Public",
        "SystemDrive": "C:",
        "SystemRoot": r"C:\WINDOWS",
        "TEMP": r"C:\Users\user\AppData\Local\Temp",
        "TMP": r"C:\Users\user\AppData\Local\Temp",
        "USERDOMAIN": "DESKTOP",
        "USERNAME": "user",
        "USERPROFILE": r"C:\Users\user",
        "windir": r"C:\WINDOWS",
    }.items()
}

_PERCENT: Final = re.compile(r"%([^%\s:=]+(?:\s[^%\s:=]+)*)(?::(~[^%]*|\*?[^%=]*=[^%]*))?%")
_BANG: Final = re.compile(r"!([^!\s:=]+)(?::(~[^!]*|\*?[^!=]*=[^!]*))?!")
_CMD_WRAPPER: Final = re.compile(
    r"^[\s;,@]*(?:[^\s;,]*?c\^?m\^?d(?:\.exe)?\"?)[\s;,]*((?:/[a-z](?::\w*)?[\s;,]*)*)/[crk][\s;,]*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_SET: Final = re.compile(r"^[\s;,@]*set[\s;,]+(?!/[ap]\b)(\"?)([^=\"]+?)=(.*)$", re.IGNORECASE | re.DOTALL)
_IF: Final = re.compile(
    r"^\s*if\s+(/i\s+)?(not\s+)?(\S+?)\s*(==|\s(?:equ|neq|lss|leq|gtr|geq)\s)\s*(\S+)\s+(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_FOR_F: Final = re.compile(
    r"^[\s;,@]*for[\s;,]+/f[\s;,]+\"([^\"]*)\"[\s;,]*%+(\w)[\s;,]+in[\s;,]*\([\s;,]*'([^']*)'[\s;,]*\)"
    r"[\s;,]*do[\s;,]*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CALL: Final = re.compile(r"^[\s;,@]*call[\s;,]+(.*)$", re.IGNORECASE | re.DOTALL)
_FOR: Final = re.compile(
    r"^[\s;,@]*for[\s;,]+(?:/[lL][\s;,]+)?%+(\w)[\s;,]+in[\s;,]*\(([^)]*)\)[\s;,]*do[\s;,]*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_LOOP_VARIABLE: Final = re.compile(r"%+(\w)")
_FOR_HEAD: Final = re.compile(r"^[\s;,@]*for\b.*\bdo\b", re.IGNORECASE | re.DOTALL)
_MARKERS: Final = re.compile(r"\^|%[^%\s]+%|![^!\s]+!|\bset\s|\bcall\s|\bfor\s", re.IGNORECASE)


def _substring(value: str, spec: str) -> str:
    parts = spec[1:].split(",", 1)
    try:
        start = int(parts[0] or 0)
        length = int(parts[1]) if len(parts) > 1 and parts[1].strip() else None
    except ValueError:
        return value
    size = len(value)
    if start < 0:
        start = max(0, size + start)
    start = min(start, size)
    if length is None:
        return value[start:]
    end = size + length if length < 0 else start + length
    return value[start : max(start, min(end, size))]


def _replacement(value: str, spec: str) -> str:
    old, _, new = spec.partition("=")
    if old.startswith("*"):
        index = value.lower().find(old[1:].lower())
        return value if index < 0 else new + value[index + len(old) - 1 :]
    if not old:
        return value
    return re.sub(re.escape(old), lambda _: new, value, flags=re.IGNORECASE)


class _Shell:
    """One emulated cmd.exe: its variables and what it runs."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.env: dict[str, str] = dict(ENVIRONMENT)
        self.delayed = False
        self.ran: list[str] = []
        self.tricks: set[str] = set()

    def expand(self, text: str, pattern: re.Pattern[str]) -> str:
        def one(match: re.Match[str]) -> str:
            self.budget.tick()
            value = self.env.get(match.group(1).lower())
            if value is None:
                return match.group()
            spec = match.group(2)
            if spec:
                self.tricks.add("cmd-substring" if spec.startswith("~") else "cmd-replace")
                value = _substring(value, spec) if spec.startswith("~") else _replacement(value, spec)
            if spec or match.group(1).lower() not in ENVIRONMENT:
                self.tricks.add("cmd-variables")
            return value

        result = pattern.sub(one, text)
        self.budget.room(len(result))
        return result

    def run_line(self, line: str, depth: int = 0) -> None:
        line = self.expand(line, _PERCENT)
        for statement in _split(line, self.budget):
            self.run(statement, depth)

    def run(self, statement: str, depth: int) -> None:
        self.budget.tick()
        plain = _unescape(statement).lstrip()
        # A loop's variables are substituted before delayed expansion, per iteration.
        reading = _FOR_F.match(plain)
        if reading is not None:
            self._for_f(reading, depth)
            return
        loop = _FOR.match(plain)
        if loop is not None:
            self._for(loop, depth)
            return
        if self.delayed:
            statement = self.expand(statement, _BANG)
        text = _unescape(statement).lstrip()
        if text.startswith("(") and text.rstrip().endswith(")"):
            text = text.rstrip()[1:-1]
        if not text.strip():
            return
        wrapper = _CMD_WRAPPER.match(text)
        if wrapper is not None and depth < 4:
            self.tricks.add("cmd-nested")
            if re.search(r"/v(?::on)?\b", wrapper.group(1), re.IGNORECASE):
                self.delayed = True
            self.run_line(_strip_quotes(wrapper.group(2)), depth + 1)
            return
        setting = _SET.match(text)
        if setting is not None:
            value = setting.group(3)
            if setting.group(1):
                value = value[: value.rfind('"')] if '"' in value else value
            self.env[setting.group(2).strip().lower()] = value
            self.tricks.add("cmd-set")
            return
        condition = _IF.match(text)
        if condition is not None:
            if _holds(condition):
                self.run(condition.group(6), depth + 1)
            return
        calling = _CALL.match(text)
        if calling is not None:
            self.tricks.add("cmd-call")
            self.run_line(calling.group(1), depth + 1)
            return
        self.ran.append(" ".join(text.split()))

    def _for(self, loop: re.Match[str], depth: int) -> None:
        self.tricks.add("cmd-for-loop")
        variable, items, body = loop.group(1), loop.group(2), loop.group(3)
        values = [item for item in re.split(r"[\s,;]+", items.strip()) if item]
        if re.match(r"\s*for\s+/l", loop.group(), re.IGNORECASE) and len(values) == 3:
            try:
                start, step, end = (int(value) for value in values)
            except ValueError:
                return
            if step == 0:
                return
            values = [str(number) for number in range(start, end + (1 if step > 0 else -1), step)]
        for value in values:
            self.budget.tick(len(body) // 16 + 1)
            for statement in _split(_substitute(body, variable, value), self.budget):
                self.run(statement, depth + 1)

    def _for_f(self, loop: re.Match[str], depth: int) -> None:
        """``for /f`` over the output of ``assoc`` or ``ftype`` (obfuscators take "cmd" out of it)."""
        self.tricks.add("cmd-for-loop")
        options, variable, command, body = loop.groups()
        lines = _command_output(_unescape(command))
        if lines is None:
            return
        delims = re.search(r"delims=(.*?)(?:\s+\w+=\s*|\s*$)", options, re.IGNORECASE)
        tokens = re.search(r"tokens=\s*(\d+)", options, re.IGNORECASE)
        separators = delims.group(1) if delims is not None else " \t"
        index = int(tokens.group(1)) if tokens is not None else 1
        for line in lines:
            self.budget.tick()
            fields = (
                [field for field in re.split(f"[{re.escape(separators)}]", line) if field]
                if separators
                else [line]
            )
            if len(fields) >= index:
                for statement in _split(_substitute(body, variable, fields[index - 1]), self.budget):
                    self.run(statement, depth + 1)


_ASSOC: Final = (
    ".bat=batfile",
    ".cmd=cmdfile",
    ".com=comfile",
    ".exe=exefile",
    ".js=JSFile",
    ".ps1=Microsoft.PowerShellScript.1",
    ".txt=txtfile",
    ".vbs=VBSFile",
)
_FTYPE: Final = (
    'batfile="%1" %*',
    'cmdfile="%1" %*',
    'comfile="%1" %*',
    'exefile="%1" %*',
    r"JSFile=%SystemRoot%\System32\WScript.exe \"%1\" %*",
    r"VBSFile=%SystemRoot%\System32\WScript.exe \"%1\" %*",
)


def _substitute(body: str, variable: str, value: str) -> str:
    """``body`` with the loop variable (``%i`` or ``%%i``) replaced by ``value``."""
    folded = variable.lower()
    return _LOOP_VARIABLE.sub(
        lambda match: value if match.group(1).lower() == folded else match.group(), body
    )


def _command_output(command: str) -> list[str] | None:
    """The lines ``assoc`` or ``ftype`` print on a default Windows, filtered by ``find``/``findstr``."""
    stages = [" ".join(re.split(r"[\s;,]+", stage)).strip() for stage in command.split("|")]
    words = stages[0].split()
    name = words[0].lower().removesuffix(".exe") if words else ""
    listing = {"assoc": _ASSOC, "ftype": _FTYPE}.get(name)
    if listing is None:
        return None
    lines = list(listing)
    if len(words) > 1:  # assoc .cmd: that one association
        key = words[1].lower()
        lines = [line for line in lines if line.lower().split("=", 1)[0] == key]
    for stage in stages[1:]:
        words = stage.split(None, 1)
        if not words or words[0].lower().removesuffix(".exe") not in ("find", "findstr") or len(words) < 2:
            return None
        needle = words[1].strip().strip('"')
        lines = [line for line in lines if needle.lower() in line.lower()]
    return lines


def _holds(condition: re.Match[str]) -> bool:
    fold, negate, left, operator, right = (condition.group(index) for index in range(1, 6))
    operator = operator.strip().lower()
    if operator == "==":
        same = left.lower() == right.lower() if fold else left == right
        result = same
    else:
        try:
            a, b = int(left), int(right)
        except ValueError:
            a, b = left, right  # type: ignore[assignment]
        result = {
            "equ": a == b,
            "neq": a != b,
            "lss": a < b,
            "leq": a <= b,
            "gtr": a > b,
            "geq": a >= b,
        }[operator]
    return result != bool(negate)


def _unescape(text: str) -> str:
    out: list[str] = []
    index, quoted = 0, False
    while index < len(text):
        char = text[index]
        if char == '"':
            quoted = not quoted
        elif char == "^" and not quoted and index + 1 < len(text):
            index += 1
            char = text[index]
        out.append(char)
        index += 1
    return "".join(out)


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        end = text.rfind('"')
        return text[1:end] if end > 0 else text[1:]
    return text


def _split(line: str, budget: Budget) -> list[str]:
    """Statements of a line: split on unquoted, unescaped ``&``, ``&&``, ``||`` and ``|`` kept inside."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    depth = 0
    index = 0
    while index < len(line):
        budget.tick()
        char = line[index]
        if char == "^" and index + 1 < len(line):
            current.append(line[index : index + 2])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char in "&|":
            if _FOR_HEAD.match("".join(current)):
                current.append(line[index:])  # a for loop's body runs to the end of the line
                break
            parts.append("".join(current))
            current = []
            index += 2 if line[index : index + 2] in ("&&", "||") else 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def emulate(text: str, budget: Budget) -> Step | None:
    """The commands a cmd.exe line would finally run, when its tricks changed them."""
    if not _MARKERS.search(text):
        return None
    shell = _Shell(budget)
    shell.run_line(text)
    if not shell.tricks or shell.tricks == {"cmd-nested"}:
        return None
    result = " & ".join(shell.ran)
    if not result or result == " ".join(text.split()):
        return None
    tricks = sorted(shell.tricks)
    main = next(
        (
            name
            for name in ("cmd-for-loop", "cmd-substring", "cmd-replace", "cmd-variables")
            if name in tricks
        ),
        tricks[0],
    )
    return Step(main, result, ", ".join(tricks))


def carets(text: str, budget: Budget) -> Step | None:
    """Carets between letters (``n^e^t``), which cmd.exe drops."""
    if "^" not in text:
        return None
    budget.tick(len(text) // 32 + 1)
    result = re.sub(r"\^(?=[^\s&|<>^])", "", text)
    return Step("cmd-caret", result) if result != text else None


STEPS: Final[tuple[Decoder, ...]] = (emulate, carets)
