"""A small, safe query language evaluated on the gateway, so unwanted events never cross the network.

    data.room == "lobby" and not (data.price > 100 or meta.event_type in ["delete"])

Paths look into the envelope (``name``, ``data.…``, ``meta.…``); operators are ``== != < <= > >=
in and or not``; literals are strings, numbers, true, false, null and [lists]. A comparison of
values of different kinds, or of a missing field, is simply false: a filter never raises.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 1024
MAX_DEPTH = 32

Predicate = Callable[[dict], bool]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    )""", re.VERBOSE)

_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}
_MISSING = object()


class FilterError(ValueError):
    """The filter text is not valid; the message says where."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    found, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "number":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        elif kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value in ("and", "or", "not", "in", "true", "false", "null"):
            kind = value
        found.append((kind, value))
        pos = m.end()
    return found


class _Parser:
    """Recursive descent; every construct that nests (parentheses, ``not``, lists) counts against
    ``max_depth``, so evaluating the predicate it builds is bounded too."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0
        self.max_depth = max_depth

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise FilterError(f"filter nested more than {self.max_depth} levels deep")

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, Any]:
        if self.pos >= len(self.tokens):
            raise FilterError(f"unexpected end of filter{f', expected {kind!r}' if kind else ''}")
        token = self.tokens[self.pos]
        if kind and token[0] != kind and token[1] != kind:
            raise FilterError(f"expected {kind!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected {self.tokens[self.pos][1]!r}")
        return pred

    def expr(self) -> Predicate:
        self.enter()
        terms = [self.conj()]
        while self.peek() == "or":
            self.take()
            terms.append(self.conj())
        self.depth -= 1
        return terms[0] if len(terms) == 1 else (lambda env, ts=tuple(terms): any(t(env) for t in ts))

    def conj(self) -> Predicate:
        terms = [self.neg()]
        while self.peek() == "and":
            self.take()
            terms.append(self.neg())
        return terms[0] if len(terms) == 1 else (lambda env, ts=tuple(terms): all(t(env) for t in ts))

    def neg(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            self.enter()
            inner = self.neg()
            self.depth -= 1
            return lambda env: not inner(env)
        return self.comparison()

    def at(self, value: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", value)

    def comparison(self) -> Predicate:
        if self.at("("):
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        left = self.value()
        kind = self.peek()
        if kind == "op" and self.tokens[self.pos][1] in _COMPARE:
            op = _COMPARE[self.take()[1]]
            right = self.value()
            return _compare(op, left, right)
        if kind == "in":
            self.take()
            right = self.value()
            return _contains(left, right)
        if kind == "not" and self.pos + 1 < len(self.tokens) and self.tokens[self.pos + 1][0] == "in":
            self.take(), self.take()
            pred = _contains(left, self.value())
            return lambda env: not pred(env)
        return lambda env: bool(_resolved(left(env)))

    def value(self) -> Callable[[dict], Any]:
        kind, value = self.take()
        if kind in ("number", "string"):
            return lambda env: value
        if kind in ("true", "false", "null"):
            const = {"true": True, "false": False, "null": None}[kind]
            return lambda env: const
        if kind == "word":
            parts = value.split(".")
            if parts[0] not in ("name", "data", "meta"):
                raise FilterError(f"unknown field {value!r}: paths start with name, data or meta")
            return lambda env: _lookup(env, parts)
        if value == "[":
            self.enter()
            items = []
            while not self.at("]"):
                items.append(self.value())
                if self.at(","):
                    self.take()
                elif not self.at("]"):
                    raise FilterError("expected ',' or ']' in list")
            self.take("]")
            self.depth -= 1
            return lambda env: [i(env) for i in items]
        raise FilterError(f"expected a value, got {value!r}")


def _lookup(env: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(env, dict):
            env = env.get(part, _MISSING)
        elif isinstance(env, list) and part.isdigit() and int(part) < len(env):
            env = env[int(part)]
        else:
            return _MISSING
        if env is _MISSING:
            return _MISSING
    return env


def _resolved(value: Any) -> Any:
    return None if value is _MISSING else value


def _same_kind(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or type(a) is type(b)


def _compare(op, left, right) -> Predicate:
    def test(env: dict) -> bool:
        a, b = left(env), right(env)
        if a is _MISSING or b is _MISSING:
            return op is operator.ne
        if op in (operator.eq, operator.ne):
            return op(a, b) if _same_kind(a, b) or a is None or b is None else op is operator.ne
        orderable = isinstance(a, (int, float, str)) and not isinstance(a, bool)
        return orderable and _same_kind(a, b) and op(a, b)
    return test


def _contains(left, right) -> Predicate:
    def test(env: dict) -> bool:
        a, b = left(env), right(env)
        if a is _MISSING or b is _MISSING:
            return False
        if isinstance(b, str):
            return isinstance(a, str) and a in b
        if isinstance(b, list):
            return any(_same_kind(a, x) and a == x for x in b)
        return False
    return test


def compile_filter(text: Any, max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH) -> Predicate:
    """Parse ``text`` once into a predicate over an envelope dict; FilterError if it is invalid."""
    if not isinstance(text, str) or not text.strip():
        raise FilterError("a filter must be a non-empty string")
    if len(text) > max_length:
        raise FilterError(f"a filter may be at most {max_length} characters (limits.max_filter_length)")
    return _Parser(text, max_depth).parse()
