"""The functions a --format template can call: Go's builtins and the docker CLI's.

Each declares its Go parameter types (``@go(...)``) so that a wrong argument is Go's error
(``wrong type for value; expected string; got int``); a function's own failure is raised as
``Fail`` and reported as ``error calling index: index out of range: 5``.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from .fmt import sprint, sprintf
from .parse import alnum
from .values import Fail, Header, Nil, go, go_format, gotype, is_true, lookup, to_json


@go("any", variadic="any")
def and_(*args):
    return next((a for a in args if not is_true(a)), args[-1])


@go("any", variadic="any")
def or_(*args):
    return next((a for a in args if is_true(a)), args[-1])


def _kind(value) -> str:
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "nil" if value is None else "other"


@go("any", variadic="any")
def _eq(first, *others):
    if not others:
        raise Fail("missing argument for comparison")
    for other in others:
        k1, k2 = _kind(first), _kind(other)
        if k1 != k2:
            if first is not None and other is not None:
                raise Fail("incompatible types for comparison")
        elif k1 == "other":
            raise Fail(f"non-comparable type {go_format(first)}: {gotype(first)}")
        elif first == other:
            return True
    return False


@go("any", "any")
def _lt(a, b):
    for value in (a, b):
        if _kind(value) not in ("int", "float", "string"):
            raise Fail("invalid type for comparison")
    if _kind(a) != _kind(b):
        raise Fail("incompatible types for comparison")
    return a < b


@go("any", variadic="any")
def _index(item, *indexes):
    if item is None:
        raise Fail("index of untyped nil")
    for index in indexes:
        if item is None:
            raise Fail("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            if not isinstance(index, int) or isinstance(index, bool):
                raise Fail(f"cannot index slice/array with {'nil' if index is None else 'type ' + gotype(index)}")
            if not 0 <= index < len(item.encode() if isinstance(item, str) else item):
                raise Fail(f"index out of range: {index}")
            item = item.encode()[index] if isinstance(item, str) else item[index]
        elif isinstance(item, dict) and not isinstance(item, Header):
            if not isinstance(index, str):
                raise Fail("value is nil; should be of type string" if index is None
                            else f"value has type {gotype(index)}; should be string")
            item = lookup(item, index)
        else:
            raise Fail(f"can't index item of type {gotype(item)}")
    return item


@go("any", variadic="any")
def _slice(item, *indexes):
    if item is None:
        raise Fail("slice of untyped nil")
    if len(indexes) > 3 or isinstance(item, str) and len(indexes) > 2:
        raise Fail(f"too many slice indexes: {len(indexes)}")
    if not isinstance(item, (list, tuple, str)):
        raise Fail(f"can't slice item of type {gotype(item)}")
    data = item.encode() if isinstance(item, str) else item
    bounds = [0, len(data), len(data)]
    for i, index in enumerate(indexes):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= len(data):
            raise Fail(f"index out of range: {index}")
        bounds[i] = index
    if bounds[0] > bounds[1] or bounds[1] > bounds[2]:
        raise Fail(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    part = data[bounds[0]:bounds[1]]
    return part.decode("utf-8", "replace") if isinstance(item, str) else list(part)


@go("any")
def _len(item):
    if item is None or isinstance(item, Nil):
        raise Fail("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise Fail(f"len of type {gotype(item)}")


@go("string", variadic="any")
def _printf(fmt, *args):
    return sprintf(fmt, args)


def _escaper(kind: str):
    @go(variadic="any")
    def escape(*args):
        text = args[0] if len(args) == 1 and isinstance(args[0], str) else \
            sprint(["<no value>" if a is None else a for a in args])
        if kind == "html":
            table = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;", "\0": "\ufffd"}
            return "".join(table.get(c, c) for c in text)
        if kind == "js":
            table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
                     "=": "\\u003D"}
            return "".join(table.get(c, c if c.isprintable() else f"\\u{ord(c):04X}") for c in text)
        return quote_plus(text, safe="")
    return escape


@go("any", variadic="any")
def _call(fn, *args):
    raise Fail("call of nil" if fn is None else f"non-function of type {gotype(fn)}")


def _case(convert):
    return go("string")(lambda s: "".join(convert(c) if len(convert(c)) == 1 else c for c in s))


def _title(text: str) -> str:
    out, previous = [], " "
    for ch in text:
        separator = not (alnum(previous) if ord(previous) < 0x80 or previous.isalnum() else False) and \
            (ord(previous) < 0x80 or previous.isspace())
        out.append(ch.upper() if separator and len(ch.upper()) == 1 else ch)
        previous = ch
    return "".join(out)


def _pad(text: str, before: int, after: int) -> str:
    if max(before, after) > 1_000_000:  # as fmt's widths: more is a mistake, not a layout
        raise Fail(f"padding of more than 1000000 spaces: {max(before, after)}")
    return " " * before + text + " " * after if text else text


def _split(text: str, sep: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)


def _truncate(text: str, length: int) -> str:
    data = text.encode()
    return text if len(data) < length else data[:max(length, 0)].decode("utf-8", "replace")


FUNCS = {
    "and": and_, "or": or_, "not": go("any")(lambda x: not is_true(x)), "call": _call,
    "eq": _eq, "ne": go("any", "any")(lambda a, b: not _eq(a, b)), "lt": _lt,
    "le": go("any", "any")(lambda a, b: _lt(a, b) or _eq(a, b)), "gt": go("any", "any")(lambda a, b: not (_lt(a, b) or _eq(a, b))),
    "ge": go("any", "any")(lambda a, b: not _lt(a, b)), "index": _index, "slice": _slice, "len": _len,
    "print": go(variadic="any")(lambda *a: sprint(a)), "println": go(variadic="any")(lambda *a: sprint(a, True) + "\n"),
    "printf": _printf, "html": _escaper("html"), "js": _escaper("js"), "urlquery": _escaper("urlquery"),
    # docker's (github.com/docker/cli/templates)
    "json": go("any")(to_json), "split": go("string", "string")(_split), "join": go("[]string", "string")(lambda a, s: s.join(a)),
    "title": go("string")(_title), "lower": _case(str.lower), "upper": _case(str.upper),
    "pad": go("string", "int", "int")(_pad),
    "truncate": go("string", "int")(_truncate),
}
# a table's header row runs the same template over the column titles, with these leaving the titles alone
HEADER_FUNCS = {**FUNCS, "json": go("string")(lambda s: s), "split": go("string", "string")(lambda s, _: s),
                "join": go("string", "string")(lambda s, _: s), "title": go("string")(lambda s: s),
                "lower": go("string")(lambda s: s), "upper": go("string")(lambda s: s),
                "truncate": go("string", "int")(lambda s, _: s)}


