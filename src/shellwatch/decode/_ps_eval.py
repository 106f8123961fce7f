"""Values of the constant parts of a PowerShell tree, worked out by rules (nothing is run).

:class:`Evaluator` gives the value of a node when everything under it is known: literals, variables
assigned once to a constant, a few automatic variables used by obfuscators to spell ``iex``, and the
string, array, conversion, base64, compression and script-block operations obfuscation is made of. A node
that is not constant has the value None. Regular expressions in the text (``-replace``, ``-split``) are
handled only when they are plain strings, so nothing from the text is ever compiled.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass
from typing import Final, TypeAlias

from shellwatch.decode._ps_lex import dq_value
from shellwatch.decode._ps_parse import Node, Tree, walk
from shellwatch.decode.encodings import printable
from shellwatch.decode.model import Budget


@dataclass(frozen=True, slots=True)
class Automatic:
    """An automatic variable's usual value: only indexed (``$PSHome[4]``), never folded as such."""

    text: str


@dataclass(frozen=True, slots=True)
class VariableRef:
    """What ``Get-Variable name`` or ``Get-ChildItem variable:name`` returns."""

    name: str


@dataclass(frozen=True, slots=True)
class CommandRef:
    name: str


@dataclass(frozen=True, slots=True)
class TextEncoding:
    codec: str


@dataclass(frozen=True, slots=True)
class Stream:
    data: bytes
    compressed: bool


@dataclass(frozen=True, slots=True)
class Reader:
    stream: Stream
    codec: str


@dataclass(frozen=True, slots=True)
class ScriptBlock:
    text: str
    created: bool
    """Made from a string by ``[ScriptBlock]::Create`` (not a ``{ }`` of the text)."""


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str


Value: TypeAlias = (
    "str | int | bytes | tuple[Value, ...] | Automatic | VariableRef | CommandRef | TextEncoding"
    " | Stream | Reader | ScriptBlock | TypeName"
)

DECOMPRESS: Final = TypeName("decompress")

_AUTOMATIC: Final = {
    "pshome": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
    "shellid": "Microsoft.PowerShell",
    "env:comspec": "C:\\Windows\\system32\\cmd.exe",
    "env:public": "C:\\Users\\Public",
    "env:windir": "C:\\Windows",
    "env:systemroot": "C:\\Windows",
    "verbosepreference": "SilentlyContinue",
    "debugpreference": "SilentlyContinue",
    "warningpreference": "Continue",
    "erroractionpreference": "Continue",
    "progresspreference": "Continue",
    "confirmpreference": "High",
    "maximumdrivecount": "4096",
}
_VARIABLE_NAMES: Final = (
    "PSHome", "ShellId", "VerbosePreference", "DebugPreference", "WarningPreference",
    "ErrorActionPreference", "ProgressPreference", "ConfirmPreference", "MaximumDriveCount",
    "MaximumAliasCount", "MaximumFunctionCount", "MaximumVariableCount", "MaximumErrorCount",
    "MaximumHistoryCount", "PSVersionTable", "ExecutionContext", "PSCulture", "PSUICulture",
    "Host", "Home", "PID", "PWD", "Error", "Args", "Input", "OFS", "PSScriptRoot",
    "PSCommandPath", "NestedPromptLevel", "StackTrace", "PSEmailServer", "PSSessionOption",
    "PSDefaultParameterValues", "PSModuleAutoLoadingPreference", "InformationPreference",
    "WhatIfPreference", "FormatEnumerationLimit", "LogCommandHealthEvent", "null", "true", "false",
)  # fmt: skip
_ENCODINGS: Final = {
    "unicode": "utf-16-le",
    "utf8": "utf-8-sig",
    "ascii": "ascii",
    "default": "cp1252",
    "utf32": "utf-32-le",
    "bigendianunicode": "utf-16-be",
    "utf7": "utf-7",
    "latin1": "latin-1",
}
_ENCODING_TYPES: Final = {
    "text.utf8encoding": "utf-8-sig",
    "text.unicodeencoding": "utf-16-le",
    "text.asciiencoding": "ascii",
}
_INT_TYPES: Final = frozenset(
    {"int", "int16", "int32", "int64", "long", "short", "byte", "uint16", "uint32", "uint64", "sbyte"}
)
_GET_VARIABLE: Final = frozenset({"get-variable", "gv", "variable"})
_GET_ITEM: Final = frozenset({"get-childitem", "gci", "dir", "ls", "childitem", "get-item", "gi", "item"})
_SET_VARIABLE: Final = frozenset({"set-variable", "sv", "new-variable", "nv", "set-item", "si"})
_GET_COMMAND: Final = frozenset({"get-command", "gcm"})
_FOREACH: Final = frozenset({"%", "foreach", "foreach-object"})
# A lone "]" or "}" matches itself; "[" and "{" (a class, a quantifier) are refused, so none is paired.
_REGEX_META: Final = frozenset("\\^$.|?*+()[{")
_SETTER: Final = re.compile(r"\$\(\s*(?:set-variable|sv|set-item|si)\s[^()$]*\)", re.IGNORECASE)
_SET_OFS: Final = re.compile(
    r"\$\(\s*(?:set-variable|sv|set-item|si)\s+(['\"]?)(?:variable:)?ofs\1\s+'([^']*)'\s*\)", re.IGNORECASE
)


