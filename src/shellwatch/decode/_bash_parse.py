"""A small parser of bash command lines into a tree the emulator of :mod:`._bash_run` walks.

Words keep their parts (literal text, quoted or not, parameter expansions, command substitutions,
arithmetic) and their source text. Anything outside the subset (here-documents, ``case``, functions)
raises :class:`Unsupported`, and the caller leaves the line as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from shellwatch.decode.model import Budget


class Unsupported(Exception):
    """The text uses shell syntax outside the emulated subset."""


_META: Final = frozenset(" \t\n;&|()<>")
_SIMPLE_ESC: Final = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_ESC: Final = re.compile(
    r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.DOTALL
)
_ASSIGN: Final = re.compile(r"([A-Za-z_]\w*)(\[[^\]]*\])?(\+?)=")
_REDIR: Final = re.compile(r"(\d*)(<<<|<<-?|<>|<&|>&|>>|>\||&>>|&>|<|>)")
_NAME: Final = re.compile(r"[A-Za-z_]\w*")
_EMPTY_PARENS: Final = re.compile(r"\(\s*\)")
_NUMERIC_ESCAPE: Final = re.compile(r"\\(?:[xuU][0-9a-fA-F]|[0-7])")
RESERVED: Final = frozenset({"then", "elif", "else", "fi", "do", "done", "}", "esac", "in"})


def ansi_c(body: str) -> str:
    """The text of the body of ``$'...'``."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            return chr(min(int(code[1:], 16), 0x10FFFF))
        if code[0] in "01234567":
            return chr(int(code, 8) & 0xFF)
        if code[0] == "c" and len(code) == 2:
            return chr(ord(code[1].upper()) ^ 0x40)
        return _SIMPLE_ESC.get(code, "\\" + code)

    return _ANSI_ESC.sub(one, body)


# A part: (kind, text, quoted); kinds: lit, param, cmd, arith, proc.
Part = tuple[str, str, bool]


@dataclass(frozen=True, slots=True)
class Word:
    parts: tuple[Part, ...]
    src: str
    array: tuple[Word, ...] | None = None

    @property
    def literal(self) -> str | None:
        """The text of a word made of unquoted literal characters only."""
        if len(self.parts) == 1 and self.parts[0][0] == "lit" and not self.parts[0][2]:
            return self.parts[0][1]
        return None

    @property
    def clean(self) -> bool:
        """No expansion, no brace, and quoting a plain script would write: the word is written as is."""
        if any(part[0] != "lit" or (not part[2] and "{" in part[1]) for part in self.parts):
            return False
        return self.array is None and not hides(self.src)


@dataclass(frozen=True, slots=True)
class Redir:
    op: str
    target: Word
    fd: str = ""


@dataclass(slots=True)
class Simple:
    assigns: list[Word] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)
    src: str = ""


@dataclass(slots=True)
class Compound:
    kind: str  # subshell, group, for, forarith, if, while, until, arith, cond, function
    body: list[AndOr] = field(default_factory=list)
    name: str = ""
    words: list[Word] | None = None
    exprs: tuple[str, ...] = ()
    clauses: list[tuple[list[AndOr], list[AndOr]]] = field(default_factory=list)
    other: list[AndOr] | None = None
    redirs: list[Redir] = field(default_factory=list)
    src: str = ""


Command = Simple | Compound


@dataclass(slots=True)
class Pipeline:
    commands: list[Command]
    negate: bool = False


@dataclass(slots=True)
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]
    sep: str = ";"


def _ordinary(char: str) -> bool:
    return char.isalnum() or char in "_/.-"


def _glued(char: str) -> bool:
    """A neighbour that makes a quoted run part of a longer word (a character or another quoted run)."""
    return bool(char) and (_ordinary(char) or char in "'\"$")


def _quoted_end(src: str, start: int, escapes: bool) -> int:
    """Index of the quote closing the one at ``src[start]``; backslashes escape when ``escapes``."""
    index = start + 1
    while index < len(src) and src[index] != src[start]:
        index += 2 if escapes and src[index] == "\\" else 1
    return index


