"""bash arithmetic (``$(( ))``, ``$[ ]``, ``(( ))``, ``for ((;;))``) over integers, ``base#n`` included."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from shellwatch.decode._bash_parse import Unsupported
from shellwatch.decode.model import Budget

_TOKEN: Final = re.compile(
    r"\s*(?:(\d+#[0-9A-Za-z@_]+)|(0[xX][0-9a-fA-F]+|\d+)|([A-Za-z_]\w*)"
    r"|(\*\*=?|<<=|>>=|\+\+|--|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%&|^]=|[-+*/%<>=!~&|^?:,()\[\]]))"
)
_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@_"
_BINARY: Final = {
    "||": 2,
    "&&": 3,
    "|": 4,
    "^": 5,
    "&": 6,
    "==": 7,
    "!=": 7,
    "<": 8,
    ">": 8,
    "<=": 8,
    ">=": 8,
    "<<": 9,
    ">>": 9,
    "+": 10,
    "-": 10,
    "*": 11,
    "/": 11,
    "%": 11,
    "**": 13,
}
_ASSIGN_OPS: Final = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "**="})
_MASK: Final = (1 << 64) - 1


def _wrap(value: int) -> int:
    value &= _MASK
    return value - (1 << 64) if value >> 63 else value


def number(text: str) -> int:
    if "#" in text:
        base_text, digits = text.split("#", 1)
        base = int(base_text)
        if not 2 <= base <= 64:
            raise Unsupported("bad base")
        value = 0
        for char in digits:
            digit = _DIGITS.index(char) if char in _DIGITS else 99
            if base <= 36 and char.isalpha():
                digit = _DIGITS.index(char.lower())
            if digit >= base:
                raise Unsupported("digit out of range")
            value = value * base + digit
        return value
    if text[:2] in ("0x", "0X"):
        return int(text, 16)
    if len(text) > 1 and text[0] == "0":
        return int(text, 8)
    return int(text)


def _binary(op: str, left: int, right: int) -> int:
    if op in ("/", "%"):
        if right == 0:
            raise Unsupported("division by 0")
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        return quotient if op == "/" else left - quotient * right
    if op == "**":
        if right < 0 or right > 64:
            raise Unsupported("bad exponent")
        return int(left**right)
    table: dict[str, Callable[[int, int], int]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "<<": lambda a, b: a << (b & 63),
        ">>": lambda a, b: a >> (b & 63),
        "&": lambda a, b: a & b,
        "|": lambda a, b: a | b,
        "^": lambda a, b: a ^ b,
        "==": lambda a, b: int(a == b),
        "!=": lambda a, b: int(a != b),
        "<": lambda a, b: int(a < b),
        ">": lambda a, b: int(a > b),
        "<=": lambda a, b: int(a <= b),
        ">=": lambda a, b: int(a >= b),
        "&&": lambda a, b: int(bool(a and b)),
        "||": lambda a, b: int(bool(a or b)),
    }
    return table[op](left, right)


class Arith:
    """One evaluation: ``get(name)`` reads a variable (text), ``put(name, value)`` writes one."""

    def __init__(
        self,
        text: str,
        get: Callable[[str], str],
        put: Callable[[str, str], None],
        budget: Budget,
        depth: int = 0,
    ) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.get = get
        self.put = put
        self.budget = budget
        self.depth = depth
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise Unsupported(f"arithmetic: {text[pos : pos + 10]!r}")
            budget.tick()
            pos = match.end()
            if match.group(1) or match.group(2):
                self.tokens.append(("num", match.group(1) or match.group(2)))
            elif match.group(3):
                self.tokens.append(("name", match.group(3)))
            else:
                self.tokens.append(("op", match.group(4)))
        self.index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _op(self, value: str) -> bool:
        token = self._peek()
        if token is not None and token == ("op", value):
            self.index += 1
            return True
        return False

    def value(self) -> int:
        if not self.tokens:
            return 0
        result = self._comma()
        if self.index != len(self.tokens):
            raise Unsupported("arithmetic: trailing tokens")
        return result

    def _comma(self) -> int:
        result = self._assign()
        while self._op(","):
            result = self._assign()
        return result

    def _var(self, name: str) -> int:
        text = self.get(name).strip()
        if not text:
            return 0
        if self.depth > 8:
            raise Unsupported("arithmetic recursion")
        return Arith(text, self.get, self.put, self.budget, self.depth + 1).value()

    def _lvalue(self) -> str | None:
        token = self._peek()
        if token is None or token[0] != "name":
            return None
        nxt = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        if nxt is not None and nxt[0] == "op" and nxt[1] in _ASSIGN_OPS:
            self.index += 2
            return token[1] + "\0" + nxt[1]
        return None

    def _assign(self) -> int:
        target = self._lvalue()
        if target is None:
            return self._ternary()
        name, op = target.split("\0")
        right = self._assign()
        value = right if op == "=" else _binary(op[:-1], self._var(name), right)
        value = _wrap(value)
        self.put(name, str(value))
        return value

    def _ternary(self) -> int:
        cond = self._binary(0)
        if self._op("?"):
            yes = self._assign()
            if not self._op(":"):
                raise Unsupported("arithmetic: ?")
            no = self._assign()
            return yes if cond else no
        return cond

    def _binary(self, floor: int) -> int:
        left = self._unary()
        while True:
            token = self._peek()
            if token is not None and token[0] == "op" and token[1] in ("++", "--"):
                sign = token[1][0]
                self.tokens[self.index : self.index + 1] = [("op", sign), ("op", sign)]
                token = self.tokens[self.index]
            if token is None or token[0] != "op" or token[1] not in _BINARY:
                return left
            prec = _BINARY[token[1]]
            if prec < floor:
                return left
            self.index += 1
            self.budget.tick()
            right = self._binary(prec if token[1] == "**" else prec + 1)
            left = _wrap(_binary(token[1], left, right))

    def _unary(self) -> int:
        token = self._peek()
        if token is None:
            raise Unsupported("arithmetic: missing operand")
        if token[0] == "op" and token[1] in ("-", "+", "!", "~"):
            self.index += 1
            operand = self._unary()
            return {"-": -operand, "+": operand, "!": int(not operand), "~": ~operand}[token[1]]
        if token[0] == "op" and token[1] in ("++", "--"):
            self.index += 1
            name = self._peek()
            if name is None or name[0] != "name":
                operand = self._unary()
                return operand
            self.index += 1
            value = self._var(name[1]) + (1 if token[1] == "++" else -1)
            self.put(name[1], str(value))
            return value
        return self._postfix()

    def _postfix(self) -> int:
        token = self._peek()
        assert token is not None
        self.index += 1
        if token[0] == "num":
            return _wrap(number(token[1]))
        if token == ("op", "("):
            value = self._comma()
            if not self._op(")"):
                raise Unsupported("arithmetic: )")
            return value
        if token[0] != "name":
            raise Unsupported(f"arithmetic: {token[1]}")
        name = token[1]
        if self._op("["):
            subscript = self._comma()
            if not self._op("]"):
                raise Unsupported("arithmetic: ]")
            name = f"{name}[{subscript}]"
        nxt = self._peek()
        if nxt is not None and nxt[0] == "op" and nxt[1] in ("++", "--"):
            self.index += 1
            value = self._var(name)
            self.put(name, str(value + (1 if nxt[1] == "++" else -1)))
            return value
        return self._var(name)


def evaluate(text: str, get: Callable[[str], str], put: Callable[[str, str], None], budget: Budget) -> int:
    """The value of arithmetic ``text`` (already expanded)."""
    try:
        return Arith(text, get, put, budget).value()
    except (ValueError, RecursionError, OverflowError) as exc:
        raise Unsupported("arithmetic") from exc
