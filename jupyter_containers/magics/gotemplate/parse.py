"""Go's text/template/parse: the lexer and the parser, giving a list of nodes.

Errors are Go's, word for word where it matters (``template: :1: function "foo" not defined``,
``unexpected "}" in operand``, ``unclosed action``), raised as ``TemplateError``.
"""

from __future__ import annotations

import re
import unicodedata

from .values import TemplateError, go_quote, go_unquote, rune

SPACE = " \t\r\n"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "nil", "range", "template", "with"}


class Token:
    __slots__ = ("typ", "val", "pos")

    def __init__(self, typ: str, val: str, pos: int):
        self.typ, self.val, self.pos = typ, val, pos

    def __str__(self) -> str:  # as Go names a token in "unexpected ..."
        if self.typ in ("eof", "error"):
            return "EOF" if self.typ == "eof" else self.val
        if self.typ in KEYWORDS or self.typ == "dot":
            return f"<{self.val}>"
        return go_quote(self.val[:10]) + "..." if len(self.val) > 10 else go_quote(self.val)


def alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or unicodedata.category(ch) == "Nd"


def _right_delim(text: str, pos: int) -> int:
    """0 when no ``}}`` starts at pos, 2 for ``}}``, 4 for `` -}}`` (which trims what follows)."""
    if text.startswith("}}", pos):
        return 2
    return 4 if text[pos:pos + 1] in tuple(SPACE) and text.startswith("-}}", pos + 1) else 0


def lex(text: str) -> list[Token]:
    """The tokens of a template; the list ends with an ``eof`` or an ``error`` token."""
    out: list[Token] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            if pos < len(text):
                out.append(Token("text", text[pos:], pos))
            out.append(Token("eof", "", len(text)))
            return out
        after = start + 2
        trim = text[after:after + 1] == "-" and text[after + 1:after + 2] in tuple(SPACE)
        end = len(text[:start].rstrip(SPACE)) if trim else start
        if end > pos:
            out.append(Token("text", text[pos:end], pos))
        after += 2 if trim else 0
        if text.startswith("/*", after):
            close = text.find("*/", after + 2)
            if close < 0:
                return out + [Token("error", "unclosed comment", after)]
            size = _right_delim(text, close + 2)
            if not size:
                return out + [Token("error", "comment ends before closing delimiter", after)]
            pos = close + 2 + size
            pos += len(text[pos:]) - len(text[pos:].lstrip(SPACE)) if size == 4 else 0
            continue
        out.append(Token("left", "{{", start))
        pos = _lex_action(text, after, out)
        if pos is None:
            return out


def _lex_action(text: str, pos: int, out: list[Token]) -> int | None:
    depth, n = 0, len(text)

    def error(message: str, at: int) -> None:
        out.append(Token("error", message, at))

    def terminated(at: int) -> bool:
        return at >= n or text[at] in SPACE or text[at] in ".,|:)(" or text.startswith("}}", at)

    while True:
        size = _right_delim(text, pos)
        if size:
            if depth:
                return error("unclosed left paren", pos)
            out.append(Token("right", "}}", pos + size - 2))
            pos += size
            return pos + (len(text[pos:]) - len(text[pos:].lstrip(SPACE)) if size == 4 else 0)
        if pos >= n:
            return error("unclosed action", pos)
        ch, start = text[pos], pos
        pos += 1
        if ch in SPACE:
            while pos < n and text[pos] in SPACE:
                pos += 1
            if text.startswith("-}}", pos):  # the last space belongs to " -}}"
                pos -= 1
            if pos > start:
                out.append(Token("space", text[start:pos], start))
        elif ch in "=|()":
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                return error("unexpected right paren", start)
            out.append(Token({"=": "assign", "|": "pipe", "(": "lparen", ")": "rparen"}[ch], ch, start))
        elif ch == ":":
            if text[pos:pos + 1] != "=":
                return error("expected :=", start)
            pos += 1
            out.append(Token("declare", ":=", start))
        elif ch in "\"'`":
            if ch == "`":
                close = text.find("`", pos)
            else:
                match = re.compile(rf"(?:[^\\{ch}\n]|\\[^\n])*{ch}").match(text, pos)
                close = match.end() - 1 if match else -1
            if close < 0:
                what = {"`": "raw quoted string", '"': "quoted string", "'": "character constant"}[ch]
                return error(f"unterminated {what}", start)
            pos = close + 1
            out.append(Token({"`": "rawstring", '"': "string", "'": "charconst"}[ch], text[start:pos], start))
        elif ch == "$" or ch == "." and pos < n and not "0" <= text[pos] <= "9":
            while pos < n and alnum(text[pos]):
                pos += 1
            if not terminated(pos):
                return error(f"bad character {rune(text[pos])}", start)
            word = text[start:pos]
            out.append(Token("dot" if word == "." else "variable" if ch == "$" else "field", word, start))
        elif ch in "+-." or ch.isdigit() and ch.isascii():
            pos, ok = _scan_number(text, start)
            if ok and text[pos:pos + 1] in ("+", "-"):  # complex: 1+2i
                pos, ok = _scan_number(text, pos)
                ok = ok and text[pos - 1] == "i"
            if not ok:
                return error(f"bad number syntax: {go_quote(text[start:pos])}", start)
            out.append(Token("number", text[start:pos], start))
        elif alnum(ch):
            while pos < n and alnum(text[pos]):
                pos += 1
            if not terminated(pos):
                return error(f"bad character {rune(text[pos])}", start)
            word = text[start:pos]
            out.append(Token(word if word in KEYWORDS else "bool" if word in ("true", "false") else "identifier",
                             word, start))
        elif ch.isascii() and ch.isprintable():
            out.append(Token("char", ch, start))
        else:
            return error(f"unrecognized character in action: {rune(ch)}", start)


