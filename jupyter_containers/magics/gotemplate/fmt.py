"""Go's fmt for templates: Sprint, Sprintln and Sprintf (``print``, ``println``, ``printf``).

Sprintf knows the flags ``-+# 0``, widths and precisions (also ``*``), argument indexes (``%[1]d``)
and the verbs v s q d t f F e E g G x X o O b c U T, and says what went wrong as Go does:
``%!d(string=abc)``, ``%!s(MISSING)``, ``%!(EXTRA int=3)``, ``%!(NOVERB)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .values import Context, Nil, go_float, go_format, go_quote, gotype


def sprint(args, spaces: bool = False) -> str:
    """fmt.Sprint (a space between operands when neither is a string) or, with ``spaces``, Sprintln's."""
    out = []
    for i, arg in enumerate(args):
        if i and (spaces or not isinstance(arg, str) and not isinstance(args[i - 1], str)):
            out.append(" ")
        out.append(go_format(arg))
    return "".join(out)


@dataclass
class _Flags:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None

    def pad(self, text: str, zero: bool | None = None) -> str:
        gap = (self.width or 0) - len(text)
        if gap <= 0:
            return text
        if self.minus:
            return text + " " * gap
        return ("0" if (self.zero if zero is None else zero) else " ") * gap + text


def sprintf(fmt: str, args) -> str:
    out, argnum, reordered, i, n = [], 0, False, 0, len(fmt)

    def index(at: int) -> tuple[int, bool]:  # [n] before a width, a precision or the verb
        nonlocal argnum, reordered
        if at < n and fmt[at] == "[":
            close = fmt.find("]", at)
            reordered = True
            if close < 0 or not fmt[at + 1:close].isdigit() or not 0 < int(fmt[at + 1:close]) <= len(args):
                return (close + 1 if close >= 0 else n), False
            argnum = int(fmt[at + 1:close]) - 1
            return close + 1, True
        return at, True

    def star() -> int | None:
        nonlocal argnum
        value = args[argnum] if argnum < len(args) else None
        argnum += 1
        return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1e6 else None

    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i, f = j + 1, _Flags()
        while i < n and fmt[i] in "-+# 0":
            flag = {"-": "minus", "+": "plus", "#": "sharp", " ": "space", "0": "zero"}[fmt[i]]
            setattr(f, flag, True)
            i += 1
        f.zero = f.zero and not f.minus
        i, good = index(i)
        if i < n and fmt[i] == "*":
            i, f.width = i + 1, star()
            if f.width is None:
                out.append("%!(BADWIDTH)")
            elif f.width < 0:
                f.width, f.minus, f.zero = -f.width, True, False
        else:
            start = i
            while i < n and fmt[i].isdigit() and fmt[i].isascii():
                i += 1
            f.width = int(fmt[start:i]) if i > start else None
            if f.width is not None and f.width > 1_000_000:  # Go's tooLarge
                f.width = None
                out.append("%!(BADWIDTH)")
        if i < n and fmt[i] == ".":
            i, good = index(i + 1)
            if i < n and fmt[i] == "*":
                i, f.prec = i + 1, star()
                if f.prec is None or f.prec < 0:
                    f.prec = None
                    out.append("%!(BADPREC)")
            else:
                start = i
                while i < n and fmt[i].isdigit() and fmt[i].isascii():
                    i += 1
                f.prec = int(fmt[start:i] or 0)
                if f.prec > 1_000_000:
                    f.prec = None
                    out.append("%!(BADPREC)")
        i, good = index(i) if good else (i, good)
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb, i = fmt[i], i + 1
        if verb == "%":
            out.append("%")
        elif not good:
            out.append(f"%!{verb}(BADINDEX)")
        elif argnum >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(format_arg(args[argnum], verb, f))
            argnum += 1
    if not reordered and argnum < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{gotype(a)}={go_format(a)}" for a in args[argnum:]) + ")")
    return "".join(out)


def _bad(verb: str, arg, f: _Flags) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({gotype(arg)}={format_arg(arg, 'v', f)})"