def hides(src: str) -> bool:
    """Whether the quoting of a word's source hides its text: quotes glued inside a word of ordinary
    characters (``w"h"o``, ``wh''o``), a backslash before a letter or digit (``w\\ho``), ANSI-C escapes
    by number (``$'\\x69'``). Quoting a plain script needs (``"a b"``, ``-d$'\\t'``) hides nothing."""
    index = 0
    while index < len(src):
        char = src[index]
        if char == "\\":
            if src[index + 1 : index + 2].isalnum():
                return True
            index += 2
        elif char == "$" and src.startswith("'", index + 1):
            end = _quoted_end(src, index + 1, True)
            if _NUMERIC_ESCAPE.search(src[index + 2 : end]):
                return True
            index = end + 1
        elif char in "'\"":
            end = _quoted_end(src, index, char == '"')
            glued = _glued(src[index - 1 : index]) or _glued(src[end + 1 : end + 2])
            if glued and all(_ordinary(inner) for inner in src[index + 1 : end]):
                return True
            index = end + 1
        else:
            index += 1
    return False


def find_close(text: str, start: int, opener: str, closer: str) -> int:
    """Index of the ``closer`` matching ``text[start] == opener``, skipping quotes and escapes."""
    depth = 0
    index = start
    size = len(text)
    while index < size:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "'" and opener != "{":
            end = text.find("'", index + 1)
            if end < 0:
                raise Unsupported("unterminated quote")
            index = end + 1
            continue
        if char == '"':
            index = _skip_double(text, index)
            continue
        if char == "`":
            index = _skip_backtick(text, index)
            continue
        if char == "$" and index + 1 < size and text[index + 1] in "({[" and opener not in "({[":
            index += 1
            continue
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise Unsupported(f"no closing {closer}")


def _skip_double(text: str, start: int) -> int:
    index = start + 1
    size = len(text)
    while index < size:
        char = text[index]
        if char == "\\":
            index += 2
        elif char == '"':
            return index + 1
        elif char == "`":
            index = _skip_backtick(text, index)
        elif char == "$" and index + 1 < size and text[index + 1] in "({":
            opener = text[index + 1]
            index = find_close(text, index + 1, opener, ")" if opener == "(" else "}") + 1
        else:
            index += 1
    raise Unsupported("unterminated double quote")


def _skip_backtick(text: str, start: int) -> int:
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == "`":
            return index + 1
        else:
            index += 1
    raise Unsupported("unterminated backtick")


