"""The emulator: walks the tree of :mod:`._bash_parse`, expands words and runs pure text utilities.

Nothing runs for real. Variables assigned in the line, the positional parameters of ``bash -c`` (none),
and files written during the emulation (a virtual file system) are the only state. A command the
emulator does not know is written out with its words expanded; inside a command substitution or a pipe
feeding a shell it makes the value unknown (:class:`Unknown`) and the enclosing command stays as text.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import contextlib
import hashlib
import re
import zlib
from typing import Final

from shellwatch.decode._bash_arith import evaluate
from shellwatch.decode._bash_parse import (
    AndOr,
    Command,
    Compound,
    Pipeline,
    Simple,
    Unsupported,
    Word,
    ansi_c,
    parse,
    parse_word,
    split_top,
)
from shellwatch.decode.model import Budget


class Unknown(Exception):
    """A value depends on something outside the line (a file, the network, an unknown command)."""


SHELLS: Final = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})
_SAFE: Final = re.compile(r"[\w@%+=:,./-]+")
_NAME: Final = re.compile(r"([A-Za-z_]\w*|\d+|[@*#?$!-])(\[.*\])?$", re.DOTALL)
_PARAM: Final = re.compile(r"(#)?(!)?([A-Za-z_]\w*|\d+|[@*#?$!-])(\[[^\]]*\])?(.*)$", re.DOTALL)
_BRACE: Final = re.compile(r"\{([^{},\s]*(?:,[^{},\s]*)+|-?\w+\.\.-?\w+)\}")
_MAX_DEPTH: Final = 24


def quote(text: str) -> str:
    if _SAFE.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def from_bytes(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _collate(name: str) -> str:
    """Sort key close to glibc's collation in common locales: control characters after the others."""
    return "".join(chr(ord(char) + 0x110000 - 32) if ord(char) < 32 else char for char in name)


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