def _scan_number(text: str, pos: int) -> tuple[int, bool]:
    """Go's lexer's number scan: where it ends, and whether no letter follows."""
    if text[pos:pos + 1] in ("+", "-"):
        pos += 1
    digits, base = "0123456789_", 10
    if text.startswith("0", pos) and text[pos + 1:pos + 2] in tuple("xXoObB"):
        base = {"x": 16, "o": 8, "b": 2}[text[pos + 1].lower()]
        digits = {16: "0123456789abcdefABCDEF_", 8: "01234567_", 2: "01_"}[base]
        pos += 2

    def run(at: int, chars: str) -> int:
        while at < len(text) and text[at] in chars:
            at += 1
        return at
    pos = run(pos, digits)
    if text.startswith(".", pos):
        pos = run(pos + 1, digits)
    exponent = {10: "eE", 16: "pP"}.get(base, "")
    if exponent and text[pos:pos + 1] in tuple(exponent):
        pos = run(pos + 1 + (text[pos + 1:pos + 2] in ("+", "-")), "0123456789_")
    if text.startswith("i", pos):
        pos += 1
    if pos < len(text) and alnum(text[pos]):
        return pos + 1, False
    return pos, True


# -- the parse tree ---------------------------------------------------------------------------------
class Node:
    pos = 0

    def __init__(self, pos: int, **fields):
        self.pos = pos
        self.__dict__.update(fields)


class Text(Node):
    def __str__(self):
        return self.text


class Field(Node):  # .A.B
    def __str__(self):
        return "".join("." + i for i in self.idents)


class Variable(Node):  # $x.A
    def __str__(self):
        return ".".join(self.idents)


class Chain(Node):  # (pipeline).A or func.A
    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


class Ident(Node):
    def __str__(self):
        return self.name


class Const(Node):  # dot, nil, bool, number, string: ``text`` as written, ``value`` as meant
    def __str__(self):
        return self.text


class Command(Node):
    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


class Pipe(Node):
    def __str__(self):
        decl = f"{', '.join(self.decl)} {'=' if self.assign else ':='} " if self.decl else ""
        return decl + " | ".join(map(str, self.cmds))


class Action(Node):
    def __str__(self):
        return f"{{{{{self.pipe}}}}}"


class Control(Node):  # if, range, with
    def __str__(self):
        body = "".join(map(str, self.body))
        rest = "{{else}}" + "".join(map(str, self.other)) if self.other is not None else ""
        return f"{{{{{self.kind} {self.pipe}}}}}{body}{rest}{{{{end}}}}"


class Call(Node):  # {{template "name" pipeline}}
    def __str__(self):
        return f"{{{{template {go_quote(self.name)}{' ' + str(self.pipe) if self.pipe else ''}}}}}"


class Jump(Node):  # break, continue; and the {{end}} / {{else}} markers while parsing
    def __str__(self):
        return f"{{{{{self.kind}}}}}"