class Parser:
    def __init__(self, text: str, budget: Budget) -> None:
        self.text = text
        self.pos = 0
        self.budget = budget
        budget.tick(len(text) // 8 + 1)

    # words -----------------------------------------------------------------------------------------

    def _dollar(self, parts: list[Part], quoted: bool) -> None:
        text, index = self.text, self.pos
        nxt = text[index + 1] if index + 1 < len(text) else ""
        if nxt == "(":
            end = find_close(text, index + 1, "(", ")")
            inner = text[index + 2 : end]
            if inner.startswith("(") and inner.endswith(")") and _balanced(inner[1:-1]):
                parts.append(("arith", inner[1:-1], quoted))
            else:
                parts.append(("cmd", inner, quoted))
            self.pos = end + 1
        elif nxt == "[":
            end = find_close(text, index + 1, "[", "]")
            parts.append(("arith", text[index + 2 : end], quoted))
            self.pos = end + 1
        elif nxt == "{":
            end = find_close(text, index + 1, "{", "}")
            parts.append(("param", text[index + 2 : end], quoted))
            self.pos = end + 1
        elif nxt == "'" and not quoted:
            end = index + 2
            while end < len(text) and text[end] != "'":
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise Unsupported("unterminated $'")
            parts.append(("lit", ansi_c(text[index + 2 : end]), True))
            self.pos = end + 1
        elif nxt == '"' and not quoted:
            self.pos = index + 1
        elif nxt and nxt.isascii() and (nxt.isalpha() or nxt == "_"):
            match = re.compile(r"[A-Za-z_]\w*").match(text, index + 1)
            assert match is not None
            parts.append(("param", match.group(), quoted))
            self.pos = match.end()
        elif nxt and ((nxt.isascii() and nxt.isdigit()) or nxt in "@*#?$!-"):
            parts.append(("param", nxt, quoted))
            self.pos = index + 2
        else:
            parts.append(("lit", "$", quoted))
            self.pos = index + 1

    def _backtick(self, parts: list[Part], quoted: bool) -> None:
        end = _skip_backtick(self.text, self.pos)
        body = re.sub(r"\\([\\`$])", r"\1", self.text[self.pos + 1 : end - 1])
        parts.append(("cmd", body, quoted))
        self.pos = end

    def word(self) -> Word | None:
        text = self.text
        start = self.pos
        parts: list[Part] = []
        size = len(text)
        while self.pos < size:
            char = text[self.pos]
            if char in _META:
                if char == "(" and parts and _ASSIGN.fullmatch(text[start : self.pos]):
                    return self._array(start)
                if char in "<>" and self.pos + 1 < size and text[self.pos + 1] == "(" and not parts:
                    end = find_close(text, self.pos + 1, "(", ")")
                    parts.append(("proc", text[self.pos + 2 : end], False))
                    self.pos = end + 1
                    continue
                break
            if char == "\\":
                if self.pos + 1 < size and text[self.pos + 1] == "\n":
                    self.pos += 2
                    continue
                parts.append(("lit", text[self.pos + 1 : self.pos + 2], True))
                self.pos += 2
            elif char == "'":
                end = text.find("'", self.pos + 1)
                if end < 0:
                    raise Unsupported("unterminated quote")
                parts.append(("lit", text[self.pos + 1 : end], True))
                self.pos = end + 1
            elif char == '"':
                self._double(parts)
            elif char == "$":
                self._dollar(parts, False)
            elif char == "`":
                self._backtick(parts, False)
            else:
                parts.append(("lit", char, False))
                self.pos += 1
        if self.pos == start:
            return None
        return Word(_merge(parts), text[start : self.pos])

    def _double(self, parts: list[Part]) -> None:
        text = self.text
        self.pos += 1
        before = len(parts)
        while True:
            if self.pos >= len(text):
                raise Unsupported("unterminated double quote")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                if len(parts) == before:
                    parts.append(("lit", "", True))
                return
            if char == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt in ("$", "`", '"', "\\"):
                    parts.append(("lit", nxt, True))
                elif nxt != "\n":
                    parts.append(("lit", "\\" + nxt, True))
                self.pos += 2
            elif char == "$":
                self._dollar(parts, True)
            elif char == "`":
                self._backtick(parts, True)
            else:
                parts.append(("lit", char, True))
                self.pos += 1

    def _array(self, start: int) -> Word:
        head = self.text[start : self.pos]
        self.pos += 1
        items: list[Word] = []
        while True:
            self._blank(newlines=True)
            if self.pos >= len(self.text):
                raise Unsupported("unterminated array")
            if self.text[self.pos] == ")":
                self.pos += 1
                break
            item = self.word()
            if item is None:
                raise Unsupported("bad array element")
            items.append(item)
            self.budget.tick()
        return Word((("lit", head, False),), self.text[start : self.pos], tuple(items))

    # structure -------------------------------------------------------------------------------------

    def _blank(self, newlines: bool = False) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char in "\n;" and char == "\n"):
                self.pos += 1
            elif char == "\\" and text[self.pos + 1 : self.pos + 2] == "\n":
                self.pos += 2
            elif char == "#" and (self.pos == 0 or text[self.pos - 1] in " \t\n;"):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def _peek_word(self) -> str | None:
        saved = self.pos
        self._blank()
        try:
            found = self.word()
        finally:
            self.pos = saved
        return found.literal if found is not None else None

    def _expect(self, keyword: str) -> None:
        self._blank(newlines=True)
        found = self.word()
        if found is None or found.literal != keyword:
            raise Unsupported(f"expected {keyword}")

    def parse(self) -> list[AndOr]:
        body = self.seq(())
        self._blank(newlines=True)
        if self.pos < len(self.text):
            raise Unsupported(f"unexpected {self.text[self.pos]!r}")
        return body

    def seq(self, stops: tuple[str, ...]) -> list[AndOr]:
        items: list[AndOr] = []
        while True:
            self._blank(newlines=True)
            while self.pos < len(self.text) and self.text[self.pos] == ";" and not items:
                self.pos += 1
                self._blank(newlines=True)
            if self.pos >= len(self.text) or self.text[self.pos] == ")":
                return items
            if self.text.startswith(";;", self.pos):
                raise Unsupported("case")
            if self._peek_word() in stops:
                return items
            item = self.and_or()
            items.append(item)
            self._blank()
            if self.pos < len(self.text) and self.text[self.pos] in ";&\n":
                if self.text.startswith(";;", self.pos):
                    raise Unsupported("case")
                item.sep = "&" if self.text[self.pos] == "&" else ";"
                self.pos += 1

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while True:
            self._blank()
            op = self.text[self.pos : self.pos + 2]
            if op not in ("&&", "||"):
                return AndOr(first, rest)
            self.pos += 2
            self._blank(newlines=True)
            rest.append((op, self.pipeline()))

    def pipeline(self) -> Pipeline:
        self._blank()
        negate = False
        if self.text.startswith("!", self.pos) and self.text[self.pos + 1 : self.pos + 2] in (" ", "\t"):
            negate = True
            self.pos += 1
        commands = [self.command()]
        while True:
            self._blank()
            if self.text.startswith("|", self.pos) and not self.text.startswith("||", self.pos):
                self.pos += 2 if self.text.startswith("|&", self.pos) else 1
                self._blank(newlines=True)
                commands.append(self.command())
            else:
                return Pipeline(commands, negate)

    def _redirs(self, redirs: list[Redir]) -> None:
        while True:
            self._blank()
            match = _REDIR.match(self.text, self.pos)
            if match is None or (match.group(1) == "" and self.text[self.pos : self.pos + 2] in ("<(", ">(")):
                return
            if match.group(2).startswith("<<") and match.group(2) != "<<<":
                raise Unsupported("here-document")
            self.pos = match.end()
            self._blank()
            target = self.word()
            if target is None:
                raise Unsupported("redirection without target")
            redirs.append(Redir(match.group(2), target, match.group(1)))

    def command(self) -> Command:
        self.budget.tick()
        self._blank()
        start = self.pos
        text = self.text
        if text.startswith("((", self.pos):
            end = find_close(text, self.pos, "(", ")")
            inner = text[self.pos + 1 : end]
            if inner.startswith("(") and inner.endswith(")") and _balanced(inner[1:-1]):
                self.pos = end + 1
                return self._finish(Compound("arith", exprs=(inner[1:-1],)), start)
        if text.startswith("(", self.pos):
            self.pos += 1
            body = self.seq(())
            if not text.startswith(")", self.pos):
                raise Unsupported("unclosed subshell")
            self.pos += 1
            return self._finish(Compound("subshell", body), start)
        keyword = self._peek_word()
        if keyword == "{":
            self._blank()
            self.word()
            body = self.seq(("}",))
            self._expect("}")
            return self._finish(Compound("group", body), start)
        if keyword == "[[":
            return self._cond(start)
        if keyword == "for":
            return self._for(start)
        if keyword == "if":
            return self._if(start)
        if keyword in ("while", "until"):
            self._blank()
            self.word()
            cond = self.seq(("do",))
            self._expect("do")
            body = self.seq(("done",))
            self._expect("done")
            return self._finish(Compound(keyword, body, clauses=[(cond, body)]), start)
        if keyword in ("case", "function", "select", "coproc") or keyword in RESERVED:
            raise Unsupported(keyword)
        return self._simple(start)

    def _finish(self, node: Compound, start: int) -> Compound:
        self._redirs(node.redirs)
        node.src = self.text[start : self.pos]
        return node

    def _function(self, name: Word, start: int) -> Compound:
        """``name() body``: the definition, its body one compound command."""
        match = _EMPTY_PARENS.match(self.text, self.pos)
        if match is None or name.literal is None:
            raise Unsupported("unexpected (")
        self.pos = match.end()
        self._blank(newlines=True)
        body = self.command()
        if not isinstance(body, Compound):
            raise Unsupported("function body")
        node = Compound("function", [AndOr(Pipeline([body]), [])], name=name.literal)
        node.src = self.text[start : self.pos]
        return node

    def _simple(self, start: int) -> Command:
        node = Simple()
        while True:
            self._redirs(node.redirs)
            self._blank()
            if self.pos >= len(self.text) or self.text[self.pos] in ";&|)\n":
                break
            if self.text[self.pos] == "(":
                if len(node.words) == 1 and not node.assigns and not node.redirs:
                    return self._function(node.words[0], start)
                raise Unsupported("unexpected (")
            found = self.word()
            if found is None:
                raise Unsupported(f"unexpected {self.text[self.pos]!r}")
            self.budget.tick()
            if not node.words and (found.array is not None or split_assignment(found.src) is not None):
                node.assigns.append(found)
            else:
                node.words.append(found)
        if not node.words and not node.assigns and not node.redirs:
            raise Unsupported("empty command")
        node.src = self.text[start : self.pos].strip()
        return node

    def _cond(self, start: int) -> Compound:
        self._blank()
        self.word()
        words: list[Word] = []
        while True:
            self._blank()
            if self.text.startswith("&&", self.pos) or self.text.startswith("||", self.pos):
                words.append(Word((("lit", self.text[self.pos : self.pos + 2], False),), ""))
                self.pos += 2
                continue
            if self.pos < len(self.text) and self.text[self.pos] in "()<>":
                char = self.text[self.pos]
                words.append(Word((("lit", char, False),), char))
                self.pos += 1
                continue
            found = self.word()
            if found is None:
                raise Unsupported("bad [[")
            if found.literal == "]]":
                break
            words.append(found)
            self.budget.tick()
        return self._finish(Compound("cond", words=words), start)

    def _for(self, start: int) -> Compound:
        self._blank()
        self.word()
        self._blank()
        if self.text.startswith("((", self.pos):
            end = find_close(self.text, self.pos, "(", ")")
            inner = self.text[self.pos + 2 : end - 1]
            self.pos = end + 1
            exprs = _split_top(inner, ";")
            if len(exprs) != 3:
                raise Unsupported("bad for ((")
            self._blank()
            if self.text.startswith(";", self.pos):
                self.pos += 1
            body = self._loop_body()
            return self._finish(Compound("forarith", body, exprs=tuple(exprs)), start)
        name = self.word()
        if name is None or name.literal is None:
            raise Unsupported("bad for")
        self._blank(newlines=True)
        words: list[Word] | None = None
        if self._peek_word() == "in":
            self._blank()
            self.word()
            words = []
            while True:
                self._blank()
                if self.pos >= len(self.text) or self.text[self.pos] in ";\n":
                    self.pos += 1
                    break
                found = self.word()
                if found is None:
                    raise Unsupported("bad for list")
                words.append(found)
                self.budget.tick()
        body = self._loop_body()
        return self._finish(Compound("for", body, name=name.literal, words=words), start)

    def _loop_body(self) -> list[AndOr]:
        self._blank(newlines=True)
        if self._peek_word() == "{":
            self._blank()
            self.word()
            body = self.seq(("}",))
            self._expect("}")
            return body
        self._expect("do")
        body = self.seq(("done",))
        self._expect("done")
        return body

    def _if(self, start: int) -> Compound:
        self._blank()
        self.word()
        node = Compound("if")
        while True:
            cond = self.seq(("then",))
            self._expect("then")
            body = self.seq(("elif", "else", "fi"))
            node.clauses.append((cond, body))
            self._blank(newlines=True)
            found = self.word()
            keyword = found.literal if found is not None else None
            if keyword == "elif":
                continue
            if keyword == "else":
                node.other = self.seq(("fi",))
                self._expect("fi")
            elif keyword != "fi":
                raise Unsupported("bad if")
            return self._finish(node, start)