@dataclass(slots=True)
class Binding:
    """A variable assigned once to a constant: where, and the node of its value."""

    position: int
    value: Node
    assignment: Node | None
    """The ``$name = value`` statement (None when set by ``Set-Variable`` and the like)."""


class Evaluator:
    """The values of one tree's nodes, each worked out once."""

    def __init__(self, tree: Tree, budget: Budget, commands: frozenset[str] = frozenset()) -> None:
        self.tree = tree
        self.budget = budget
        self.commands = commands
        """Well-known command names: a ``Get-Command`` wildcard must match ``Invoke-Expression`` alone."""
        self.memo: dict[int, Value | None] = {}
        self.bindings: dict[str, Binding] = {}
        self.reversals: dict[str, list[int]] = {}
        self.separators: list[tuple[int, str]] = []
        """Where ``$OFS`` (what ``[string]`` puts between array items) is set, and to what."""
        self._bind()
        self._find_separators()

    # -- variables

    def _bind(self) -> None:
        counts: dict[str, int] = {}
        blocked: set[str] = set()
        found: dict[str, Binding] = {}
        for node, depth in self.tree.assignments:
            name = node.name or _base_variable(node.kids[0]) if node.kids else node.name
            counts[name] = counts.get(name, 0) + 1
            if not node.name or node.value != "=" or depth > 0 or not node.kids:
                blocked.add(name)
                continue
            found[name] = Binding(node.end, node.kids[0], node)
        for statement in self.tree.statements:
            for node in walk(statement):
                self.budget.tick()
                self._bind_command(node, counts, found, blocked)
        for name, binding in found.items():
            if name not in blocked and counts.get(name) == 1:
                self.bindings[name] = binding

    def _bind_command(
        self, node: Node, counts: dict[str, int], found: dict[str, Binding], blocked: set[str]
    ) -> None:
        if node.kind == "static" and node.name == "array::reverse" and node.kids:
            target = node.kids[0]
            if target.kind == "var":
                self.reversals.setdefault(target.name, []).append(node.end)
            return
        if node.kind != "command" or node.name not in _SET_VARIABLE:
            return
        named = _arguments(node, ("name", "path"), ("value",))
        if len(named) < 2:
            return
        name = self.value(named[0])
        if not isinstance(name, str):
            return
        name = name.lower()
        if node.name in ("set-item", "si"):
            if not name.startswith("variable:"):
                return
            name = name.removeprefix("variable:")
        counts[name] = counts.get(name, 0) + 1
        found[name] = Binding(node.end, named[1], None)
        separator = self.value(named[1]) if name == "ofs" else None
        if isinstance(separator, str):
            self.separators.append((node.start, separator))

    def _find_separators(self) -> None:
        # Invoke-Obfuscation sets $OFS inside expandable strings: "$(Set-Item 'Variable:OFS' '')".
        for token in self.tree.tokens:
            if token.kind == "dq" and "$" in token.text:
                self.separators += [(token.start, match.group(2)) for match in _SET_OFS.finditer(token.text)]
        for node, _depth in self.tree.assignments:
            value = self.value(node.kids[0]) if node.name == "ofs" and node.kids else None
            if isinstance(value, str):
                self.separators.append((node.start, value))
        self.separators.sort()

    def separator_at(self, position: int) -> str:
        """``$OFS`` as last set before ``position`` (a space when never set)."""
        found = " "
        for where, separator in self.separators:
            if where >= position:
                break
            found = separator
        return found

    def binding(self, node: Node) -> Binding | None:
        """The constant assignment a variable node reads, when it comes before it."""
        found = self.bindings.get(node.name)
        if found is None or found.position > node.start:
            return None
        return found

    def reversed_before(self, node: Node) -> bool:
        """Whether ``[array]::Reverse`` turned the variable round before this use of it."""
        binding = self.binding(node)
        marks = self.reversals.get(node.name, [])
        return binding is not None and sum(binding.position <= mark <= node.start for mark in marks) % 2 == 1

    # -- values

    def value(self, node: Node, dollar: Value | None = None) -> Value | None:
        """The value of ``node`` (``dollar`` is ``$_``), or None when it is not constant."""
        if node.dollar:
            return self._compute(node, dollar)
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None
        found = self._compute(node, None)
        self.memo[key] = found
        return found

    def _compute(self, node: Node, dollar: Value | None) -> Value | None:
        self.budget.tick()
        handler = _HANDLERS.get(node.kind)
        return handler(self, node, dollar) if handler is not None else None

    def values(self, nodes: tuple[Node, ...] | list[Node], dollar: Value | None) -> list[Value] | None:
        found: list[Value] = []
        for node in nodes:
            value = self.value(node, dollar)
            if value is None:
                return None
            found.append(value)
        return found

    def _lit(self, node: Node, dollar: Value | None) -> Value | None:
        if node.value is None and node.name == "dq":
            # An expandable string whose only expansions set variables ("$(sv 'OFS' '')") expands to the rest.
            body = _SETTER.sub("", self.tree.text[node.start + 1 : node.end - 1])
            return dq_value(body)
        return node.value

    def _var(self, node: Node, dollar: Value | None) -> Value | None:
        if node.name == "_":
            return dollar
        binding = self.binding(node)
        if binding is None:
            text = _AUTOMATIC.get(node.name)
            return Automatic(text) if text is not None else None
        found = self.value(binding.value)
        if isinstance(found, tuple) and self.reversed_before(node):
            return found[::-1]
        return found

    def _group(self, node: Node, dollar: Value | None) -> Value | None:
        if node.kind == "sub" and len(node.kids) == 1 and node.kids[0].kind == "command":
            # $(Set-Variable ...) outputs nothing: it adds an empty string to what it is added to.
            return "" if node.kids[0].name in _SET_VARIABLE else None
        if len(node.kids) != 1 or node.kids[0].kind == "assign":
            return None
        found = self.value(node.kids[0], dollar)
        if node.kind == "arrayexpr" and found is not None and not isinstance(found, tuple):
            return (found,)
        return found

    def _block(self, node: Node, dollar: Value | None) -> Value | None:
        return ScriptBlock(self.tree.text[node.start + 1 : node.end - 1], created=False)

    def _array(self, node: Node, dollar: Value | None) -> Value | None:
        found = self.values(node.kids, dollar)
        return tuple(found) if found is not None else None

    def _range(self, node: Node, dollar: Value | None) -> Value | None:
        low, high = (_integer(self.value(kid, dollar)) for kid in node.kids)
        if low is None or high is None:
            return None
        size = abs(high - low) + 1
        # A loop's range (1..1000000) builds no text: too big to be a string's indexes, so not constant.
        if size > self.budget.limits.max_output:
            return None
        self.budget.tick(size // 16)
        step = 1 if high >= low else -1
        return tuple(range(low, high + step, step))

    def _binary(self, node: Node, dollar: Value | None) -> Value | None:
        operands = self.values(node.kids, dollar)
        if operands is None:
            return None
        result: Value | None = operands[0]
        for operand in operands[1:]:
            if result is None:
                return None
            result = self._operate(node.name, result, operand, node)
        return result

    def _operate(self, operator: str, left: Value, right: Value, node: Node) -> Value | None:
        if operator == "+":
            return self._add(left, right)
        if operator == "f":
            return self._format(left, right)
        if operator == "join":
            return self._join(left, right)
        if operator in ("replace", "ireplace", "creplace"):
            return self._replace_operator(left, right, operator != "creplace")
        if operator in ("split", "isplit", "csplit"):
            return self._split_operator(left, right, operator != "csplit")
        if operator == "as":
            return convert(right.name, left, False) if isinstance(right, TypeName) else None
        return _arithmetic(operator, left, right)

    def _add(self, left: Value, right: Value) -> Value | None:
        if isinstance(left, str):
            text = to_text(right)
            if text is None:
                return None
            self.budget.room(len(left) + len(text))
            return left + text
        if isinstance(left, tuple):
            return left + (right if isinstance(right, tuple) else (right,))
        return _arithmetic("+", left, right)

    def _format(self, pattern: Value, arguments: Value) -> Value | None:
        template = to_text(pattern)
        items = arguments if isinstance(arguments, tuple) else (arguments,)
        texts = [to_text(item) for item in items]
        if template is None or any(text is None for text in texts):
            return None
        return dotnet_format(template, [text for text in texts if text is not None], self.budget)

    def _join(self, items: Value, separator: Value) -> Value | None:
        sequence = items if isinstance(items, tuple) else (items,)
        texts = [to_text(item) for item in sequence]
        glue = to_text(separator)
        if glue is None or any(text is None for text in texts):
            return None
        size = sum(len(text) for text in texts if text is not None) + len(glue) * len(texts)
        self.budget.room(size)
        return glue.join(text for text in texts if text is not None)

    def _replace_operator(self, subject: Value, arguments: Value, fold: bool) -> Value | None:
        parts = arguments if isinstance(arguments, tuple) else (arguments, "")
        text = to_text(subject)
        if text is None or len(parts) != 2:
            return None
        pattern = literal_pattern(to_text(parts[0]))
        replacement = to_text(parts[1])
        if pattern is None or replacement is None:
            return None
        return self.replace(text, pattern, replacement, fold, dollars=True)

    def replace(self, text: str, old: str, new: str, fold: bool, dollars: bool) -> str | None:
        """``text`` with each ``old`` replaced (case-blind when ``fold``; ``$$`` and ``$0`` as in .NET)."""
        if not old:
            return text if dollars else None
        haystack, needle = (text.lower(), old.lower()) if fold else (text, old)
        if len(haystack) != len(text) or len(needle) != len(old):
            return None
        pieces: list[str] = []
        size = 0
        start = 0
        while (found := haystack.find(needle, start)) >= 0:
            self.budget.tick()
            matched = text[found : found + len(old)]
            piece = _substitution(new, matched) if dollars else new
            pieces += [text[start:found], piece]
            size += found - start + len(piece)
            self.budget.room(size)
            start = found + len(old)
        pieces.append(text[start:])
        return "".join(pieces)

    def _split_operator(self, subject: Value, arguments: Value, fold: bool) -> Value | None:
        if isinstance(subject, tuple):
            # An array is split item by item and the pieces flattened: `'a1b' -split '1' -split 'b'`.
            pieces: list[Value] = []
            for item in subject:
                self.budget.tick()
                split = self._split_operator(item, arguments, fold)
                if not isinstance(split, tuple):
                    return None
                pieces.extend(split)
            return tuple(pieces)
        pattern = literal_pattern(to_text(arguments[0] if isinstance(arguments, tuple) else arguments))
        text = to_text(subject)
        if text is None or not pattern:
            return None
        if fold:
            return self._split_folded(text, pattern)
        return tuple(text.split(pattern))

    def _split_folded(self, text: str, separator: str) -> Value | None:
        haystack, needle = text.lower(), separator.lower()
        if len(haystack) != len(text):
            return None
        pieces: list[Value] = []
        start = 0
        while (found := haystack.find(needle, start)) >= 0:
            self.budget.tick()
            pieces.append(text[start:found])
            start = found + len(needle)
        pieces.append(text[start:])
        return tuple(pieces)

    def _unary(self, node: Node, dollar: Value | None) -> Value | None:
        operand = self.value(node.kids[0], dollar)
        if operand is None:
            return None
        if node.name == "join":
            return self._join(operand, "")
        if node.name == "split":
            text = to_text(operand)
            return tuple(text.split()) if text is not None else None
        if node.name in "-+" and isinstance(operand, int):
            return -operand if node.name == "-" else operand
        return None

    def _cast(self, node: Node, dollar: Value | None) -> Value | None:
        operand = self.value(node.kids[0], dollar)
        if operand is None:
            return None
        if node.name == "string" and isinstance(operand, tuple):
            return self._join(operand, self.separator_at(node.start))
        from_char = node.kids[0].kind == "cast" and node.kids[0].name == "char"
        return convert(node.name, operand, from_char)

    def _type(self, node: Node, dollar: Value | None) -> Value | None:
        return TypeName(node.name)

    def _index(self, node: Node, dollar: Value | None) -> Value | None:
        if len(node.kids) != 2:
            return None
        target, where = (self.value(kid, dollar) for kid in node.kids)
        items: str | tuple[Value, ...] | bytes
        if isinstance(target, Automatic):
            items = target.text
        elif isinstance(target, str | tuple | bytes):
            items = target
        else:
            return None
        if isinstance(where, int):
            return _item(items, where)
        if not isinstance(where, tuple):
            return None
        self.budget.tick(len(where) // 16)
        found = [_item(items, position) if isinstance(position, int) else None for position in where]
        return tuple(item for item in found if item is not None) if None not in found else None

    def _member(self, node: Node, dollar: Value | None) -> Value | None:
        target = self.value(node.kids[0], dollar)
        name = node.name
        if name in ("length", "count") and isinstance(target, str | tuple | bytes):
            return len(target)
        if isinstance(target, VariableRef):
            if name == "name":
                return target.name
            if name == "value":
                return self.variable_value(target.name, node.start)
        return None

    def variable_value(self, name: str, position: int) -> Value | None:
        binding = self.bindings.get(name.lower())
        if binding is None or binding.position > position:
            return None
        return self.value(binding.value)

    def _call(self, node: Node, dollar: Value | None) -> Value | None:
        target = self.value(node.kids[0], dollar)
        arguments = self.values(node.kids[1:], dollar)
        if target is None or arguments is None:
            return None
        return self.method(target, node.name, arguments)

    def method(self, target: Value, name: str, arguments: list[Value]) -> Value | None:
        """What calling method ``name`` of ``target`` returns, for the methods obfuscation uses."""
        if isinstance(target, str):
            return self._string_method(target, name, arguments)
        if name == "tostring" and not arguments:
            if isinstance(target, Automatic):
                return target.text
            if isinstance(target, int):
                return str(target)
            if isinstance(target, ScriptBlock):
                return target.text
        if isinstance(target, TextEncoding) and name == "getstring" and arguments:
            return self._decode(arguments[0], target.codec)
        if isinstance(target, Reader) and name == "readtoend" and not arguments:
            return self._decode(target.stream.data, target.codec)
        return None

    def _string_method(self, text: str, name: str, arguments: list[Value]) -> Value | None:
        texts = [to_text(argument) for argument in arguments]
        if any(argument is None for argument in texts):
            return None
        given = [argument for argument in texts if argument is not None]
        if name == "replace" and len(given) == 2:
            return self.replace(text, given[0], given[1], fold=False, dollars=False)
        if name in ("tostring", "tolower", "toupper", "tolowerinvariant", "toupperinvariant") and not given:
            return text.lower() if "lower" in name else text.upper() if "upper" in name else text
        if name == "tochararray" and not given:
            return tuple(text)
        if name in ("trim", "trimstart", "trimend") and len(given) <= 1:
            chars = given[0] if given else None
            return {"trim": text.strip, "trimstart": text.lstrip, "trimend": text.rstrip}[name](chars)
        if name == "split":
            return self._split_chars(text, "".join(given))
        if name == "substring":
            return _substring(text, arguments)
        return None

    def _split_chars(self, text: str, separators: str) -> Value:
        """``String.Split(char[])`` as Windows PowerShell calls it: on any of the characters."""
        pieces: list[Value] = []
        current: list[str] = []
        for char in text:
            if char in separators or (not separators and char.isspace()):
                pieces.append("".join(current))
                current = []
            else:
                current.append(char)
        self.budget.tick(len(text) // 16)
        pieces.append("".join(current))
        return tuple(pieces)

    def _decode(self, data: Value, codec: str) -> Value | None:
        if isinstance(data, tuple) and all(isinstance(item, int) and 0 <= item < 256 for item in data):
            data = bytes(item for item in data if isinstance(item, int))
        if not isinstance(data, bytes):
            return None
        self.budget.room(len(data))
        if codec.startswith("utf-16") or codec.startswith("utf-32"):
            data = data[: len(data) - len(data) % (4 if "32" in codec else 2)]
        text = data.decode(codec, errors="replace")
        return text if printable(text) else None

    def _static(self, node: Node, dollar: Value | None) -> Value | None:
        type_name, _, member = node.name.partition("::")
        if type_name == "text.encoding" and not node.kids:
            codec = _ENCODINGS.get(member)
            return TextEncoding(codec) if codec is not None else None
        if node.name == "io.compression.compressionmode::decompress":
            return DECOMPRESS
        arguments = self.values(node.kids, dollar)
        if arguments is None:
            return None
        if member == "new":
            return self.construct(type_name, arguments)
        return self._static_call(node.name, arguments)

    def _static_call(self, name: str, arguments: list[Value]) -> Value | None:
        first = arguments[0] if arguments else None
        if name == "convert::frombase64string" and isinstance(first, str):
            return self._from_base64(first)
        if name.startswith("convert::to") and first is not None:
            return _convert_number(name.removeprefix("convert::to"), first, arguments[1:])
        if name == "string::join" and len(arguments) >= 2:
            items = arguments[1] if len(arguments) == 2 else tuple(arguments[1:])
            return self._join(items, arguments[0])
        if name == "string::concat" and arguments:
            texts = [to_text(argument) for argument in _flatten(arguments)]
            return None if None in texts else "".join(text for text in texts if text is not None)
        if name == "scriptblock::create" and isinstance(first, str):
            return ScriptBlock(first, created=True)
        if name == "char::convertfromutf32" and isinstance(first, int):
            return convert("char", first, False)
        if name == "regex::replace" and len(arguments) == 3:
            texts = [to_text(argument) for argument in arguments]
            pattern = literal_pattern(texts[1])
            if texts[0] is None or pattern is None or texts[2] is None:
                return None
            return self.replace(texts[0], pattern, texts[2], fold=False, dollars=True)
        return None

    def _from_base64(self, text: str) -> Value | None:
        cleaned = "".join(text.split())
        self.budget.tick(len(cleaned) // 64)
        try:
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None

    def construct(self, type_name: str, arguments: list[Value]) -> Value | None:
        """A new object of the stream and encoding types obfuscation uses (``New-Object``, ``::new``)."""
        first = arguments[0] if arguments else None
        if isinstance(first, tuple) and len(first) == 1 and len(arguments) == 1:
            first = first[0]
        if type_name == "io.memorystream" and isinstance(first, bytes):
            return Stream(first, compressed=False)
        if type_name in ("io.compression.gzipstream", "io.compression.deflatestream"):
            return self._inflate(type_name, arguments)
        if type_name == "io.streamreader" and isinstance(first, Stream):
            codec = (
                arguments[1].codec if len(arguments) > 1 and isinstance(arguments[1], TextEncoding) else None
            )
            return Reader(first, codec or "utf-8-sig")
        codec = _ENCODING_TYPES.get(type_name)
        return TextEncoding(codec) if codec is not None else None

    def _inflate(self, type_name: str, arguments: list[Value]) -> Value | None:
        if len(arguments) < 2 or not isinstance(arguments[0], Stream) or arguments[1] != DECOMPRESS:
            return None
        wbits = 31 if type_name.endswith("gzipstream") else -15
        room = self.budget.limits.max_output
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(arguments[0].data, room + 1)
        except zlib.error:
            return None
        self.budget.tick(len(out) // 256 + 1)
        self.budget.room(len(out))
        return Stream(out, compressed=True)

    def _command(self, node: Node, dollar: Value | None) -> Value | None:
        name = node.name
        if name == "new-object":
            return self._new_object(node, dollar)
        if name in _GET_VARIABLE or name in _GET_ITEM:
            return self._get_variable(node, dollar)
        if name in _GET_COMMAND:
            named = _arguments(node, ("name",))
            pattern = self.value(named[0], dollar) if named else None
            return self._command_named(pattern)
        return None

    def _new_object(self, node: Node, dollar: Value | None) -> Value | None:
        named = _arguments(node, ("typename",), ("argumentlist",))
        if not named:
            return None
        type_name = self.value(named[0], dollar)
        arguments = self.value(named[1], dollar) if len(named) > 1 else ()
        if not isinstance(type_name, str) or arguments is None:
            return None
        listed: list[Value] = list(arguments) if isinstance(arguments, tuple) else [arguments]
        return self.construct(type_name.lower().removeprefix("system."), listed)

    def _get_variable(self, node: Node, dollar: Value | None) -> Value | None:
        named = _arguments(node, ("name", "path", "literalpath"))
        path = self.value(named[0], dollar) if named else None
        if not isinstance(path, str):
            return None
        path = path.lower()
        if node.name in _GET_ITEM:
            if not path.startswith("variable:"):
                return None
            path = path.removeprefix("variable:").lstrip("\\/")
        name = self._variable_named(path)
        if name is None:
            return None
        if any(kid.kind == "param" and "valueonly".startswith(kid.name) and kid.name for kid in node.kids):
            return self.variable_value(name, node.start)
        return VariableRef(name)

    def _variable_named(self, pattern: str) -> str | None:
        if "*" not in pattern and "?" not in pattern:
            return pattern
        known = {name.lower(): name for name in _VARIABLE_NAMES} | {name: name for name in self.bindings}
        found = [name for lower, name in known.items() if wildcard(pattern, lower)]
        return found[0] if len(found) == 1 else None

    def _command_named(self, pattern: Value | None) -> Value | None:
        if not isinstance(pattern, str):
            return None
        lowered = pattern.lower()
        found = [name for name in self.commands if wildcard(lowered, name)]
        if found == ["invoke-expression"] or lowered in ("iex", "invoke-expression"):
            return CommandRef("invoke-expression")
        return None

    def _pipe(self, node: Node, dollar: Value | None) -> Value | None:
        last = node.kids[-1]
        if len(node.kids) != 2 or last.kind != "command" or last.name not in _FOREACH:
            return None
        blocks = [kid for kid in last.kids if kid.kind == "block"]
        source = self.value(node.kids[0], dollar)
        if len(blocks) != 1 or source is None or len(blocks[0].kids) != 1:
            return None
        body = blocks[0].kids[0]
        items = source if isinstance(source, tuple) else (source,)
        results: list[Value] = []
        for item in items:
            found = self.value(body, item)
            if found is None:
                return None
            results.append(found)
        self.budget.room(len(results))
        return tuple(results)


def _base_variable(node: Node) -> str:
    while node.kind in ("member", "index", "call") and node.kids:
        node = node.kids[0]
    return node.name if node.kind == "var" else ""


def _arguments(node: Node, *names: tuple[str, ...]) -> list[Node]:
    """The arguments of a command in parameter order: named (``-Name x``, any prefix) or positional."""
    kids = list(node.kids)
    by_name: dict[int, Node] = {}
    positional: list[Node] = []
    index = 0
    while index < len(kids):
        kid = kids[index]
        if kid.kind == "param":
            slot = next(
                (
                    at
                    for at, aliases in enumerate(names)
                    if any(alias.startswith(kid.name) for alias in aliases)
                ),
                None,
            )
            if slot is not None and index + 1 < len(kids) and kid.name:
                by_name[slot] = kids[index + 1]
                index += 2
                continue
            index += 1
            continue
        positional.append(kid)
        index += 1
    found: list[Node] = []
    for slot in range(len(names)):
        if slot in by_name:
            found.append(by_name[slot])
        elif positional:
            found.append(positional.pop(0))
        else:
            break
    return found


def to_text(value: Value | None) -> str | None:
    """A value as PowerShell turns it into a string (arrays joined by spaces), None if it cannot."""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        texts = [to_text(item) for item in value]
        return None if None in texts else " ".join(text for text in texts if text is not None)
    if isinstance(value, Automatic):
        return value.text
    return None


def _integer(value: Value | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return int(text, 16) if text.startswith("0x") else int(text)
        except ValueError:
            return None
    return None


def convert(type_name: str, value: Value, from_char: bool) -> Value | None:
    """``[type]value`` for the types obfuscation casts to."""
    if type_name == "char":
        return _char(value)
    if type_name == "char[]":
        items: tuple[Value, ...] | str | bytes = value if isinstance(value, tuple | str | bytes) else (value,)
        chars = [_char(item) for item in items]
        return None if None in chars else tuple(char for char in chars if char is not None)
    if type_name == "string":
        return to_text(value)
    if type_name in _INT_TYPES:
        if from_char and isinstance(value, str) and len(value) == 1:
            return ord(value)
        return _integer(value)
    if type_name in ("array", "object[]", "string[]"):
        return value if isinstance(value, tuple) else (value,)
    if type_name == "io.memorystream" and isinstance(value, bytes):
        return Stream(value, compressed=False)
    if type_name == "byte[]" and isinstance(value, tuple):
        numbers = [_integer(item) for item in value]
        if any(number is None or not 0 <= number < 256 for number in numbers):
            return None
        return bytes(number for number in numbers if number is not None)
    return None


def _char(value: Value | str | int) -> str | None:
    if isinstance(value, int):
        return chr(value) if 0 < value <= 0xFFFF else None
    if isinstance(value, str):
        return value if len(value) == 1 else None
    return None


def _item(items: str | tuple[Value, ...] | bytes, position: int) -> Value | None:
    if -len(items) <= position < len(items):
        return items[position]
    return None


def _arithmetic(operator: str, left: Value, right: Value) -> Value | None:
    if (
        operator == "*"
        and isinstance(left, str)
        and isinstance(right, int)
        and 0 <= right * len(left) <= 65536
    ):
        return left * right
    if operator in _BITWISE:
        # A character on the left is its code point (`[char[]](..) | % { $_ -bxor 0x5d }`): the tree has
        # no type for characters, and a one-character string there is rare outside that idiom.
        first = ord(left) if isinstance(left, str) and len(left) == 1 else _integer(left)
        second = _bitwise_operand(right)
    else:
        first, second = _integer(left), _integer(right)
    if first is None or second is None:
        return None
    if operator == "/":
        return first // second if second and first % second == 0 else None
    if operator == "%":
        return first % second if second else None
    operations = {
        "+": first + second,
        "-": first - second,
        "*": first * second if abs(first * second) < 2**63 else None,
        "bxor": first ^ second,
        "band": first & second,
        "bor": first | second,
    }
    return operations.get(operator)


_BITWISE: Final = frozenset({"bxor", "band", "bor"})


def _bitwise_operand(value: Value) -> int | None:
    if isinstance(value, str) and len(value) == 1 and not value.isdigit():
        return ord(value)
    return _integer(value)


def _convert_number(kind: str, value: Value, rest: list[Value]) -> Value | None:
    base = rest[0] if rest else 10
    if kind == "char":
        return _char(value) if isinstance(value, int) else None
    if kind not in ("int16", "int32", "int64", "byte", "uint16", "uint32", "uint64", "sbyte"):
        return None
    if isinstance(value, int) and not rest:
        return value
    text = to_text(value)
    if text is None or base not in (2, 8, 10, 16):
        return None
    digits = text.strip()
    if base == 16:
        digits = digits.removeprefix("0x").removeprefix("0X")
    try:
        return int(digits, base) if isinstance(base, int) else None
    except ValueError:
        return None


def _substring(text: str, arguments: list[Value]) -> Value | None:
    numbers = [argument for argument in arguments if isinstance(argument, int)]
    if len(numbers) != len(arguments) or not 1 <= len(numbers) <= 2 or not 0 <= numbers[0] <= len(text):
        return None
    if len(numbers) == 1:
        return text[numbers[0] :]
    if numbers[1] < 0 or numbers[0] + numbers[1] > len(text):
        return None
    return text[numbers[0] : numbers[0] + numbers[1]]


def _flatten(values: list[Value]) -> list[Value]:
    found: list[Value] = []
    for value in values:
        found.extend(value if isinstance(value, tuple) else (value,))
    return found


def _substitution(template: str, matched: str) -> str:
    """A -replace replacement with its .NET substitutions for a pattern without groups."""
    if "$" not in template:
        return template
    pieces: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        following = template[index + 1 : index + 2]
        if char == "$" and following == "$":
            pieces.append("$")
            index += 2
        elif char == "$" and following in ("&", "0"):
            pieces.append(matched)
            index += 2
        else:
            pieces.append(char)
            index += 1
    return "".join(pieces)


def literal_pattern(pattern: str | None) -> str | None:
    """The plain string a regular expression matches when it is one (``\\.`` allowed), else None."""
    if pattern is None:
        return None
    pieces: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if not following or following.isalnum():
                return None
            pieces.append(following)
            index += 2
            continue
        if char in _REGEX_META:
            return None
        pieces.append(char)
        index += 1
    return "".join(pieces)


def dotnet_format(template: str, arguments: list[str], budget: Budget) -> str | None:
    """``String.Format`` for items ``{0}`` and ``{0,-8}``; None for format strings (``{0:x}``) or errors."""
    pieces: list[str] = []
    size = 0
    index = 0
    while index < len(template):
        budget.tick()
        char = template[index]
        if char in "{}" and template[index + 1 : index + 2] == char:
            pieces.append(char)
            index += 2
            continue
        if char == "}":
            return None
        if char != "{":
            pieces.append(char)
            size += 1
            index += 1
            continue
        close = template.find("}", index)
        if close < 0:
            return None
        item = _format_item(template[index + 1 : close], arguments)
        if item is None:
            return None
        pieces.append(item)
        size += len(item)
        budget.room(size)
        index = close + 1
    return "".join(pieces)


def _format_item(spec: str, arguments: list[str]) -> str | None:
    position, _, width = spec.partition(",")
    if ":" in spec or not position.strip().isdigit():
        return None
    number = int(position)
    if number >= len(arguments):
        return None
    text = arguments[number]
    if not width:
        return text
    try:
        pad = int(width)
    except ValueError:
        return None
    if abs(pad) > 1024:
        return None
    return text.ljust(-pad) if pad < 0 else text.rjust(pad)


def wildcard(pattern: str, name: str) -> bool:
    """PowerShell's ``*`` and ``?`` wildcard match (both already lower case), without regular expressions."""
    matches = [True] + [False] * len(name)
    for char in pattern:
        if char == "*":
            for at in range(1, len(name) + 1):
                matches[at] = matches[at] or matches[at - 1]
            continue
        matches = [False] + [matches[at] and (char in ("?", name[at])) for at in range(len(name))]
    return matches[-1]


_HANDLERS: Final = {
    "lit": Evaluator._lit,
    "bare": Evaluator._lit,
    "var": Evaluator._var,
    "paren": Evaluator._group,
    "sub": Evaluator._group,
    "arrayexpr": Evaluator._group,
    "block": Evaluator._block,
    "array": Evaluator._array,
    "range": Evaluator._range,
    "binary": Evaluator._binary,
    "unary": Evaluator._unary,
    "cast": Evaluator._cast,
    "type": Evaluator._type,
    "index": Evaluator._index,
    "member": Evaluator._member,
    "call": Evaluator._call,
    "static": Evaluator._static,
    "command": Evaluator._command,
    "pipe": Evaluator._pipe,
}
