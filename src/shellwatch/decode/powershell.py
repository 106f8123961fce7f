"""PowerShell obfuscation peeled by rules: each step folds one kind of construct into its value.

* ``powershell-encodedcommand``: ``-EncodedCommand`` and every abbreviation PowerShell accepts (``-e``,
  ``-ec``, ``-en`` ... ``-encodedcommand``, any case, with ``-``, ``/`` or a typographic dash) followed by
  UTF-16LE base64 becomes ``-Command <decoded>``;
* ``powershell-backtick``: escapes inside words (``I`nv`oke``) dropped;
* ``powershell-char``: ``[char]73``, ``[char[]](73,69)``, ``-as [char]``, and lists of codes decoded
  through ``ForEach-Object`` (``[Convert]::ToInt16($_,16)``, ``-bxor``);
* ``powershell-concat``: ``'I'+'EX'`` (strings cut mid-word or in small pieces: plain code that adds two
  sentences is left alone);
* ``powershell-format``: ``'{1}{0}' -f 'X','IE'``;
* ``powershell-replace``: ``-replace``, ``-creplace``, ``.Replace()`` with plain strings;
* ``powershell-join``: ``-join``, ``[string]::Join``; ``powershell-reverse`` when what is joined was
  turned round (``'..'[-1..-n]``, ``$x[-1..-($x.Length)]``, ``[array]::Reverse``);
* ``powershell-frombase64``: ``[Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('..'))``;
* ``powershell-compressed``: ``GzipStream`` / ``DeflateStream`` over ``FromBase64String`` read to the end
  (Metasploit's and Invoke-Obfuscation's stagers), within the budget's output limit;
* ``powershell-scriptblock``: ``[ScriptBlock]::Create('..')`` becomes ``{..}``, or the code itself when
  it is invoked at once (``&``, ``.Invoke()``, ``Invoke-Command``);
* ``powershell-iex``: ``iex 'code'``, ``Invoke-Expression``, ``'code' | iex``, ``&('iex') 'code'`` and
  the spellings of ``iex`` built from ``$PSHome``, ``$ShellId``, ``$env:ComSpec``, ``$env:Public``,
  ``$VerbosePreference`` and ``(Get-Variable '*mdr*').Name``: the code becomes the command;
* ``powershell-case``: randomly cased well-known names (``iNVoKe-eXPreSSion``) written as usual; strings
  are never touched.

A folded value is written back as a single-quoted string, or an array of them. Variables assigned once to
a constant are followed (``$a='I'; $b='EX'; &($a+$b)``).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from dataclasses import dataclass
from typing import Final

from shellwatch.decode._ps_eval import CommandRef, Evaluator, ScriptBlock, Value, to_text
from shellwatch.decode._ps_lex import Token, quote
from shellwatch.decode._ps_names import CANONICAL, COMMANDS, OPERATORS
from shellwatch.decode._ps_parse import Node, parse, walk
from shellwatch.decode.encodings import printable
from shellwatch.decode.model import Budget, Decoder, Limits, Step

_ENCODED: Final = re.compile(
    r"(?<![\w-])[-/\u2013\u2014\u2015]{1,2}"
    r"(?:e(?:c|n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?)"
    r"(?P<space>\s+)(?P<quote>['\"]?)(?P<payload>[A-Za-z0-9+/]{8,}={0,2})(?P=quote)(?![A-Za-z0-9+/=])",
    re.IGNORECASE,
)
_MARKERS: Final = {
    "backtick": re.compile(r"\w`\w|`[A-Za-z]"),
    "char": re.compile(r"\[\s*char|-as\s*\[|%\s*\{|foreach", re.IGNORECASE),
    "concat": re.compile(r"\+"),
    "format": re.compile(r"[-\u2013\u2014\u2015]f\b", re.IGNORECASE),
    "replace": re.compile(r"replace", re.IGNORECASE),
    "join": re.compile(r"join", re.IGNORECASE),
    "frombase64": re.compile(r"getstring|readtoend", re.IGNORECASE),
    "compressed": re.compile(r"(?:gzip|deflate)stream", re.IGNORECASE),
    "scriptblock": re.compile(r"scriptblock\s*\]\s*::\s*create", re.IGNORECASE),
    "iex": re.compile(r"iex|invoke-expression|[&.]\s*\(|\|\s*[&.]", re.IGNORECASE),
}
_MARKERS["reverse"] = _MARKERS["join"]
_FAMILIES: Final = {
    "reverse": frozenset({"join"}),
    "frombase64": frozenset({"frombase64", "compressed"}),
    "iex": frozenset({"invoke"}),
    "scriptblock": frozenset({"invoke", "scriptblock"}),
}
_ALSO_FOLDS: Final = {"invoke": frozenset({"scriptblock"}), "compressed": frozenset({"frombase64"})}
_IEX: Final = frozenset({"iex", "invoke-expression"})
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POWERSHELL_TEXT: Final = re.compile(
    r"powershell|pwsh|\$env:|\[char\]|-join\b|\biex\b|invoke-|new-object|\.ps1\b|::", re.IGNORECASE
)
_SHORT_PIECES: Final = 4
_NOUNS: Final = {
    "char": "character conversions",
    "concat": "concatenations",
    "format": "format operations",
    "replace": "replacements",
    "join": "joins",
    "reverse": "reversals",
    "frombase64": "base64 decodings",
    "compressed": "decompressions",
    "scriptblock": "script blocks",
    "iex": "invocations unwrapped",
}


@dataclass(slots=True)
class _Fold:
    start: int
    end: int
    text: str
    consumed: tuple[Node, ...] = ()
    evaluator: Evaluator | None = None


@dataclass(slots=True)
class _Candidate:
    node: Node
    decoding: bool
    """It sits inside another construct being decoded."""
    evaluator: Evaluator


@dataclass(slots=True)
class _Analysis:
    text: str
    limits: Limits
    evaluators: list[Evaluator]
    candidates: dict[str, list[_Candidate]]
    """Per family, the nodes made only of that family and plain values, parents first."""
    tokens: list[Token]


def _analysis(text: str, budget: Budget) -> _Analysis:
    """The parse of ``text``, its evaluators and candidates, shared by every step that reads that text
    in this decode (each round runs every step on the same text)."""
    found = budget.memo.get("powershell")
    if not isinstance(found, _Analysis) or found.text != text:
        tree = parse(text, budget)
        trees = [tree, *tree.scripts]
        evaluators = [Evaluator(part, budget, COMMANDS) for part in trees]
        candidates: dict[str, list[_Candidate]] = {}
        for evaluator in evaluators:
            _candidates(evaluator, candidates)
        toks = sorted((token for part in trees for token in part.tokens), key=lambda token: token.start)
        found = _Analysis(text, budget.limits, evaluators, candidates, toks)
        budget.memo["powershell"] = found
    for evaluator in found.evaluators:
        evaluator.budget = budget
    return found


def _candidates(evaluator: Evaluator, found: dict[str, list[_Candidate]]) -> None:
    stack = [(statement, False) for statement in reversed(evaluator.tree.statements)]
    while stack:
        node, decoding = stack.pop()
        evaluator.budget.tick()
        family = node.family
        if family is not None and node.families <= {family} | _ALSO_FOLDS.get(family, frozenset()):
            found.setdefault(family, []).append(_Candidate(node, decoding, evaluator))
        inside = decoding or family is not None
        stack.extend((kid, inside) for kid in reversed(node.kids))


def _fold(text: str, budget: Budget, label: str) -> Step | None:
    """The outermost constructs of ``label`` made of constants, each replaced by its value."""
    if not _MARKERS[label].search(text):
        return None
    analysis = _analysis(text, budget)
    candidates = [
        candidate
        for family in _FAMILIES.get(label, frozenset({label}))
        for candidate in analysis.candidates.get(family, [])
    ]
    candidates.sort(key=lambda candidate: (candidate.node.start, -candidate.node.end))
    folds: list[_Fold] = []
    for candidate in candidates:
        budget.tick()
        if folds and candidate.node.start < folds[-1].end:
            continue
        found = _try(candidate.node, label, candidate.evaluator, candidate.decoding)
        if found is not None:
            folds.append(found)
    return _apply(text, folds, budget, label)


def _try(node: Node, label: str, evaluator: Evaluator, decoding: bool) -> _Fold | None:
    """The fold of ``node`` as ``label``; ``decoding``: it sits inside another construct being decoded."""
    if node.family == "invoke":
        return _unwrap(node, label, evaluator)
    if label == "concat" and not decoding and not _obfuscated_concat(node, evaluator):
        return None
    if node.family == "join" and not _joins_array(node, evaluator):
        return None
    if node.family == "join" and (label == "reverse") != _reversal(node, evaluator):
        return None
    if node.family == "compressed" and (label == "compressed") != _inflates(node, evaluator):
        return None
    value = evaluator.value(node)
    if label == "char" and not (_visible(value) and _from_codes(node, evaluator)):
        return None
    rendered = render(value) if value is not None else None
    if rendered is None:
        return None
    evaluator.budget.room(len(rendered))
    consumed = tuple(kid for kid in walk(node) if kid.kind == "var") if node.family == "compressed" else ()
    return _Fold(node.start, node.end, rendered, consumed, evaluator)


def _from_codes(node: Node, evaluator: Evaluator) -> bool:
    """Characters made from codes, not a string split into its characters or a list of other strings."""
    if node.kind == "pipe":
        value = evaluator.value(node)
        source = evaluator.value(node.kids[0])
        given = tuple(to_text(item) for item in source) if isinstance(source, tuple) else (to_text(source),)
        chars = isinstance(value, tuple) and all(isinstance(item, str) and len(item) == 1 for item in value)
        return chars and value != given
    source = evaluator.value(node.kids[0])
    items = source if isinstance(source, tuple) else (source,)
    return any(isinstance(item, int) for item in items)


def _visible(value: Value | None) -> bool:
    """Text, not control characters alone: ``[char]13+[char]10`` in plain code is clearer as it is."""
    items = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(item, str) for item in items):
        return False
    text = "".join(item for item in items if isinstance(item, str))
    return all(char >= " " for char in text) if len(text) <= 2 else printable(text)


def render(value: Value) -> str | None:
    """A value written as PowerShell: a single-quoted string, a number, an array, a script block."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, ScriptBlock):
        return "{" + value.text + "}"
    if isinstance(value, tuple):
        items = [render(item) for item in value]
        if None in items:
            return None
        return "(" + ",".join(item for item in items if item is not None) + ")" if items else "@()"
    return None


