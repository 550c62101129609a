"""Values as Go's text/template sees them, and as Go prints them.

The data is what the engine's JSON decodes to (dict, list, str, int, float, bool, None), or a
``Context``: one of docker's per-row objects, whose capitalised methods are the fields.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from ...engine.errors import InvalidArgument


class TemplateError(InvalidArgument):
    """A --format template that does not parse or does not execute (one line, as Go words it)."""

    kind = "template"

    def __init__(self, message: str):
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))


class Fail(Exception):
    """A function's error: the executor reports it as ``error calling NAME: ...``."""


MISSING = object()  # no value handed on by a previous pipeline stage


class Nil:
    """A typed nil pointer: prints ``<nil>``, is false, marshals as null."""

    def __init__(self, go_type: str):
        self.go_type = go_type


def go(*params: str, variadic: str | None = None):
    """Declare a function's Go parameter types: any, string, int, bool, []string."""
    def mark(fn):
        fn.go_params, fn.go_variadic = params, variadic
        return fn
    return mark


class Context:
    """One row for docker's formatters: each capitalised method is a field of the template."""

    go_type = "*formatter.Context"

    def marshal(self) -> dict:
        """What ``{{json .}}`` gives: every field without arguments, by name."""
        names = sorted(n for n in dir(type(self)) if n[:1].isupper() and callable(getattr(self, n))
                       and not getattr(getattr(self, n), "go_params", ()))
        return {name: getattr(self, name)() for name in names}


class Header(dict):
    """A table's header row: column titles by field name (docker's SubHeaderContext)."""

    go_type = "formatter.SubHeaderContext"

    @go("string")
    def Label(self, name: str) -> str:
        return name.split(".")[-1].replace("-", " ").replace("_", " ")


def method_of(receiver, name: str):
    """The method a field name calls on a docker row (``.ID``, ``.Label``), if any."""
    if isinstance(receiver, (Context, Header)) and name[:1].isupper():
        fn = getattr(receiver, name, None)
        if callable(fn):
            return fn
    return None


def lookup(mapping: dict, key: str):
    """``index``'s value for a key: a missing one gives the map's zero value, "" in a map of strings
    (labels, options: Go's map[string]string), else a nil that prints ``<nil>``."""
    if key in mapping:
        return mapping[key]
    return "" if all(isinstance(v, str) for v in mapping.values()) else Nil("interface {}")


def is_true(value) -> bool:
    """Go's truth for if/with/and/or/not: the zero value and empty things are false."""
    if isinstance(value, (Context, Header)):
        return True
    if value is None or isinstance(value, Nil):
        return False
    return bool(value)


def gotype(value) -> str:
    if isinstance(value, (Context, Header, Nil)):
        return value.go_type
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string"),
                       (dict, "map[string]interface {}"), ((list, tuple), "[]interface {}")):
        if isinstance(value, kind):
            return name
    return "<nil>" if value is None else type(value).__name__


def go_float(f: float) -> str:
    """strconv's shortest %g of a float64, as %v prints it: %e form from 1e+06 and below 1e-04."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    d = "".join(map(str, digits))
    point = len(d) + exp
    head = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        x = point - 1
        return f"{head}{d[0]}{'.' + d[1:] if len(d) > 1 else ''}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{head}0.{'0' * -point}{d}"
    return head + (d + "0" * (point - len(d)) if point >= len(d) else f"{d[:point]}.{d[point:]}")


def go_format(value) -> str:
    """fmt's %v: maps as map[k:v] (keys sorted), lists as [a b], nil as <nil>."""
    if value is None or isinstance(value, Nil):
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(map(go_format, value)) + "]"
    if isinstance(value, Context):
        return go_format(value.marshal())
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_format(k)}:{go_format(value[k])}" for k in sorted(value, key=str)) + "]"
    return str(value)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
            "\\": "\\\\"}


def go_quote(text: str, quote: str = '"') -> str:
    """strconv.Quote (or QuoteRune with ``'``): Go's quoted, escaped string."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return quote + "".join(out) + quote


def rune(ch: str) -> str:
    """Go's %#U of a character: ``U+0041 'A'``."""
    return f"U+{ord(ch):04X}" + (f" '{ch}'" if ch.isprintable() else "")


_ESCAPE = re.compile(r'\\(?:([abfnrtv\\\'"])|([0-7]{3})|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))')
_CONTROL = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def go_unquote(token: str) -> str:
    """strconv.Unquote of a Go string, raw string or character literal; ValueError when invalid."""
    if token[0] == "`":
        return token[1:-1].replace("\r", "")
    quote, body, out, i = token[0], token[1:-1], [], 0
    while i < len(body):
        if body[i] != "\\":
            if body[i] in (quote, "\n"):
                raise ValueError("invalid syntax")
            out.append(body[i])
            i += 1
            continue
        m = _ESCAPE.match(body, i)
        if not m or m[1] in ("'", '"') and m[1] != quote:
            raise ValueError("invalid syntax")
        code = None if m[1] else int(m[2], 8) if m[2] else int(m[3] or m[4] or m[5], 16)
        if code is not None and (code > 0x10FFFF or 0xD800 <= code < 0xE000):
            raise ValueError("invalid syntax")
        out.append(_CONTROL.get(m[1], m[1]) if m[1] else chr(code))
        i = m.end()
    if quote == "'" and len(out) != 1:
        raise ValueError("invalid syntax")
    return "".join(out)


def to_json(value) -> str:
    """docker's ``json`` function: compact, keys in the order the engine gave them, no HTML escaping;
    except that one of docker's rows marshals itself with json.Marshal, which escapes <, > and &."""
    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return None if isinstance(v, Nil) else v
    try:
        text = json.dumps(plain(value.marshal() if isinstance(value, Context) else value), ensure_ascii=False,
                          separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise Fail(f"json: unsupported value: {exc}") from None
    if isinstance(value, Context):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