def _merge(parts: list[Part]) -> tuple[Part, ...]:
    merged: list[Part] = []
    for part in parts:
        if merged and part[0] == "lit" and merged[-1][0] == "lit" and merged[-1][2] == part[2]:
            merged[-1] = ("lit", merged[-1][1] + part[1], part[2])
        else:
            merged.append(part)
    return tuple(merged)


def _balanced(text: str) -> bool:
    """Parentheses balanced outside quotes and escapes (``$(( ))`` is arithmetic, not ``$( ( ) )``)."""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            try:
                index = _skip_double(text, index)
            except Unsupported:
                return False
            continue
        if char == "'":
            end = text.find(char, index + 1)
            if end < 0:
                return False
            index = end + 1
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
        index += 1
    return depth == 0


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` outside brackets and quotes."""
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            current.append(text[index : index + 2])
            index += 2
            continue
        if char in "'\"" and depth >= 0:
            end = _skip_double(text, index) if char == '"' else text.find("'", index + 1) + 1
            if end <= 0:
                raise Unsupported("unterminated quote")
            current.append(text[index:end])
            index = end
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == sep and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


def split_assignment(src: str) -> tuple[str, str, bool, str] | None:
    """``name[subscript]+=value`` cut into name, subscript (brackets kept, or empty), ``+``, value text."""
    match = _NAME.match(src)
    if match is None:
        return None
    end = match.end()
    subscript = ""
    if src.startswith("[", end):
        try:
            close = find_close(src, end, "[", "]")
        except Unsupported:
            return None
        subscript = src[end : close + 1]
        end = close + 1
    append = src.startswith("+", end)
    end += append
    if not src.startswith("=", end):
        return None
    return match.group(), subscript, append, src[end + 1 :]


def split_top(text: str, sep: str) -> list[str]:
    return _split_top(text, sep)


def parse(text: str, budget: Budget) -> list[AndOr]:
    """The tree of ``text``; raises :class:`Unsupported` outside the subset."""
    try:
        return Parser(text, budget).parse()
    except RecursionError as exc:
        raise Unsupported("nesting too deep") from exc


def parse_word(text: str, budget: Budget) -> Word:
    """``text`` (a pattern, a default, an array subscript) read as one word, blanks included."""
    parser = Parser(text, budget)
    parts: list[Part] = []
    while parser.pos < len(text):
        found = parser.word()
        if found is None:
            parts.append(("lit", text[parser.pos], False))
            parser.pos += 1
        else:
            parts.extend(found.parts)
    return Word(_merge(parts), text)