def _obfuscated_concat(node: Node, evaluator: Evaluator) -> bool:
    """Strings cut mid-word or into small pieces, or pieces computed (indexed, cast): obfuscation.

    A variable counts as its value, so ``$dir + '\\tool.exe'`` in plain code stays as it is.
    """
    pieces = [evaluator.value(kid) for kid in node.kids]
    if any(kid.kind not in ("lit", "paren", "var") for kid in node.kids):
        return True
    texts = [to_text(piece) for piece in pieces]
    if None in texts:
        return True
    words = [text for text in texts if text is not None]
    if len(words) >= 3 and sum(len(word) for word in words) <= _SHORT_PIECES * len(words):
        return True
    return any(
        left and right and _word_char(left[-1]) and _word_char(right[0])
        for left, right in itertools.pairwise(words)
    )


def _word_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


def _joins_array(node: Node, evaluator: Evaluator) -> bool:
    """Joining a single string gives it back: nothing to decode there."""
    if node.kind == "static":
        return len(node.kids) > 2 or (
            len(node.kids) == 2 and isinstance(evaluator.value(node.kids[1]), tuple)
        )
    return isinstance(evaluator.value(node.kids[0]), tuple)


def _reversal(node: Node, evaluator: Evaluator) -> bool:
    operand = node.kids[0] if node.kind != "static" else node.kids[-1]
    while operand.kind == "paren" and len(operand.kids) == 1:
        operand = operand.kids[0]
    if operand.kind == "var":
        return evaluator.reversed_before(operand)
    if operand.kind != "index" or len(operand.kids) != 2:
        return False
    positions = evaluator.value(operand.kids[1])
    return isinstance(positions, tuple) and len(positions) > 1 and positions[0] == -1 and positions[-1] != -1