def _number(text: str):
    """A numeric constant's value (int when it is integral), or ValueError as Go's parser says it."""
    if text.startswith("'"):
        match = re.match(r"'(\\(?:[0-7]{3}|x..|u.{4}|U.{8}|.)|[^\\])", text)
        if not match:
            raise ValueError("invalid syntax")
        if text[match.end():] != "'":
            raise ValueError(f"malformed character constant: {text}")
        return ord(go_unquote(match[0] + "'"))
    if text.endswith("i"):
        raise ValueError(f"complex numbers are not supported: {go_quote(text)}")
    body = text.lstrip("+-") if text[:1] in "+-" and text[1:2] not in ("+", "-") else text
    sign = -1 if text.startswith("-") else 1
    try:
        value = sign * int(body[1:], 8) if re.fullmatch(r"0[0-7_]+", body) else sign * int(body, 0)
        return value if -2 ** 63 <= value < 2 ** 63 else float(value)  # beyond int64: Go's float
    except (ValueError, OverflowError):
        pass
    try:
        if body[:2] in ("0x", "0X") and "p" not in body.lower():
            raise ValueError
        value = float.fromhex(text) if body[:2] in ("0x", "0X") else float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError
    except (ValueError, OverflowError):
        raise ValueError(f"illegal number syntax: {go_quote(text)}") from None
    if "_" in text and not re.fullmatch(r"[+-]?\d+(_\d+)*(\.\d+(_\d+)*)?([eE][+-]?\d+)?", text):
        raise ValueError(f"illegal number syntax: {go_quote(text)}")
    return value


# -- the parser -----------------------------------------------------------------------------------
MAX_DEPTH = 200  # nested parentheses, blocks and template calls; Python's stack is not Go's