class Shell:
    def __init__(self, budget: Budget, depth: int = 0) -> None:
        self.budget = budget
        self.depth = depth
        self.vars: dict[str, str] = {"IFS": " \t\n", "BASH": "/bin/bash", "0": "bash", "#": "0"}
        self.arrays: dict[str, dict[int, str]] = {}
        self.files: dict[str, str | None] = {}
        self.emitted: list[tuple[str, str]] = []
        self.changed = False
        self.kinds: set[str] = set()

    # variables -------------------------------------------------------------------------------------

    def get(self, name: str) -> str:
        match = re.fullmatch(r"([A-Za-z_]\w*)\[(.*)\]", name, re.DOTALL)
        if match:
            array = self.arrays.get(match.group(1))
            index = self.arith(self.expand_string(parse_word(match.group(2), self.budget)))
            if array is None:
                if index == 0 and match.group(1) in self.vars:
                    return self.vars[match.group(1)]
                raise Unknown(match.group(1))
            if index < 0 and array:
                index += max(array) + 1
            return array.get(index, "")
        if name in self.arrays:
            return self.arrays[name].get(0, "")
        if name in self.vars:
            return self.vars[name]
        if name.isdigit() or name in "@*!-":
            return ""
        if name == "?":
            return "0"
        if name == "$":
            raise Unknown("$$")
        raise Unknown(name)

    def put(self, name: str, value: str) -> None:
        self.budget.room(len(value))
        match = re.fullmatch(r"([A-Za-z_]\w*)\[(.*)\]", name, re.DOTALL)
        if match:
            index = self.arith(self.expand_string(parse_word(match.group(2), self.budget)))
            self.arrays.setdefault(match.group(1), {})[index] = value
            return
        if name in self.arrays:
            self.arrays[name][0] = value
        else:
            self.vars[name] = value

    def arith(self, text: str) -> int:
        return evaluate(text, self.get, self.put, self.budget)

    # expansion -------------------------------------------------------------------------------------

    def _param(self, inner: str, quoted: bool) -> list[str] | str:  # noqa: PLR0915
        """A list for ``$@``-like expansions (zero or more words), else the text."""
        match = _PARAM.match(inner)
        if match is None:
            raise Unsupported(f"parameter {inner[:20]!r}")
        length, bang, name, subscript, rest = match.groups()
        if name in "@*" and not subscript:
            if length:
                return "0"
            if bang or not rest:
                return [] if name == "@" else ""
            if rest[:2] in (":-", ":=", ":+") or rest[:1] in ("-", "=", "+"):
                raise Unsupported("default of $@")
            return [] if name == "@" else ""
        if subscript in ("[@]", "[*]"):
            values = [value for _, value in sorted(self.arrays.get(name, {}).items())]
            if name not in self.arrays:
                if name not in self.vars:
                    raise Unknown(name)
                values = [self.vars[name]]
            if length:
                return str(len(values))
            if rest.startswith(":"):
                pieces = split_top(rest[1:], ":")
                start = self.arith(self.expand_string(parse_word(pieces[0], self.budget)))
                count = (
                    self.arith(self.expand_string(parse_word(pieces[1], self.budget)))
                    if len(pieces) > 1
                    else len(values)
                )
                values = values[start : start + count]
            elif rest:
                values = [self._operate(value, rest) for value in values]
            return values if subscript == "[@]" and quoted else " ".join(values)
        if length and not rest and not bang:
            return str(len(self.get(name + (subscript or ""))))
        if length:
            raise Unsupported("parameter")
        if bang:
            if rest in ("@", "*"):
                raise Unsupported("names by prefix")
            name = self.get(name + (subscript or ""))
            if not _NAME.match(name):
                raise Unsupported("bad indirection")
            subscript = ""
        full = name + (subscript or "")
        if rest[:2] in (":-", ":=", ":+", ":?") or rest[:1] in ("-", "=", "+", "?"):
            colon = rest.startswith(":")
            op = rest[1] if colon else rest[0]
            body = rest[2:] if colon else rest[1:]
            try:
                value: str | None = self.get(full)
            except Unknown:
                value = None
            if value is None and op != "+":
                if op == "?":
                    raise Unknown(full)
                if op in "-=":
                    # an unset name outside the line may still be set in the environment
                    raise Unknown(full)
            is_set = value is not None and (value != "" or not colon)
            if op == "+":
                if value is None:
                    raise Unknown(full)
                return self.expand_string(parse_word(body, self.budget)) if is_set else ""
            if is_set:
                return value or ""
            new = self.expand_string(parse_word(body, self.budget))
            if op == "=":
                self.put(full, new)
            return new
        value = self.get(full)
        return self._operate(value, rest) if rest else value

    def _pattern(self, text: str) -> str:
        word = parse_word(text, self.budget)
        out: list[str] = []
        for part in word.parts:
            if part[0] == "lit":
                out.append(re.escape(part[1]) if part[2] else _glob_regex(part[1]))
            else:
                out.append(re.escape(self.expand_string(Word((part,), ""))))
        return "".join(out)

    def _operate(self, value: str, rest: str) -> str:
        self.budget.tick(len(value) // 16 + 1)
        if rest in ("~~", "~", "^^", "^", ",,", ","):
            if rest == "~~":
                return value.swapcase()
            if rest == "~":
                return value[:1].swapcase() + value[1:]
            if rest == "^^":
                return value.upper()
            if rest == "^":
                return value[:1].upper() + value[1:]
            if rest == ",,":
                return value.lower()
            return value[:1].lower() + value[1:]
        if rest.startswith(":") and not rest.startswith((":-", ":=", ":+", ":?")):
            pieces = split_top(rest[1:], ":")
            start = self.arith(self.expand_string(parse_word(pieces[0], self.budget)))
            if start < 0:
                start = max(0, len(value) + start)
            if len(pieces) == 1:
                return value[start:]
            count = self.arith(self.expand_string(parse_word(pieces[1], self.budget)))
            end = start + count if count >= 0 else len(value) + count
            return value[start:end]
        if rest[:1] in ("#", "%"):
            greedy = rest[:2] in ("##", "%%")
            regex = self._pattern(rest[2 if greedy else 1 :])
            if rest[0] == "#":
                found = re.match(f"(?s:{regex})", value) if greedy else _shortest_prefix(regex, value)
                return value[found.end() :] if found else value
            candidates = range(len(value) + 1) if greedy else range(len(value), -1, -1)
            for start in candidates:
                self.budget.tick()
                if re.fullmatch(f"(?s:{regex})", value[start:]):
                    return value[:start]
            return value
        if rest.startswith("/"):
            body = rest[1:]
            every = body.startswith("/")
            anchor = body[:1] if body[:1] in ("#", "%") and not every else ""
            body = body[1:] if every or anchor else body
            pieces = _split_slash(body)
            regex = self._pattern(pieces[0])
            new = self.expand_string(parse_word(pieces[1], self.budget)) if len(pieces) > 1 else ""
            if not pieces[0]:
                return value
            if anchor == "#":
                regex = f"^(?:{regex})"
            elif anchor == "%":
                regex = f"(?:{regex})$"
            result = re.sub(f"(?s:{regex})", lambda _: new, value, count=0 if every else 1)
            self.budget.room(len(result))
            return result
        raise Unsupported(f"parameter operator {rest[:10]!r}")

    def _substitute(self, source: str) -> str:
        child = self.subshell()
        output = child.capture(source, "")
        return output.rstrip("\n")

    def subshell(self) -> Shell:
        if self.depth >= _MAX_DEPTH:
            raise Unsupported("too deep")
        child = Shell(self.budget, self.depth + 1)
        child.vars = dict(self.vars)
        child.arrays = {name: dict(values) for name, values in self.arrays.items()}
        child.files = self.files
        return child

    def fields(self, word: Word) -> list[str]:
        """The words ``word`` expands to: brace expansion, expansions, splitting, globbing."""
        results: list[str] = []
        for one in _braces(word, self.budget):
            results.extend(self._fields(one))
        return results

    def _fields(self, word: Word) -> list[str]:
        fields: list[list[tuple[str, bool]]] = [[]]
        ifs = self.vars.get("IFS", " \t\n")
        for kind, text, quoted in word.parts:
            self.budget.tick()
            if kind == "lit":
                fields[-1].append((text, quoted))
                continue
            value: list[str] | str
            if kind == "param":
                value = self._param(text, quoted)
            elif kind == "cmd":
                value = self._substitute(text)
            elif kind == "arith":
                value = str(self.arith(self.expand_string(parse_word(text, self.budget), True)))
            else:
                raise Unsupported("process substitution")
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if index:
                        fields.append([])
                    fields[-1].append((item, True))
                continue
            if quoted:
                fields[-1].append((value, True))
                continue
            pieces = re.split("[" + re.escape(ifs) + "]+", value) if ifs else [value]
            for index, piece in enumerate(pieces):
                if index:
                    fields.append([])
                fields[-1].append((piece, False))
        out: list[str] = []
        for segments in fields:
            if not any(quoted or text for text, quoted in segments):
                continue
            out.extend(self._glob(segments))
        return out

    def _glob(self, segments: list[tuple[str, bool]]) -> list[str]:
        text = "".join(piece for piece, _ in segments)
        if not any(not quoted and re.search(r"[*?\[]", piece) for piece, quoted in segments):
            return [text]
        regex = "".join(re.escape(piece) if quoted else _glob_regex(piece) for piece, quoted in segments)
        parent = text.rsplit("/", 1)[0] if "/" in text else ""
        if not any(name.startswith(parent + "/") for name in self.files):
            return [text]
        depth = text.count("/")
        found = sorted(
            (
                name
                for name in self.files
                if name.count("/") == depth
                and re.fullmatch(f"(?s:{regex})", name.replace("/", "/"))
                and "/" not in name[len(parent) + 1 :]
            ),
            key=_collate,
        )
        return found or [text]

    def expand_string(self, word: Word, arith: bool = False) -> str:
        """``word`` expanded as one string: no splitting, no globbing (assignments, patterns)."""
        out: list[str] = []
        for kind, text, _quoted in word.parts:
            self.budget.tick()
            if kind == "lit":
                out.append(text)
            elif kind == "param":
                value = self._param(text, False)
                out.append(" ".join(value) if isinstance(value, list) else value)
            elif kind == "cmd":
                out.append(self._substitute(text))
            elif kind == "arith":
                out.append(str(self.arith(self.expand_string(parse_word(text, self.budget), True))))
            else:
                raise Unsupported("process substitution")
        return "".join(out)

    # running ---------------------------------------------------------------------------------------

    def capture(self, source: str, stdin: str | None) -> str:
        """What ``source`` writes to its standard output; :class:`Unknown` when that cannot be known."""
        out: list[str] = []
        self.run_list(parse(source, self.budget), False, out, stdin)
        return "".join(out)

    def run_list(self, items: list[AndOr], top: bool, out: list[str], stdin: str | None = None) -> int:
        status = 0
        for item in items:
            self.budget.tick()
            status = self.run_pipeline(item.first, top, out, stdin, ";")
            for op, pipeline in item.rest:
                if (op == "&&") == (status == 0):
                    status = self.run_pipeline(pipeline, top, out, stdin, op)
        return status

    def emit(self, joiner: str, text: str) -> None:
        self.budget.room(sum(len(item) for _, item in self.emitted) + len(text))
        self.emitted.append((joiner, text))

    def run_pipeline(
        self, pipeline: Pipeline, top: bool, out: list[str], stdin: str | None, joiner: str
    ) -> int:
        commands = pipeline.commands
        if len(commands) == 1:
            status = self.run_command(commands[0], top, out, stdin, joiner)
        elif not top:
            data: str | None = stdin
            status = 0
            for command in commands:
                piece: list[str] = []
                status = self.run_command(command, False, piece, data, "|")
                data = "".join(piece)
            out.append(data or "")
        else:
            data = stdin
            for command in commands[:-1]:
                piece = []
                try:
                    self.run_command(command, False, piece, data, "|")
                    data = "".join(piece)
                except Unknown:
                    data = None
            last = commands[-1]
            payload = self._sink_payload(last, data) if data is not None else None
            if payload is not None:
                self.changed = True
                self.kinds.add("pipe")
                self.emit(joiner, payload)
            else:
                rendered = " | ".join(self.render(command) for command in commands)
                self.emit(joiner, rendered)
            status = 0
        return int(not status) if pipeline.negate else status

    def _sink_payload(self, command: Command, stdin: str) -> str | None:
        if not isinstance(command, Simple):
            return None
        try:
            words = [field for word in command.words for field in self.fields(word)]
        except Unknown:
            return None
        if not words or words[0].rsplit("/", 1)[-1] not in SHELLS:
            return None
        if len(words) > 1 and any(word in ("-c", "-ec") for word in words[1:]):
            return None
        if any(redir.op != "<<<" and redir.op.startswith("<") for redir in command.redirs):
            return None
        return stdin.strip()

    def render(self, command: Command) -> str:
        """The command as the shell would run it: words expanded and quoted; the source when unknown."""
        if isinstance(command, Compound):
            return command.src
        try:
            pieces: list[str] = []
            dirty = False
            for word in command.assigns:
                if word.clean or word.array is not None:
                    pieces.append(word.src)
                else:
                    name, _, _ = word.parts[0][1].partition("=")
                    rest = word.parts[0][1][len(name) + 1 :]
                    tail = Word((("lit", rest, False), *word.parts[1:]), "")
                    pieces.append(name + "=" + quote(self.expand_string(tail)))
                    dirty = True
            for word in command.words:
                if word.clean:
                    pieces.append(word.src)
                else:
                    dirty = True
                    pieces.extend(quote(field) for field in self.fields(word))
            for redir in command.redirs:
                if redir.target.clean:
                    target = redir.target.src
                else:
                    dirty = True
                    target = quote(self.expand_string(redir.target))
                pieces.append(
                    f"{redir.fd}{redir.op} {target}" if redir.op == "<<<" else f"{redir.fd}{redir.op}{target}"
                )
        except Unknown:
            return command.src
        if dirty:
            self.changed = True
        return " ".join(pieces)

    def run_command(self, command: Command, top: bool, out: list[str], stdin: str | None, joiner: str) -> int:
        self.budget.tick()
        if isinstance(command, Compound):
            return self.run_compound(command, top, out, stdin, joiner)
        try:
            words = [field for word in command.words for field in self.fields(word)]
            for redir in command.redirs:
                if redir.op == "<<<":
                    stdin = self.expand_string(redir.target) + "\n"
                elif redir.op == "<" and not redir.fd:
                    path = self.expand_string(redir.target)
                    found = self.files.get(path)
                    if found is None:
                        raise Unknown(path)
                    stdin = found
        except Unknown:
            if not top:
                raise
            self.emit(joiner, command.src)
            return 0
        if not words:
            for word in command.assigns:
                self.assign(word)
            if top:
                self.changed = True
            return 0
        name = words[0].rsplit("/", 1)[-1]
        if top:
            payload = self._top_sink(name, words, stdin, command)
            if payload is not None:
                self.changed = True
                self.kinds.add("eval" if name == "eval" else "shell")
                self.emit(joiner, payload)
                return 0
            self.emit(joiner, self.render(command))
            with contextlib.suppress(Unknown, Unsupported):
                self._run_simple(command, words, [], stdin)
            return 0
        return self._run_simple(command, words, out, stdin)

    def _top_sink(self, name: str, words: list[str], stdin: str | None, command: Simple) -> str | None:
        if name == "eval":
            return " ".join(words[1:]).strip()
        if name in SHELLS:
            if "-c" in words[1:]:
                index = words.index("-c", 1)
                return words[index + 1].strip() if index + 1 < len(words) else None
            if len(words) == 1 and stdin is not None:
                return stdin.strip()
        if name in (".", "source") and len(command.words) > 1:
            parts = command.words[1].parts
            if len(parts) == 1 and parts[0][0] == "proc":
                child = self.subshell()
                try:
                    return child.capture(parts[0][1], None).strip()
                except Unknown:
                    return None
        return None

    def assign(self, word: Word) -> None:
        head = word.parts[0][1]
        match = re.match(r"([A-Za-z_]\w*)(\[[^\]]*\])?(\+?)=", head)
        if match is None:
            raise Unsupported("assignment")
        name = match.group(1)
        if word.array is not None:
            values = [field for item in word.array for field in self.fields(item)]
            base = self.arrays.get(name, {}) if match.group(3) else {}
            start = max(base) + 1 if base else 0
            self.arrays[name] = {**base, **{start + i: v for i, v in enumerate(values)}}
            self.vars.pop(name, None)
            return
        tail = Word((("lit", head[match.end() :], False), *word.parts[1:]), "")
        value = self.expand_string(tail)
        key = name + (match.group(2) or "")
        if match.group(3):
            with contextlib.suppress(Unknown):
                value = self.get(key) + value
        self.put(key, value)

    def run_compound(self, node: Compound, top: bool, out: list[str], stdin: str | None, joiner: str) -> int:
        if node.redirs and any(r.op != "<<<" for r in node.redirs):
            raise Unsupported("redirection of a compound command")
        for redir in node.redirs:
            stdin = self.expand_string(redir.target) + "\n"
        kind = node.kind
        if kind == "subshell":
            child = self.subshell()
            status = child.run_list(node.body, top, out, stdin)
            self.emitted.extend(child.emitted)
            self.changed |= child.changed
            self.kinds |= child.kinds
            return status
        if kind == "group":
            return self.run_list(node.body, top, out, stdin)
        if kind == "arith":
            return int(self.arith(self.expand_string(parse_word(node.exprs[0], self.budget), True)) == 0)
        if kind == "cond":
            return int(not self._cond(node.words or []))
        if kind == "if":
            for cond, body in node.clauses:
                if self.run_list(cond, False, [], stdin) == 0:
                    return self.run_list(body, top, out, stdin)
            return self.run_list(node.other, top, out, stdin) if node.other else 0
        if kind in ("while", "until"):
            cond, body = node.clauses[0]
            status = 0
            for _ in range(100_000):
                self.budget.tick()
                if (self.run_list(cond, False, [], stdin) == 0) != (kind == "while"):
                    return status
                status = self.run_list(body, top, out, stdin)
            raise Unsupported("endless loop")
        if kind == "for":
            words = [f for w in node.words for f in self.fields(w)] if node.words is not None else []
            status = 0
            for value in words:
                self.budget.tick()
                self.put(node.name, value)
                status = self.run_list(node.body, top, out, stdin)
            return status
        if kind == "forarith":
            init, test, step = node.exprs
            expand = self.expand_string
            if init.strip():
                self.arith(expand(parse_word(init, self.budget), True))
            status = 0
            for _ in range(100_000):
                self.budget.tick()
                if test.strip() and not self.arith(expand(parse_word(test, self.budget), True)):
                    return status
                status = self.run_list(node.body, top, out, stdin)
                if step.strip():
                    self.arith(expand(parse_word(step, self.budget), True))
            raise Unsupported("endless loop")
        raise Unsupported(kind)

    def _cond(self, words: list[Word]) -> bool:
        tokens: list[tuple[str, Word]] = [(w.literal or "", w) for w in words]

        def value(index: int) -> str:
            return self.expand_string(tokens[index][1])

        def primary(index: int) -> tuple[bool, int]:
            op = tokens[index][0] if index < len(tokens) else ""
            if op == "!":
                result, nxt = primary(index + 1)
                return not result, nxt
            if op == "(":
                result, nxt = either(index + 1)
                return result, nxt + 1
            if op in ("-n", "-z") and index + 1 < len(tokens):
                text = value(index + 1)
                return (bool(text) if op == "-n" else not text), index + 2
            if index + 2 < len(tokens) + 0 and tokens[index + 1][0] in ("==", "=", "!=", "<", ">"):
                left = value(index)
                binop = tokens[index + 1][0]
                right_word = tokens[index + 2][1]
                if binop in ("==", "=", "!="):
                    regex = "".join(
                        re.escape(p[1])
                        if p[2] or (p[0] != "lit" and False)
                        else (
                            _glob_regex(p[1])
                            if p[0] == "lit" and not p[2]
                            else re.escape(self.expand_string(Word((p,), "")))
                        )
                        for p in right_word.parts
                    )
                    matched = re.fullmatch(f"(?s:{regex})", left) is not None
                    return (matched if binop != "!=" else not matched), index + 3
                right = value(index + 2)
                return (left < right if binop == "<" else left > right), index + 3
            if index < len(tokens):
                return bool(value(index)), index + 1
            raise Unsupported("[[")

        def both(index: int) -> tuple[bool, int]:
            result, index = primary(index)
            while index < len(tokens) and tokens[index][0] == "&&":
                right, index = primary(index + 1)
                result = result and right
            return result, index

        def either(index: int) -> tuple[bool, int]:
            result, index = both(index)
            while index < len(tokens) and tokens[index][0] == "||":
                right, index = both(index + 1)
                result = result or right
            return result, index

        result, end = either(0)
        if end != len(tokens):
            raise Unsupported("[[")
        return result

    # utilities -------------------------------------------------------------------------------------

    def _run_simple(self, command: Simple, words: list[str], out: list[str], stdin: str | None) -> int:
        for word in command.assigns:
            self.assign(word)
        name = words[0].rsplit("/", 1)[-1]
        args = words[1:]
        target: str | None = None
        for redir in command.redirs:
            if redir.op in (">", ">>", ">|", "&>") and redir.fd in ("", "1"):
                target = self.expand_string(redir.target)
        piece: list[str] = []
        status = self.utility(name, args, piece, stdin)
        data = "".join(piece)
        self.budget.room(len(data))
        if target is not None:
            if target != "/dev/null":
                append = any(redir.op == ">>" for redir in command.redirs)
                self.files[target] = (self.files.get(target) or "") + data if append else data
        else:
            out.append(data)
        return status

    def utility(  # noqa: PLR0915
        self, name: str, args: list[str], out: list[str], stdin: str | None
    ) -> int:
        self.budget.tick(1 + sum(len(arg) for arg in args) // 32)

        def data() -> str:
            if stdin is None:
                raise Unknown("standard input")
            return stdin

        if name in (":", "true"):
            return 0
        if name == "false":
            return 1
        if name == "echo":
            return _echo(args, out)
        if name == "printf":
            if args[:1] == ["-v"] and len(args) > 2:
                piece: list[str] = []
                _printf(args[2], args[3:], piece)
                self.put(args[1], "".join(piece))
                return 0
            if args[:1] == ["--"]:
                args = args[1:]
            if not args:
                raise Unsupported("printf")
            _printf(args[0], args[1:], out)
            return 0
        if name == "eval":
            self.run_list(parse(" ".join(args), self.budget), False, out, stdin)
            return 0
        if name in SHELLS:
            child = self.subshell()
            child.vars = {"IFS": " \t\n", "BASH": "/bin/bash", "0": "bash", "#": "0"}
            child.arrays = {}
            if "-c" in args:
                index = args.index("-c")
                if index + 1 >= len(args):
                    raise Unsupported("bash -c")
                out.append(child.capture(args[index + 1], None))
                return 0
            if args:
                raise Unknown("script file")
            out.append(child.capture(data(), None))
            return 0
        if name in ("cat", "tac") and not [a for a in args if a != "-"]:
            text = data()
            if name == "tac":
                text = "".join(reversed(text.splitlines(keepends=True)))
            out.append(text)
            return 0
        if name == "cat":
            for path in args:
                found = self.files.get(path)
                if found is None:
                    raise Unknown(path)
                out.append(found)
            return 0
        if name == "mkdir":
            for path in args:
                if not path.startswith("-"):
                    self.files[path.rstrip("/")] = None
            return 0
        if name in ("rm", "rmdir"):
            for path in args:
                if not path.startswith("-"):
                    for key in [k for k in self.files if k == path or k.startswith(path + "/")]:
                        del self.files[key]
            return 0
        if name == "rev":
            if args:
                raise Unknown("rev of a file")
            lines = data().split("\n")
            out.append("\n".join(line[::-1] for line in lines))
            return 0
        if name == "base64":
            decode = any(a in ("-d", "--decode", "-D", "-di", "-id") for a in args)
            text = data()
            if decode:
                cleaned = re.sub(r"\s+", "", text)
                try:
                    raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
                except (binascii.Error, ValueError) as exc:
                    raise Unknown("bad base64") from exc
                out.append(from_bytes(raw))
            else:
                out.append(base64.b64encode(to_bytes(text)).decode() + "\n")
            return 0
        if name == "xxd":
            if ("-r" in args and "-p" in args) or "-rp" in args or "-pr" in args:
                hexes = re.sub(r"[^0-9a-fA-F]", "", data())
                out.append(from_bytes(bytes.fromhex(hexes[: len(hexes) // 2 * 2])))
                return 0
            if args in (["-p"], ["-ps"]):
                out.append(to_bytes(data()).hex() + "\n")
                return 0
            raise Unknown("xxd")
        if name == "tr":
            return self._tr(args, data(), out)
        if name in ("gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat"):
            if name in ("gzip", "bzip2") and not any("d" in a for a in args if a.startswith("-")):
                raise Unknown("compression")
            if [a for a in args if not a.startswith("-")]:
                raise Unknown("file")
            out.append(self._inflate(name.startswith("b"), to_bytes(data())))
            return 0
        if name == "cut":
            return _cut(args, data(), out)
        if name in ("md5sum", "sha1sum", "sha256sum"):
            if args:
                raise Unknown("file")
            algorithm = {"md5sum": "md5", "sha1sum": "sha1", "sha256sum": "sha256"}[name]
            out.append(hashlib.new(algorithm, to_bytes(data())).hexdigest() + "  -\n")
            return 0
        if name == "perl" and len(args) == 2 and args[0] == "-e":
            return _perl_xor(args[1], out)
        if name in ("export", "declare", "typeset", "local", "readonly"):
            for arg in args:
                if "=" in arg and not arg.startswith("-"):
                    key, _, value = arg.partition("=")
                    self.put(key, value)
            return 0
        raise Unknown(name)

    def _inflate(self, bzip: bool, raw: bytes) -> str:
        room = self.budget.limits.max_output + 1
        try:
            if bzip:
                unpacker = bz2.BZ2Decompressor()
                result = unpacker.decompress(raw, max_length=room)
            else:
                inflater = zlib.decompressobj(47)
                result = inflater.decompress(raw, room)
        except (OSError, zlib.error, ValueError, EOFError) as exc:
            raise Unknown("bad compressed data") from exc
        self.budget.room(len(result))
        return from_bytes(result)

    def _tr(self, args: list[str], text: str, out: list[str]) -> int:
        delete = args[:1] == ["-d"]
        sets = [_tr_set(arg) for arg in args if not arg.startswith("-")]
        if delete and len(sets) == 1:
            out.append("".join(char for char in text if char not in sets[0]))
            return 0
        if len(sets) != 2 or not sets[1] or any(a.startswith("-") for a in args):
            raise Unknown("tr")
        source, dest = sets
        dest = dest + dest[-1] * max(0, len(source) - len(dest))
        table = {ord(char): dest[index] for index, char in enumerate(source)}
        out.append(text.translate(table))
        return 0


def _tr_set(arg: str) -> str:
    text = ansi_c(arg) if "\\" in arg else arg
    out: list[str] = []
    index = 0
    while index < len(text):
        if index + 2 < len(text) and text[index + 1] == "-":
            first, last = ord(text[index]), ord(text[index + 2])
            if last >= first and last - first < 256:
                out.extend(chr(code) for code in range(first, last + 1))
                index += 3
                continue
        out.append(text[index])
        index += 1
    return "".join(out)


_FORMAT: Final = re.compile(
    r"%([-+ #0]*)(\d*)(?:\.(\d+))?([sdiouxXcbq%])"
    r"|\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|0?[0-7]{1,3}|.)",
    re.DOTALL,
)


def _int_arg(text: str) -> int:
    if text[:1] in ("'", '"'):
        return ord(text[1]) if len(text) > 1 else 0
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 8)
    except ValueError as exc:
        raise Unsupported("printf number") from exc


def _printf(fmt: str, args: list[str], out: list[str]) -> None:
    queue = list(args)
    first = True
    while first or queue:
        first = False
        used = False

        def one(match: re.Match[str]) -> str:
            nonlocal used
            if match.group(5) is not None:
                code = match.group(5)
                if code[0] == "0" and len(code) > 1:
                    code = code[1:]
                return ansi_c("\\" + code)
            flags, width, precision, conv = match.groups()[:4]
            if conv == "%":
                return "%"
            used = True
            arg = queue.pop(0) if queue else ""
            if conv in "sbq":
                text = ansi_c(arg) if conv == "b" else arg
                if precision:
                    text = text[: int(precision)]
            elif conv == "c":
                text = arg[:1]
            else:
                number = _int_arg(arg)
                spec = {"d": "d", "i": "d", "u": "d", "o": "o", "x": "x", "X": "X"}[conv]
                text = format(number, spec)
            if width:
                size = int(width)
                text = text.ljust(size) if "-" in flags else text.rjust(size, "0" if "0" in flags else " ")
            return text

        out.append(_FORMAT.sub(one, fmt))
        if not used:
            break


def _echo(args: list[str], out: list[str]) -> int:
    newline = True
    escapes = False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] if "e" in args[0] or "E" in args[0] else escapes
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = ansi_c(text.replace("\\0", "\\"))
    out.append(text + ("\n" if newline else ""))
    return 0


def _cut(args: list[str], text: str, out: list[str]) -> int:
    joined = " ".join(args)
    match = re.fullmatch(r"-([bc])\s*(\d*)(?:-(\d*))?", joined)
    if match is None:
        delim = re.fullmatch(r"-d\s*(.)\s+-f\s*(\d+)|-f\s*(\d+)\s+-d\s*(.)", joined)
        if delim is None:
            raise Unknown("cut")
        sep = delim.group(1) or delim.group(4)
        index = int(delim.group(2) or delim.group(3)) - 1
        lines = text.split("\n")
        result = [
            (line.split(sep)[index] if len(line.split(sep)) > index else "") if sep in line else line
            for line in lines[:-1]
            if lines
        ]
        out.append("".join(line + "\n" for line in result))
        return 0
    start = int(match.group(2) or 1)
    end_text = match.group(3)
    ranged = "-" in joined[2:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if ranged:
            end = int(end_text) if end_text else len(line)
            out.append(line[start - 1 : end] + "\n")
        else:
            out.append(line[start - 1 : start] + "\n")
    return 0


def _perl_xor(script: str, out: list[str]) -> int:
    match = re.fullmatch(
        r"\s*print\s+'((?:[^'\\]|\\.)*)'\s*\^\s*'((?:[^'\\]|\\.)*)'\s*;?\s*", script, re.DOTALL
    )
    if match is None:
        raise Unknown("perl")

    def unescape(text: str) -> str:
        return re.sub(r"\\([\\'])", r"\1", text)

    left, right = unescape(match.group(1)), unescape(match.group(2))
    size = max(len(left), len(right))
    left, right = left.ljust(size, "\0"), right.ljust(size, "\0")
    out.append("".join(chr(ord(a) ^ ord(b)) for a, b in zip(left, right, strict=True)))
    return 0


def _shortest_prefix(regex: str, value: str) -> re.Match[str] | None:
    for end in range(len(value) + 1):
        found = re.fullmatch(f"(?s:{regex})", value[:end])
        if found:
            return found
    return None


def _split_slash(body: str) -> list[str]:
    index = 0
    while index < len(body):
        if body[index] == "\\":
            index += 2
            continue
        if body[index] == "/":
            return [body[:index], body[index + 1 :]]
        index += 1
    return [body]


def _braces(word: Word, budget: Budget) -> list[Word]:
    for position, part in enumerate(word.parts):
        if part[0] != "lit" or part[2] or "{" not in part[1]:
            continue
        match = _BRACE.search(part[1])
        if match is None:
            continue
        body = match.group(1)
        if ".." in body and "," not in body:
            first, last = body.split("..", 1)
            if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
                low, high = int(first), int(last)
                step = 1 if high >= low else -1
                if abs(high - low) > 4096:
                    raise Unsupported("brace range")
                options = [str(value) for value in range(low, high + step, step)]
            elif len(first) == 1 and len(last) == 1:
                step = 1 if ord(last) >= ord(first) else -1
                options = [chr(code) for code in range(ord(first), ord(last) + step, step)]
            else:
                continue
        else:
            options = body.split(",")
        budget.tick(len(options))
        results: list[Word] = []
        for option in options:
            text = part[1][: match.start()] + option + part[1][match.end() :]
            parts = (*word.parts[:position], ("lit", text, False), *word.parts[position + 1 :])
            results.extend(_braces(Word(parts, word.src, word.array), budget))
            budget.room(len(results))
        return results
    return [word]


def run(text: str, budget: Budget) -> tuple[str, bool, set[str]] | None:
    """The commands ``text`` would run, whether that differs from the text, and the kinds of shell
    entry used (``pipe``, ``eval``, ``shell``); None outside the subset."""
    shell = Shell(budget)
    try:
        tree = parse(text, budget)
        shell.run_list(tree, True, [])
    except (Unsupported, Unknown, RecursionError, IndexError):
        return None
    if not shell.emitted:
        return None
    pieces: list[str] = []
    for index, (joiner, item) in enumerate(shell.emitted):
        if index:
            pieces.append("; " if joiner in (";", "|") else f" {joiner} ")
        pieces.append(item)
    return "".join(pieces), shell.changed, shell.kinds