def _inflates(node: Node, evaluator: Evaluator) -> bool:
    return any(
        kid.family == "compressed" and kid.kind in ("command", "static") and kid is not node
        for kid in walk(node)
    ) or node.kind in ("command", "static")


def _unwrap(node: Node, label: str, evaluator: Evaluator) -> _Fold | None:
    """An invocation of a constant string (iex) or of a created script block: the code itself."""
    found = _invoked(node, evaluator)
    if found is None:
        return _renamed(node, label, evaluator)
    if found[0] != label:
        return None
    return _Fold(node.start, node.end, found[1])


def _renamed(node: Node, label: str, evaluator: Evaluator) -> _Fold | None:
    """``&('ie'+'x') $code`` or ``.(gcm *ke-e*)`` on code that is not constant: at least say ``iex``."""
    if label != "iex" or node.kind != "command" or node.name not in ("&", ".") or not node.kids:
        return None
    callee = node.kids[0]
    if callee.kind in ("bare", "param") or not _is_iex(evaluator.value(callee)):
        return None
    return _Fold(node.start, callee.end, "iex")


def _invoked(node: Node, evaluator: Evaluator) -> tuple[str, str] | None:
    if node.kind == "pipe":
        return _piped(node, evaluator)
    if node.kind == "call":
        target = evaluator.value(node.kids[0])
        if node.name == "invoke" and isinstance(target, ScriptBlock) and target.created:
            return "scriptblock", target.text
        return None
    if node.kind != "command":
        return None
    arguments = [kid for kid in node.kids if kid.kind != "param"]
    if node.name in _IEX:
        code = evaluator.value(arguments[0]) if arguments else None
        return ("iex", code) if isinstance(code, str) else None
    if node.name in ("icm", "invoke-command"):
        block = evaluator.value(arguments[0]) if arguments else None
        if isinstance(block, ScriptBlock) and block.created and len(arguments) == 1:
            return "scriptblock", block.text
        return None
    if not arguments or node.name not in ("&", "."):
        return None
    callee = evaluator.value(arguments[0])
    if isinstance(callee, ScriptBlock) and callee.created:
        return "scriptblock", callee.text
    code = evaluator.value(arguments[1]) if len(arguments) == 2 else None
    if _is_iex(callee) and isinstance(code, str):
        return "iex", code
    return None


