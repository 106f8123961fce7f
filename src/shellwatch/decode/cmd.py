"""cmd.exe's string tricks, emulated on text: what a ``cmd /c`` line would finally run.

The emulation reads a line as cmd.exe does in command-line mode (``_cmd_parse``) and runs the tree on
text (``_cmd_run``): caret escapes, ``set`` chains, ``%VAR%`` with substrings (``%VAR:~start,length%``,
signs and spaces included) and replacements (``%VAR:old=new%``, ``%VAR:*old=new%``), delayed expansion
(``!VAR!`` under ``/V``), ``call`` (one more expansion pass), ``for`` over lists, ``for /L`` counters and
``for /f`` over the output of ``set``, ``assoc`` and ``ftype`` filtered by ``find``/``findstr``, ``if``,
nested ``cmd`` and pipes into ``cmd`` or ``powershell``, with the default Windows environment from which
single characters are taken (``%COMSPEC:~-7,1%``). Nothing runs: ``set`` only changes the emulator's own
table, and the result is the text of the commands that remain.
"""

from __future__ import annotations

import re
from typing import Final

from shellwatch.decode._cmd_parse import Unsupported
from shellwatch.decode._cmd_run import Context, Record, new_shell
from shellwatch.decode.model import Budget, Decoder, Step

_MARKERS: Final = re.compile(r"\^|%[^%\s]+%|![^!\s]+!|\bset\b|\bcall\b|\bfor\b|/[vV]\b|/[vV]:", re.IGNORECASE)
_HIDING: Final = frozenset({"cmd-substring", "cmd-replace", "cmd-variables", "cmd-listing", "cmd-stdin"})
"""What hides a command; expanding a stock variable, a loop running commands, a nested cmd do not."""
MAX_LINE: Final = 8191
"""cmd.exe reads at most 8,191 characters of a line: a longer text (a PowerShell script block) is not one."""
_MAIN: Final = (
    "cmd-for-loop",
    "cmd-listing",
    "cmd-delayed",
    "cmd-substring",
    "cmd-replace",
    "cmd-call",
    "cmd-variables",
    "cmd-stdin",
)


def emulate(text: str, budget: Budget) -> Step | None:
    """The commands a cmd.exe line would finally run, when its tricks changed them."""
    if len(text) > MAX_LINE or not _MARKERS.search(text):
        return None
    record = Record()
    try:
        new_shell(budget, record).run_process(text, Context())
    except (Unsupported, RecursionError, ValueError, IndexError):
        return None
    result = record.text()
    if not result or not record.tricks & _HIDING or " ".join(result.split()) == " ".join(text.split()):
        return None
    tricks = sorted(record.tricks)
    main = next((name for name in _MAIN if name in record.tricks), tricks[0])
    budget.room(len(result))
    return Step(main, result, ", ".join(tricks))


def carets(text: str, budget: Budget) -> Step | None:
    """Carets between letters (``n^e^t``), which cmd.exe drops."""
    if "^" not in text:
        return None
    budget.tick(len(text) // 32 + 1)
    result = re.sub(r"\^(?=[^\s&|<>^])", "", text)
    return Step("cmd-caret", result) if result != text else None


_WORD: Final = r"[\w.\\/-]"
_INNER: Final = r"[\w.-]"
# a quote escaped by a backslash (``\"``) is a literal quote for the program, not one cmd.exe drops
_GLUED_QUOTES: Final = re.compile(
    rf'(?<={_WORD})(?<!\\)""(?={_WORD})|(?<={_WORD})(?<!\\)"({_INNER}+)"|(?<!\\)"({_INNER}+)"(?={_WORD})'
)


def quotes(text: str, budget: Budget) -> Step | None:
    """Quotes inside a word (``w"h"o""ami``): cmd.exe and the programs it starts drop them."""
    if '"' not in text:
        return None
    budget.tick(len(text) // 32 + 1)
    result = _GLUED_QUOTES.sub(lambda match: match[1] or match[2] or "", text)
    return Step("cmd-quotes", result) if result != text else None


STEPS: Final[tuple[Decoder, ...]] = (emulate, carets, quotes)
