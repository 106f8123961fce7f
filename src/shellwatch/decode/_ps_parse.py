"""A tolerant parser of PowerShell text into a tree the PowerShell decoders fold.

It reads statements, pipelines, commands and expressions with PowerShell's precedence, and never fails:
what it cannot read it skips. Each node knows its place in the text and the *family* of decoding that
folds it (``concat``, ``format``, ``char``, ``join``, ``replace``, ``frombase64``, ``compressed``,
``scriptblock``, ``invoke``) or None for plain values and operations that only help another family
(parentheses, indexing, ``.Length``, arithmetic). Command lines are read too: a ``powershell -c`` inside
a command has the rest of the line read as script.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from shellwatch.decode._ps_lex import Token, tokens
from shellwatch.decode.model import Budget

MAX_NESTING: Final = 40
"""Parentheses, blocks and operators nested deeper than this are skipped, not read."""

_BINARY: Final = {
    "and": 0, "or": 0, "xor": 0,
    "band": 1, "bor": 1, "bxor": 1, "shl": 1, "shr": 1,
    "+": 3, "-": 3, "*": 4, "/": 4, "%": 4, "f": 5,
}  # fmt: skip
_COMPARISON: Final = re.compile(
    r"[ic]?(?:eq|ne|gt|ge|lt|le|like|notlike|match|notmatch|contains|notcontains|in|notin|replace|split)"
    r"|join|is|isnot|as"
)
_UNARY_OPS: Final = frozenset({"join", "split", "not", "bnot"})
_TERMINATORS: Final = frozenset({";", "&&", "||", ")", "}", "|"})
_STARTS_VALUE: Final = frozenset({"sq", "dq", "here", "num", "var", "type"})
_CMD: Final = re.compile(r"(?:^|[\\/])cmd(?:\.exe)?$", re.IGNORECASE)
_POWERSHELL: Final = re.compile(r"(?:^|[\\/])(?:powershell|pwsh)(?:_ise)?(?:\.exe)?$", re.IGNORECASE)
_COMMAND_PARAMETER: Final = re.compile(r"c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?$")
_REPLACE_OPS: Final = frozenset({"replace", "ireplace", "creplace"})
_COMPRESSION_TYPES: Final = frozenset({"io.compression.gzipstream", "io.compression.deflatestream"})
_STATIC_FAMILIES: Final = {
    "scriptblock::create": "scriptblock",
    "string::join": "join",
    "string::concat": "concat",
    "io.compression.gzipstream::new": "compressed",
    "io.compression.deflatestream::new": "compressed",
    "regex::replace": "replace",
}
_METHOD_FAMILIES: Final = {
    "replace": "replace",
    "getstring": "frombase64",
    "readtoend": "compressed",
    "invoke": "invoke",
}
_INVOKERS: Final = frozenset({"iex", "invoke-expression", "icm", "invoke-command"})


@dataclass(eq=False, slots=True)
class Node:
    """One piece of the tree: ``kind`` and ``name`` say what it is, ``kids`` what it is made of.

    Kinds: ``lit`` (``value``), ``var`` (``name``), ``bare`` (a bare word, ``value``), ``param``
    (``-name``), ``paren``, ``sub`` (``$( )``), ``arrayexpr`` (``@( )``), ``block`` (``{ }``),
    ``hash``, ``array``, ``range``, ``binary`` and ``unary`` (operator ``name``), ``cast`` and ``type``
    (type ``name``), ``index``, ``member`` (``name``), ``call`` (method ``name``), ``static``
    (``type::member`` ``name``, ``kids`` its arguments), ``command`` (lower-case ``name``, or ``&``/``.``
    with the callee first in ``kids``), ``pipe``, ``assign`` (``name`` of the variable, ``""`` for a
    member), ``other``.
    """

    kind: str
    start: int
    end: int
    kids: tuple[Node, ...] = ()
    name: str = ""
    value: str | int | None = None
    family: str | None = None
    families: frozenset[str] = frozenset()
    dollar: bool = False


@dataclass(slots=True)
class Tree:
    """A parsed text: its statements, every assignment in order, and how often each variable is named."""

    text: str
    statements: list[Node]
    assignments: list[tuple[Node, int]] = field(default_factory=list)
    """Each assignment with how deep in blocks it sits."""
    references: dict[str, int] = field(default_factory=dict)
    """Uses of ``$name`` (lower case), assignments not counted."""
    scripts: list[Tree] = field(default_factory=list)
    """Double-quoted strings that hold code of their own (a quoted command line), parsed apart."""
    tokens: list[Token] = field(default_factory=list)
    code_strings: list[tuple[int, int]] = field(default_factory=list)
    """Double-quoted arguments of ``powershell`` and ``cmd``: command lines of their own."""


def make(
    kind: str,
    start: int,
    end: int,
    kids: tuple[Node, ...] = (),
    name: str = "",
    value: str | int | None = None,
    family: str | None = None,
) -> Node:
    """A node, with the families and ``$_`` use of its subtree worked out."""
    families = frozenset(f for kid in kids for f in kid.families)
    if family is not None:
        families |= {family}
    dollar = any(kid.dollar for kid in kids if kid.kind != "block") or (kind == "var" and name == "_")
    return Node(kind, start, end, kids, name, value, family, families, dollar)


class _Parser:
    def __init__(self, text: str, toks: list[Token], budget: Budget) -> None:
        self.text = text
        self.toks = toks
        self.budget = budget
        self.i = 0
        self.depth = 0
        self.block_depth = 0
        self.comma = True
        self.tree = Tree(text, [])

    # -- tokens

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.i + ahead
        return self.toks[index] if index < len(self.toks) else None

    def is_punct(self, token: Token | None, *chars: str) -> bool:
        return token is not None and token.kind in ("punct", "other") and token.text in chars

    def take(self) -> Token:
        token = self.toks[self.i]
        self.i += 1
        self.budget.tick()
        return token

    def adjacent(self, token: Token | None) -> bool:
        return token is not None and self.i > 0 and self.toks[self.i - 1].end == token.start

    def at_end_of_statement(self) -> bool:
        token = self.peek()
        return token is None or token.kind == "nl" or self.is_punct(token, *_TERMINATORS)

    # -- statements

    def statements(self, closer: str | None) -> list[Node]:
        found: list[Node] = []
        while (token := self.peek()) is not None:
            if closer is not None and self.is_punct(token, closer):
                break
            if closer is None and self.is_punct(token, ")", "}"):
                self.take()
                continue
            if token.kind == "nl" or self.is_punct(token, ";", "&&", "||", "|"):
                self.take()
                continue
            before = self.i
            node = self.statement()
            if node is not None:
                found.append(node)
            if self.i == before:
                self.take()
        return found

    def statement(self) -> Node | None:
        token = self.peek()
        assert token is not None
        if token.kind == "var" and self.assignment_follows(1):
            return self.assignment(None)
        following = self.peek(1)
        typed = token.kind == "type" and following is not None and following.kind == "var"
        if typed and self.assignment_follows(2):
            return self.assignment(self.take())
        return self.pipeline()

    def assignment_follows(self, ahead: int) -> bool:
        token = self.peek(ahead)
        if self.is_punct(token, "="):
            return not self.is_punct(self.peek(ahead + 1), "=")
        after = self.peek(ahead + 1)
        return (
            self.is_punct(token, "+", "-", "*", "/", "%")
            and self.is_punct(after, "=")
            and token is not None
            and after is not None
            and token.end == after.start
        )

    def assignment(self, cast: Token | None) -> Node:
        target = self.take()
        compound = not self.is_punct(self.peek(), "=")
        if compound:
            self.take()
        self.take()
        value = self.pipeline()
        start = cast.start if cast is not None else target.start
        end = value.end if value is not None else target.end
        kids = (value,) if value is not None else ()
        node = make("assign", start, end, kids, name=str(target.value), value="+=" if compound else "=")
        self.tree.assignments.append((node, self.block_depth))
        return node

    def pipeline(self) -> Node | None:
        first = self.element()
        if first is None:
            return None
        elements = [first]
        while self.is_punct(self.peek(), "|") and not self.is_punct(self.peek(1), "|"):
            self.take()
            while (token := self.peek()) is not None and token.kind == "nl":
                self.take()
            following = self.element()
            if following is None:
                break
            elements.append(following)
        if len(elements) == 1:
            return first
        return make("pipe", first.start, elements[-1].end, tuple(elements), family=_pipe_family(elements))

    def element(self) -> Node | None:
        token = self.peek()
        if token is None:
            return None
        if self.is_punct(token, "&", ".") and self.invocation(token):
            return self.command(invoked=True)
        if self.is_punct(token, "%") or (token.kind == "word" and not self.is_punct(self.peek(1), "::")):
            return self.command(invoked=False)
        if token.kind in ("sq", "dq") and _POWERSHELL.search(str(token.value or "")):
            return self.command(invoked=False)
        node = self.expression()
        if node is not None and self.is_punct(self.peek(), "=") and not self.is_punct(self.peek(1), "="):
            self.take()
            value = self.pipeline()
            kids = (node, value) if value is not None else (node,)
            node = make("assign", node.start, kids[-1].end, kids, name="", value="=")
            self.tree.assignments.append((node, self.block_depth))
        return node

    def invocation(self, token: Token) -> bool:
        """Whether ``&`` or ``.`` here calls something (not a member access nor a stray character)."""
        after = self.peek(1)
        if after is None or after.kind == "nl" or self.is_punct(after, *_TERMINATORS):
            return False
        if token.text == "&":
            return True
        spaced = after.start > token.end
        return spaced or self.is_punct(after, "(", "{", "$") or after.kind in ("sq", "dq", "var")

    # -- commands

    def command(self, invoked: bool) -> Node:
        first = self.take()
        kids: list[Node] = []
        if invoked:
            callee = self.argument()
            if callee is not None:
                kids.append(callee)
            name = first.text
        elif first.kind in ("sq", "dq"):
            name = str(first.value).lower()
        elif first.kind == "word":
            name = self.glued_name(first)
        else:
            name = "%"
        powershell = _POWERSHELL.search(name) is not None
        while not self.at_end_of_statement():
            token = self.peek()
            assert token is not None
            if powershell and token.kind == "op" and _COMMAND_PARAMETER.match(str(token.value)):
                kids.append(make("param", token.start, token.end, name=str(token.value)))
                self.take()
                kids.extend(self.statements(None))
                break
            if token.kind == "word" and _POWERSHELL.search(str(token.value)) and kids:
                kids.append(self.command(invoked=False))
                break
            before = self.i
            node = self.argument()
            if node is not None:
                kids.append(node)
            if self.i == before:
                self.take()
        if powershell or _CMD.search(name):
            self.tree.code_strings += [
                (kid.start, kid.end) for kid in kids if kid.kind == "lit" and kid.name == "dq"
            ]
        end = kids[-1].end if kids else first.end
        family = "invoke" if invoked or name in _INVOKERS else _command_family(name, kids)
        return make("command", first.start, end, tuple(kids), name=name, family=family)

    def glued_name(self, first: Token) -> str:
        """A command name with the adjacent characters of its path (``C:\\Windows\\...\\cmd.exe``)."""
        end = first.end
        while (
            (token := self.peek()) is not None
            and token.start == end
            and token.kind in ("word", "other", "punct")
        ):
            if self.is_punct(token, "(", "{", ";", "|", ")", "}", "&", ",", "[", "="):
                break
            end = self.take().end
        return self.text[first.start : end].replace("`", "").lower()

    def argument(self) -> Node | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op":
            self.take()
            return make("param", token.start, token.end, name=str(token.value))
        item = self.argument_item()
        if item is None or not self.is_punct(self.peek(), ","):
            return item
        items = [item]
        while self.is_punct(self.peek(), ","):
            self.take()
            following = self.argument_item()
            if following is None:
                break
            items.append(following)
        return make("array", items[0].start, items[-1].end, tuple(items))

    def argument_item(self) -> Node | None:
        token = self.peek()
        if token is None or self.at_end_of_statement():
            return None
        if token.kind in _STARTS_VALUE or self.is_punct(token, "(", "{", "@", "$", "-"):
            node = self.unary()
            if node is not None:
                return node
        return self.bare()

    def bare(self) -> Node:
        """A bare word argument: adjacent tokens that start no value, glued (``variable:x``, ``a.b``)."""
        first = self.take()
        end = first.end
        while (token := self.peek()) is not None and token.start == end and not self.at_end_of_statement():
            if token.kind in _STARTS_VALUE or self.is_punct(token, "(", "{", ","):
                break
            end = self.take().end
        return make("bare", first.start, end, value=self.text[first.start : end].replace("`", ""))

    # -- expressions

    def expression(self) -> Node | None:
        if self.depth > MAX_NESTING:
            return None
        self.depth += 1
        try:
            left = self.range_expression()
            return self.climb(left, 0) if left is not None else None
        finally:
            self.depth -= 1

    def climb(self, left: Node, lowest: int) -> Node:
        """Binary operators from ``lowest`` precedence up, by precedence climbing; runs stay flat."""
        operands = [left]
        operators: list[str] = []
        current: int | None = None
        while (found := self.binary_operator()) is not None and found[1] >= lowest:
            operator, level = found
            if current is not None and level < current:
                operands, operators = [_chain(operands, operators)], []
            current = level
            saved = self.i
            self.take()
            while (token := self.peek()) is not None and token.kind == "nl":
                self.take()
            right = self.range_expression()
            if right is None:
                self.i = saved
                break
            while (tighter := self.binary_operator()) is not None and tighter[1] > level:
                right = self.climb(right, tighter[1])
            operands.append(right)
            operators.append(operator)
        return _chain(operands, operators)

    def binary_operator(self) -> tuple[str, int] | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op":
            name = str(token.value)
            if _COMPARISON.fullmatch(name):
                return name, 2
            level = _BINARY.get(name)
            return (name, level) if level is not None else None
        if token.kind == "punct" and token.text in _BINARY:
            if token.text == "%" and self.is_punct(self.peek(1), "{"):
                return None
            return token.text, _BINARY[token.text]
        return None

    def range_expression(self) -> Node | None:
        left = self.array_expression()
        if left is not None and self.is_punct(self.peek(), ".."):
            saved = self.i
            self.take()
            right = self.array_expression()
            if right is None:
                self.i = saved
                return left
            return make("range", left.start, right.end, (left, right))
        return left

    def array_expression(self) -> Node | None:
        token = self.peek()
        if self.is_punct(token, ","):
            assert token is not None
            self.take()
            only = self.unary()
            if only is None:
                return make("array", token.start, token.end)
            return make("array", token.start, only.end, (only,))
        first = self.unary()
        if first is None or not self.comma or not self.is_punct(self.peek(), ","):
            return first
        items = [first]
        while self.is_punct(self.peek(), ","):
            self.take()
            while (following_token := self.peek()) is not None and following_token.kind == "nl":
                self.take()
            following = self.unary()
            if following is None:
                break
            items.append(following)
        return make("array", first.start, items[-1].end, tuple(items))

    def unary(self) -> Node | None:
        token = self.peek()
        if token is None or self.depth > MAX_NESTING:
            return None
        if token.kind == "op" and token.value in _UNARY_OPS:
            self.take()
            return self.unary_of(token, str(token.value), "join" if token.value == "join" else None)
        if self.is_punct(token, "-", "+", "!"):
            self.take()
            return self.unary_of(token, token.text, None)
        if token.kind == "type":
            return self.typed()
        primary = self.primary()
        return self.postfix(primary) if primary is not None else None

    def unary_of(self, token: Token, operator: str, family: str | None) -> Node | None:
        self.depth += 1
        try:
            operand = self.unary()
        finally:
            self.depth -= 1
        if operand is None:
            return make("other", token.start, token.end, value=token.text)
        return make("unary", token.start, operand.end, (operand,), name=operator, family=family)

    def typed(self) -> Node:
        token = self.take()
        name = str(token.value)
        if self.is_punct(self.peek(), "::") and self.adjacent(self.peek()):
            return self.postfix(make("type", token.start, token.end, name=name))
        following = self.peek()
        starts_operand = following is not None and (
            following.kind in _STARTS_VALUE
            or self.is_punct(following, "(", "@", "$", "-")
            or (following.kind == "op" and following.value in _UNARY_OPS)
        )
        spaced_minus = following is not None and self.is_punct(following, "-") and following.start > token.end
        if not starts_operand or spaced_minus:
            return make("type", token.start, token.end, name=name)
        self.depth += 1
        try:
            operand = self.unary()
        finally:
            self.depth -= 1
        if operand is None:
            return make("type", token.start, token.end, name=name)
        # A string cast to characters is plain code; numbers cast to characters hide text.
        literal = operand.kind == "lit" and operand.name != "num"
        family = "char" if name in ("char", "char[]") and not literal else None
        return make("cast", token.start, operand.end, (operand,), name=name, family=family)

    def postfix(self, node: Node) -> Node:
        count = 0
        while (token := self.peek()) is not None and token.start == node.end and count < MAX_NESTING:
            count += 1
            if self.is_punct(token, "["):
                node = self.index(node)
            elif self.is_punct(token, ".", "::") and self.peek(1) is not None:
                following = self.peek(1)
                assert following is not None
                if following.kind != "word" or following.start != token.end:
                    break
                self.take()
                node = self.member(node, token.text == "::")
            else:
                break
        return node

    def index(self, target: Node) -> Node:
        self.take()
        inside = self.with_comma(True, self.expression)
        end = inside.end if inside is not None else target.end
        if self.is_punct(self.peek(), "]"):
            end = self.take().end
        kids = (target, inside) if inside is not None else (target,)
        return make("index", target.start, end, kids)

    def member(self, target: Node, static: bool) -> Node:
        word = self.take()
        names = str(word.value).split(".")
        node = target
        for position, name in enumerate(names):
            last = position == len(names) - 1
            call = last and self.is_punct(self.peek(), "(") and self.adjacent(self.peek())
            if static and position == 0:
                node = self.static(node, name, call, word)
                continue
            if not call:
                node = make("member", target.start, word.end, (node,), name=name)
                continue
            arguments = self.call_arguments()
            end = self.toks[self.i - 1].end
            node = make(
                "call", target.start, end, (node, *arguments), name=name, family=_METHOD_FAMILIES.get(name)
            )
        return node

    def static(self, target: Node, name: str, call: bool, word: Token) -> Node:
        key = f"{target.name}::{name}"
        if not call:
            return make("static", target.start, word.end, (), name=key)
        arguments = self.call_arguments()
        end = self.toks[self.i - 1].end
        return make("static", target.start, end, tuple(arguments), name=key, family=_STATIC_FAMILIES.get(key))

    def call_arguments(self) -> list[Node]:
        self.take()
        found: list[Node] = []
        while (token := self.peek()) is not None and not self.is_punct(token, ")"):
            if token.kind == "nl" or self.is_punct(token, ","):
                self.take()
                continue
            before = self.i
            node = self.with_comma(False, self.expression)
            if node is not None:
                found.append(node)
            if self.i == before:
                if self.is_punct(token, ";", "}"):
                    break
                self.take()
        if self.is_punct(self.peek(), ")"):
            self.take()
        return found

    def primary(self) -> Node | None:
        token = self.peek()
        assert token is not None
        kind = token.kind
        if kind in ("sq", "dq", "here", "num"):
            self.take()
            return make("lit", token.start, token.end, value=token.value, name=kind)
        if kind == "var":
            self.take()
            name = str(token.value)
            self.tree.references[name] = self.tree.references.get(name, 0) + 1
            return make("var", token.start, token.end, name=name)
        if self.is_punct(token, "("):
            return self.group("paren", token, "(", ")")
        if self.is_punct(token, "{"):
            self.block_depth += 1
            try:
                return self.group("block", token, "{", "}")
            finally:
                self.block_depth -= 1
        following = self.peek(1)
        if self.is_punct(token, "$", "@") and following is not None and following.start == token.end:
            kinds = {("$", "("): "sub", ("@", "("): "arrayexpr", ("@", "{"): "hash"}
            kind_of = kinds.get((token.text, following.text))
            if kind_of is not None:
                self.take()
                closer = ")" if following.text == "(" else "}"
                group = self.group(kind_of, following, following.text, closer)
                return make(kind_of, token.start, group.end, group.kids)
        return None

    def with_comma(self, allowed: bool, read: Callable[[], Node | None]) -> Node | None:
        saved = self.comma
        self.comma = allowed
        try:
            return read()
        finally:
            self.comma = saved

    def group(self, kind: str, token: Token, opener: str, closer: str) -> Node:
        self.take()
        self.depth += 1
        saved = self.comma
        self.comma = True
        try:
            inside = self.statements(closer) if self.depth <= MAX_NESTING else []
        finally:
            self.depth -= 1
            self.comma = saved
        end = inside[-1].end if inside else token.end
        if self.is_punct(self.peek(), closer):
            end = self.take().end
        return make(kind, token.start, end, tuple(inside))


def _chain(operands: list[Node], operators: list[str]) -> Node:
    """Operands joined left to right; a run of the same operator is one node (long chains stay flat)."""
    node = operands[0]
    index = 0
    while index < len(operators):
        operator = operators[index]
        group = [node]
        while index < len(operators) and operators[index] == operator:
            index += 1
            group.append(operands[index])
        family = _binary_family(operator, group)
        node = make("binary", group[0].start, group[-1].end, tuple(group), name=operator, family=family)
    return node


def _binary_family(operator: str, operands: list[Node]) -> str | None:
    if operator == "+":
        return None if any(_numeric(side) for side in operands) else "concat"
    if operator == "f":
        return "format"
    if operator == "join":
        return "join"
    if operator in _REPLACE_OPS:
        return "replace"
    right = operands[-1]
    if operator == "as" and right.kind == "type" and right.name in ("char", "char[]"):
        return "char"
    return None


def _numeric(node: Node) -> bool:
    if node.kind == "lit":
        return node.name == "num"
    if node.kind == "unary" and node.name in "-+":
        return _numeric(node.kids[0])
    if node.kind == "paren" and len(node.kids) == 1:
        return _numeric(node.kids[0])
    return node.kind == "member" and node.name in ("length", "count")


def _pipe_family(elements: list[Node]) -> str | None:
    last = elements[-1]
    if last.kind != "command" or len(elements) != 2:
        return None
    if last.family == "invoke":
        return "invoke"
    if last.name in ("%", "foreach", "foreach-object"):
        return "char"
    return None


def _command_family(name: str, kids: list[Node]) -> str | None:
    if name != "new-object":
        return None
    words = [str(kid.value).lower().removeprefix("system.") for kid in kids if kid.kind in ("bare", "lit")]
    return "compressed" if any(word in _COMPRESSION_TYPES for word in words) else None


def parse(text: str, budget: Budget, start: int = 0, end: int | None = None) -> Tree:
    """The tree of ``text[start:end]``, with the code inside double-quoted strings parsed apart."""
    toks = tokens(text, budget, start, end)
    parser = _Parser(text, toks, budget)
    parser.tree.statements = parser.statements(None)
    tree = parser.tree
    tree.tokens = toks
    for opening, closing in tree.code_strings:
        if closing - opening > 6 and _DECODABLE.search(text, opening, closing):
            tree.scripts.append(parse(text, budget, opening + 1, closing - 1))
    return tree


# What makes a double-quoted string worth reading as code: something a PowerShell step decodes.
_DECODABLE: Final = re.compile(
    r"['\"]\s*\+|\[\s*char|[-\u2013\u2014\u2015](?:f|join|c?replace|split)\b|\biex\b|invoke-expression"
    r"|frombase64|scriptblock|\.replace\(|[&.]\s*\(|\|\s*[&.%]|`\w",
    re.IGNORECASE,
)


def walk(node: Node) -> list[Node]:
    """``node`` and every node under it, parents first."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(current.kids))
    return found