def _piped(node: Node, evaluator: Evaluator) -> tuple[str, str] | None:
    source, last = node.kids
    code = evaluator.value(source)
    if not isinstance(code, str):
        return None
    arguments = [kid for kid in last.kids if kid.kind != "param"]
    if last.name in _IEX and not arguments:
        return "iex", code
    if last.name in ("&", ".") and len(arguments) == 1 and _is_iex(evaluator.value(arguments[0])):
        return "iex", code
    return None


def _is_iex(value: Value | None) -> bool:
    if isinstance(value, CommandRef):
        return value.name == "invoke-expression"
    return isinstance(value, str) and value.strip().lower() in _IEX


def _apply(text: str, folds: list[_Fold], budget: Budget, label: str) -> Step | None:
    if not folds:
        return None
    folds.sort(key=lambda fold: (fold.start, -fold.end))
    kept: list[_Fold] = []
    for fold in folds:
        if kept and fold.start < kept[-1].end:
            continue
        kept.append(fold)
    deletions = _deletions(text, kept, label)
    pieces: list[str] = []
    last = 0
    size = 0
    for start, end, replacement in sorted(deletions + [(fold.start, fold.end, fold.text) for fold in kept]):
        if start < last:
            continue
        pieces += [text[last:start], replacement]
        size += start - last + len(replacement)
        budget.room(size)
        last = end
    pieces.append(text[last:])
    result = "".join(pieces)
    budget.room(len(result))
    if result == text:
        return None
    return Step(f"powershell-{label}", result, f"{len(kept)} {_NOUNS[label]}")


def _deletions(text: str, folds: list[_Fold], label: str) -> list[tuple[int, int, str]]:
    """The assignments of payload variables that a decompression or decoding used up (used once only)."""
    if label not in ("compressed", "frombase64"):
        return []
    found: list[tuple[int, int, str]] = []
    for fold in folds:
        evaluator = fold.evaluator
        for variable in fold.consumed if evaluator is not None else ():
            binding = evaluator.binding(variable) if evaluator is not None else None
            references = evaluator.tree.references.get(variable.name) if evaluator is not None else None
            if binding is None or binding.assignment is None or references != 1:
                continue
            start, end = binding.assignment.start, binding.assignment.end
            while end < len(text) and text[end] in " \t;":
                end += 1
            found.append((start, end, ""))
    return found