def format_arg(arg, verb: str, f: _Flags) -> str:
    """One operand formatted by one verb, as fmt's printArg/printValue do it."""
    if verb == "T":
        return f.pad(gotype(arg))
    if arg is None or isinstance(arg, Nil):
        return f.pad("<nil>") if verb == "v" else _bad(verb, None, f)
    if isinstance(arg, Context):
        arg = arg.marshal()
    if isinstance(arg, (list, tuple)):
        return "[" + " ".join(format_arg(a, verb, f) for a in arg) + "]"
    if isinstance(arg, dict):
        return "map[" + " ".join(f"{format_arg(k, verb, f)}:{format_arg(arg[k], verb, f)}"
                                 for k in sorted(arg, key=str)) + "]"
    if isinstance(arg, bool):
        return f.pad("true" if arg else "false") if verb in "tv" else _bad(verb, arg, f)
    if isinstance(arg, int):
        return _integer(arg, verb, f) if verb in "vdbcoOqxXU" else _bad(verb, arg, f)
    if isinstance(arg, float):
        return _float(arg, verb, f) if verb in "vbgGxXfFeE" else _bad(verb, arg, f)
    text = str(arg)
    if verb in "vs":
        return f.pad(go_quote(text) if verb == "v" and f.sharp else text[:f.prec] if f.prec is not None else text)
    if verb == "q":
        text = text[:f.prec] if f.prec is not None else text
        plain = f.sharp and "`" not in text and all(c == "\t" or c.isprintable() for c in text)
        return f.pad(f"`{text}`" if plain else go_quote(text))
    if verb in "xX":
        data = text.encode()[:f.prec] if f.prec is not None else text.encode()
        pieces = [f"{b:02x}" for b in data] if f.space else [data.hex()] if data else []
        prefix = "0x" if f.sharp else ""
        hexed = (" " if f.space else "").join(prefix + p for p in pieces) if f.space else prefix * bool(pieces) + "".join(pieces)
        return f.pad(hexed.upper() if verb == "X" else hexed)
    return _bad(verb, arg, f)


def _integer(value: int, verb: str, f: _Flags) -> str:
    valid = 0 <= value <= 0x10FFFF and not 0xD800 <= value < 0xE000
    if verb == "c":
        return f.pad(chr(value) if valid else "\ufffd")
    if verb == "q":
        return f.pad(go_quote(chr(value) if valid else "\ufffd", "'"))
    if verb == "U":
        text = f"U+{value if value >= 0 else value + 2 ** 64:04X}"
        return f.pad(text + (f" '{chr(value)}'" if f.sharp and valid and chr(value).isprintable() else ""))
    base = {"b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}.get(verb, "d")
    digits = format(abs(value), base)
    if f.prec is not None:
        if f.prec == 0 and value == 0:
            return f.pad("", zero=False)
        digits = digits.rjust(f.prec, "0")
    elif f.zero and f.width:
        digits = digits.rjust(f.width - (value < 0 or f.plus or f.space), "0")
    prefix = ""
    if f.sharp and verb in "bxX":
        prefix = {"b": "0b", "x": "0x", "X": "0X"}[verb]
    elif f.sharp and verb == "o" and not digits.startswith("0") or verb == "O":
        prefix = "0o" if verb == "O" else "0"
    sign = "-" if value < 0 else "+" if f.plus else " " if f.space else ""
    return f.pad(sign + prefix + digits, zero=False)


def _float(value: float, verb: str, f: _Flags) -> str:
    if math.isnan(value) or math.isinf(value):
        text = "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"
        if text == "NaN" and (f.plus or f.space):
            text = ("+" if f.plus else " ") + text
        return f.pad(text, zero=False)
    if verb in "xX":
        mantissa, _, exponent = value.hex().partition("p")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}p{exponent[0]}{int(exponent[1:]):02d}"
        text = text.upper() if verb == "X" else text
    elif verb in "vgG" and f.prec is None:
        text = go_float(value).replace("+Inf", "Inf")
        text = text.upper() if verb == "G" else text
    else:
        spec = {"v": "g", "b": "e"}.get(verb, verb)
        prec = f.prec if f.prec is not None else 6
        text = format(value, f"{'#' if f.sharp else ''}.{prec}{spec}")
    sign = "-" if text.startswith("-") else "+" if f.plus else " " if f.space else ""
    body = text.lstrip("-")
    if f.zero and f.width and not f.minus:
        body = body.rjust(f.width - len(sign), "0")
    return f.pad(sign + body, zero=False)
