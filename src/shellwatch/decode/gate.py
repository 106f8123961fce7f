"""The cheap check run on every command line: does anything in it look encoded or obfuscated?

Decoding costs far more than this one search, so it only runs when the search finds a marker: a long
base64 or hex run, escapes (``\\x41``, ``$'``, ``%41``, ``&#65;``), shell variable tricks (``${``,
``$IFS``, ``%VAR:~``, ``!VAR!``, carets between letters, quotes inside words), PowerShell's encoded
command, string building and invocation idioms, or the text utilities used to unwrap payloads (``base64
-d``, ``xxd -r``, ``rev``, ``printf``, ``eval``). A false alarm only costs a decode that finds nothing.
"""

from __future__ import annotations

import re
from typing import Final

_MARKERS: Final = re.compile(
    r"""
      [A-Za-z0-9+/]{32,}={0,2}                       # base64
    | [A-Za-z0-9_-]{48,}                              # base64url
    | (?:[0-9a-fA-F]{2}){16,}                         # hex
    | \\(?:x[0-9a-fA-F]{2}|[0-7]{3}|u[0-9a-fA-F]{4})   # escapes
    | \$'                                             # ANSI-C quoting
    | \$\{ | \$IFS | \$@ | \$\*                       # parameter expansion tricks
    | %[0-9a-fA-F]{2}[^%\s]*%[0-9a-fA-F]{2}           # URL escapes
    | &\#x?[0-9a-fA-F]+;                              # HTML entities
    | \w\^+\w                                         # cmd carets
    | %[\w()\s]+:[~*]? [^%\s]*[,=] [^%\s]*%           # cmd substring / replacement
    | ![\w]+(?::[^!\s]*)?!                            # delayed expansion
    | \bset\s+/?\w*\s*\w+=                            # cmd set
    | \bfor\s+/[lf]\b                                 # cmd for loops
    | \w["']\w*["']\w                                # quotes inside a word
    | (?:^|\s)[a-z]+(?:\\[a-z]+)+(?=\s|$|[;|&])        # backslashes inside a word (not a path)
    | [\s/][-/\u2013\u2014\u2015]e(?:nc?\w*|c)?\s+[A-Za-z0-9+/]{8}  # PowerShell -EncodedCommand
    | frombase64 | \[char\] | -join\b | -f\s*['"] | \biex\b | invoke-expression | -replace\b
    | scriptblock | \]::create | gzipstream | deflatestream | \.replace\(
    | ['"]\s*\+\s*['"]                                # string concatenation
    | `[a-zA-Z]                                       # PowerShell backtick inside a word
    | \b(?:printf|rev|xxd|eval|base64|openssl\s+enc|gunzip|zcat)\b
    | \|\s*(?:ba|z|da|k)?sh\b                          # something piped to a shell
    """,
    re.IGNORECASE | re.VERBOSE,
)


def looks_encoded(text: str) -> bool:
    """Whether ``text`` has any marker of encoding or obfuscation (see the module docstring)."""
    return _MARKERS.search(text) is not None