class Parser:
    def __init__(self, text: str, funcs):
        self.text, self.funcs = text, funcs
        self.tokens, self.i, self.seen = lex(text), 0, 0
        self.vars, self.ranges, self.depth, self.action_line = ["$"], 0, 0, 0
        self.defined: dict[str, list] = {}

    def line(self, pos: int) -> int:
        return 1 + self.text.count("\n", 0, pos)

    def error(self, message: str):
        raise TemplateError(f"template: :{self.line(self.tokens[self.seen].pos)}: {message}")

    def next(self) -> Token:
        token = self.tokens[min(self.i, len(self.tokens) - 1)]
        self.seen = max(self.seen, min(self.i, len(self.tokens) - 1))
        self.i += 1
        return token

    def peek(self) -> Token:
        token = self.next()
        self.i -= 1
        return token

    def next_non_space(self) -> Token:
        token = self.next()
        while token.typ == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.i -= 1
        return token

    def expect(self, typ: str, context: str) -> Token:
        token = self.next_non_space()
        if token.typ != typ:
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str):
        if token.typ == "error":
            extra = ""
            if self.action_line and self.action_line != self.line(token.pos):
                extra = f" in action started at :{self.action_line}"
                extra = extra.removeprefix(" in action") if token.val.endswith(" action") else extra
            self.error(f"{token.val}{extra}")
        self.error(f"unexpected {token} in {context}")

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error("max expression depth exceeded")

    # template: (text | action | {{define}})*
    def parse(self) -> list:
        root = []
        while self.peek().typ != "eof":
            if self.peek().typ == "left":
                mark = self.i
                self.next()
                if self.next_non_space().typ == "define":
                    self.definition()
                    continue
                self.i = mark
            node = self.text_or_action()
            if isinstance(node, Jump) and node.kind in ("end", "else"):
                self.error(f"unexpected {node}")
            root.append(node)
        return root

    def definition(self) -> None:
        token = self.next_non_space()
        name = self.template_name(token, "define clause")
        self.expect("right", "define clause")
        body, end = self.item_list()
        if end.kind != "end":
            self.error(f"unexpected {end} in define clause")
        self.defined[name] = body

    def item_list(self) -> tuple[list, Jump]:
        nodes = []
        while self.peek_non_space().typ != "eof":
            node = self.text_or_action()
            if isinstance(node, Jump) and node.kind in ("end", "else"):
                return nodes, node
            nodes.append(node)
        self.error("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == "text":
            return Text(token.pos, text=token.val)
        if token.typ != "left":
            self.unexpected(token, "input")
        self.action_line = self.line(token.pos)
        try:
            return self.action()
        finally:
            self.action_line = 0

    def action(self) -> Node:
        token = self.next_non_space()
        if token.typ in ("if", "range", "with"):
            return self.control(token.typ)
        if token.typ in ("break", "continue"):
            after = self.next_non_space()
            if after.typ != "right":
                self.unexpected(after, f"{{{{{token.typ}}}}}")
            if not self.ranges:
                self.error(f"{{{{{token.typ}}}}} outside {{{{range}}}}")
            return Jump(token.pos, kind=token.typ)
        if token.typ == "end":
            return Jump(self.expect("right", "end").pos, kind="end")
        if token.typ == "else":
            after = self.peek_non_space()
            if after.typ in ("if", "with"):
                return Jump(after.pos, kind="else")
            return Jump(self.expect("right", "else").pos, kind="else")
        if token.typ in ("template", "block"):
            return self.template(token)
        self.i -= 1
        return Action(self.peek().pos, pipe=self.pipeline("command", "right"))

    def control(self, kind: str) -> Control:
        mark = len(self.vars)
        self.nest()
        pipe = self.pipeline(kind, "right")
        self.ranges += kind == "range"
        body, end = self.item_list()
        self.ranges -= kind == "range"
        other = None
        if end.kind == "else":
            if kind in ("if", "with") and self.peek().typ == kind:
                self.next()
                other = [self.control(kind)]
            else:
                other, end = self.item_list()
                if end.kind != "end":
                    self.error(f"expected end; found {end}")
        del self.vars[mark:]
        self.depth -= 1
        return Control(pipe.pos, kind=kind, pipe=pipe, body=body, other=other)

    def template_name(self, token: Token, context: str) -> str:
        if token.typ not in ("string", "rawstring"):
            self.unexpected(token, context)
        try:
            return go_unquote(token.val)
        except ValueError as exc:
            self.error(str(exc))

    def template(self, token: Token) -> Call:
        context = f"{token.typ} clause"
        token, kind = self.next_non_space(), token.typ
        name = self.template_name(token, context)
        pipe = None
        if kind == "block" or self.next_non_space().typ != "right":
            if kind == "template":
                self.i -= 1
            pipe = self.pipeline(context, "right")
        if kind == "block":
            body, end = self.item_list()
            if end.kind != "end":
                self.error(f"unexpected {end} in {context}")
            self.defined[name] = body
        return Call(token.pos, name=name, pipe=pipe)

    def pipeline(self, context: str, end: str) -> Pipe:
        pipe = Pipe(self.peek_non_space().pos, decl=[], assign=False, cmds=[])
        while self.peek_non_space().typ == "variable":
            mark = self.i
            variable = self.next_non_space()
            after = self.peek_non_space()
            if after.typ in ("assign", "declare"):
                pipe.assign = after.typ == "assign"
                self.next_non_space()
                pipe.decl.append(variable.val)
                self.vars.append(variable.val)
            elif after.typ == "char" and after.val == ",":
                self.next_non_space()
                pipe.decl.append(variable.val)
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in ("variable", "right", "rparen"):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            else:
                self.i = mark  # an operand ($x | printf ...), not a declaration
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                if not pipe.cmds:
                    self.error(f"missing value for {context}")
                for stage, cmd in enumerate(pipe.cmds[1:], 2):
                    if isinstance(cmd.args[0], Const):
                        self.error(f"non executable command in pipeline stage {stage}")
                return pipe
            if token.typ in ("bool", "charconst", "dot", "field", "identifier", "number", "nil", "rawstring",
                             "string", "variable", "lparen"):
                self.i -= 1
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def command(self) -> Command:
        cmd = Command(self.peek_non_space().pos, args=[])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == "space":
                continue
            if token.typ in ("right", "rparen"):
                self.i -= 1
            elif token.typ != "pipe":
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.error("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().typ != "field":
            return node
        fields, pos = [], self.peek().pos
        while self.peek().typ == "field":
            fields.append(self.next().val[1:])
        if isinstance(node, Field):
            return Field(pos, idents=node.idents + fields)
        if isinstance(node, Variable):
            return Variable(pos, idents=node.idents + fields)
        if isinstance(node, Const):
            self.error(f"unexpected . after term {go_quote(str(node))}")
        return Chain(pos, node=node, fields=fields)

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ, val, pos = token.typ, token.val, token.pos
        if typ == "identifier":
            if val not in self.funcs:
                self.error(f"function {go_quote(val)} not defined")
            return Ident(pos, name=val)
        if typ in ("dot", "nil", "bool"):
            return Const(pos, text=val, kind=typ, value={"true": True, "false": False}.get(val))
        if typ == "variable":
            if val not in self.vars:
                self.error(f"undefined variable {go_quote(val)}")
            return Variable(pos, idents=[val])
        if typ == "field":
            return Field(pos, idents=[val[1:]])
        if typ in ("number", "charconst"):
            try:
                value = _number(val)
            except ValueError as exc:
                self.error(str(exc))
            return Const(pos, text=val, kind="number", value=value)
        if typ in ("string", "rawstring"):
            try:
                return Const(pos, text=val, kind="string", value=go_unquote(val))
            except ValueError as exc:
                self.error(str(exc))
        if typ == "lparen":
            self.nest()
            pipe = self.pipeline("parenthesized pipeline", "rparen")
            self.depth -= 1
            return pipe
        self.i -= 1
        return None