def decode_encoded_command(text: str, budget: Budget) -> Step | None:
    """``-EncodedCommand <UTF-16LE base64>`` (any accepted abbreviation) replaced by ``-Command <code>``."""
    if len(text) < 12 or not any(char in text for char in "-/\u2013\u2014\u2015"):
        return None
    pieces: list[str] = []
    last = 0
    count = 0
    for match in _ENCODED.finditer(text):
        budget.tick(len(match.group()) // 32 + 1)
        code = _utf16_base64(match.group("payload"), budget)
        if code is None:
            continue
        pieces += [text[last : match.start()], "-Command", match.group("space"), code]
        last = match.end()
        count += 1
    if not count:
        return None
    pieces.append(text[last:])
    budget.room(sum(len(piece) for piece in pieces))
    return Step("powershell-encodedcommand", "".join(pieces), f"{count} encoded commands")


def _utf16_base64(payload: str, budget: Budget) -> str | None:
    budget.room(len(payload) * 3 // 8)
    try:
        data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    data = data[: len(data) - len(data) % 2]
    if len(data) < 4 or data[1::2].count(0) < 0.8 * (len(data) // 2):
        return None
    code = data.decode("utf-16-le", errors="replace")
    return code if printable(code) else None


def decode_backticks(text: str, budget: Budget) -> Step | None:
    """Backtick escapes inside words dropped (``I`nv`oke-Ex`pression``); string contents are kept."""
    if "`" not in text or not _MARKERS["backtick"].search(text):
        return None
    powershell = _POWERSHELL_TEXT.search(text) is not None
    pieces: list[str] = []
    last = 0
    count = 0
    previous: Token | None = None
    for token in _analysis(text, budget).tokens:
        member = previous is not None and previous.text in (".", "::") and previous.end == token.start
        previous = token
        if "`" not in token.text or token.kind not in ("word", "dq", "sq"):
            continue
        cleaned = _drop_backticks(token.text) if token.kind == "word" else _member_name(token, member)
        # In a Unix shell `id` runs a command: only PowerShell text, or a PowerShell name, loses them.
        known = token.kind != "word" or any(
            part.lower() in CANONICAL for part in (cleaned, *cleaned.split("."))
        )
        if cleaned != token.text and (powershell or known):
            pieces += [text[last : token.start], cleaned]
            last = token.end
            count += 1
    if not count:
        return None
    pieces.append(text[last:])
    return Step("powershell-backtick", "".join(pieces), f"{count} words")


def _member_name(token: Token, member: bool) -> str:
    """A member named by a quoted string with backticks (``."Down`loadS`tring"``): the bare name."""
    value = token.value
    if member and isinstance(value, str) and _IDENTIFIER.fullmatch(value):
        return value
    return token.text


def _drop_backticks(word: str) -> str:
    # Only a backtick between a letter or digit and a letter goes; `0 `a `b `e `f `n `r `t `u `v are
    # escape sequences even in bare words, so they stay.
    out: list[str] = []
    index = 0
    while index < len(word):
        char = word[index]
        following = word[index + 1 : index + 2]
        inside = index > 0 and (word[index - 1].isalnum() or word[index - 1] == "-")
        if char == "`" and inside and following.isalpha() and following not in "0abefnrtuv":
            out.append(following)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def decode_case(text: str, budget: Budget) -> Step | None:
    """Well-known names in random case (``iNVoKe-eXPreSSion``, ``[sTrInG]``, ``-JoIN``) written as usual."""
    if len(text) < 3:
        return None
    pieces: list[str] = []
    last = 0
    count = 0
    for token in _analysis(text, budget).tokens:
        if token.kind not in ("word", "op", "type", "var"):
            continue
        fixed = _canonical(token.kind, token.text)
        if fixed is not None and fixed != token.text:
            pieces += [text[last : token.start], fixed]
            last = token.end
            count += 1
    if not count:
        return None
    pieces.append(text[last:])
    return Step("powershell-case", "".join(pieces), f"{count} names")


def _canonical(kind: str, raw: str) -> str | None:
    if "`" in raw:
        return None
    if kind == "word":
        whole = _canonical_word(raw)
        if whole is not None:
            return whole
        parts = raw.split(".")
        fixed = [_canonical_word(part) for part in parts]
        return ".".join(new or old for new, old in zip(fixed, parts, strict=True))
    if kind == "op":
        name = raw[1:]
        if name.lower() not in OPERATORS:
            return None
        return raw[0] + name.lower() if _random_case(name, name.lower()) else None
    if kind == "var":
        prefix = "${" if raw.startswith("${") else "$"
        name = raw[len(prefix) :].removesuffix("}")
        found = CANONICAL.get(name.lower())
        if found is None or not _random_case(name, found):
            return None
        return prefix + found + ("}" if prefix == "${" else "")
    inner = raw[1:-1].strip()
    found = CANONICAL.get(inner.lower())
    return "[" + found + "]" if found is not None and _random_case(inner, found) else None


def _canonical_word(word: str) -> str | None:
    found = CANONICAL.get(word.lower())
    return found if found is not None and _random_case(word, found) else None


def _random_case(word: str, canonical: str) -> bool:
    """Whether ``word`` is cased neither as usual nor as people write it.

    People write a name in lower or upper case, or with capitals only where the usual spelling may have
    them: the start, the start of each part (``-``, ``.``, ``:``), and the usual capitals (``ElseIf``,
    ``ForEach``, ``PSHome``). Anything else (``iNVoKe``, ``pshOME``) is random.
    """
    if word in (canonical, word.lower(), word.upper()) or len(word) != len(canonical):
        return False
    odd = 0
    for index, char in enumerate(word):
        starts_part = index == 0 or word[index - 1] in "-.:[]"
        odd += char.isupper() and not starts_part and not canonical[index].isupper()
    # One odd capital is a way of writing (SubString); random case leaves several (sUbsTRinG).
    return odd >= (1 if len(word) <= 4 else 2)


def decode_iex(text: str, budget: Budget) -> Step | None:
    """``iex``, ``Invoke-Expression`` and their disguises run on a constant string: the string itself."""
    return _fold(text, budget, "iex")


def decode_char(text: str, budget: Budget) -> Step | None:
    """``[char]`` casts, ``[char[]]`` arrays and lists of character codes turned into characters."""
    return _fold(text, budget, "char")


def decode_concat(text: str, budget: Budget) -> Step | None:
    """Strings joined with ``+`` into one."""
    return _fold(text, budget, "concat")


def decode_format(text: str, budget: Budget) -> Step | None:
    """The ``-f`` format operator on constant strings."""
    return _fold(text, budget, "format")


def decode_replace(text: str, budget: Budget) -> Step | None:
    """``-replace``, ``-creplace`` and ``.Replace()`` with constant strings."""
    return _fold(text, budget, "replace")


def decode_join(text: str, budget: Budget) -> Step | None:
    """``-join`` and ``[string]::Join`` of constant arrays."""
    return _fold(text, budget, "join")


def decode_reverse(text: str, budget: Budget) -> Step | None:
    """Strings read backwards (``$s[-1..-($s.Length)] -join ''``, ``[array]::Reverse``)."""
    return _fold(text, budget, "reverse")


def decode_frombase64(text: str, budget: Budget) -> Step | None:
    """``[Text.Encoding]::X.GetString([Convert]::FromBase64String('...'))``."""
    return _fold(text, budget, "frombase64")


def decode_compressed(text: str, budget: Budget) -> Step | None:
    """Gzip and deflate streams over base64, read to the end."""
    return _fold(text, budget, "compressed")


def decode_scriptblock(text: str, budget: Budget) -> Step | None:
    """``[ScriptBlock]::Create('...')``: a block, or its code when invoked at once."""
    return _fold(text, budget, "scriptblock")


STEPS: Final[tuple[Decoder, ...]] = (
    decode_encoded_command,
    decode_backticks,
    decode_char,
    decode_concat,
    decode_format,
    decode_replace,
    decode_join,
    decode_reverse,
    decode_frombase64,
    decode_compressed,
    decode_scriptblock,
    decode_iex,
    decode_case,
)
