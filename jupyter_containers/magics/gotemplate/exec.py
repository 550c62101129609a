"""Go's text/template execution: walk the nodes over the data, writing the output.

Missing map keys give Go's zero value (``<no value>`` when printed; "" in a map of strings), a
field that is not there on one of docker's rows is an error, and every error names its position
and node as Go does: ``template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type ...``.
"""

from __future__ import annotations

from contextlib import contextmanager

from .funcs import FUNCS, and_, or_
from .parse import (
    MAX_DEPTH,
    Action,
    Call,
    Chain,
    Command,
    Const,
    Control,
    Field,
    Ident,
    Jump,
    Node,
    Parser,
    Pipe,
    Text,
    Variable,
)
from .values import (
    MISSING,
    Fail,
    Header,
    Nil,
    TemplateError,
    go_format,
    go_quote,
    gotype,
    is_true,
    method_of,
)

MAX_STEPS = 2_000_000  # a template that loops this long in a notebook is a mistake (Go has no such limit)


class _State:
    def __init__(self, template: Template, data, funcs, out: list[str]):
        self.template, self.funcs, self.out = template, funcs, out
        self.vars: list[list] = [["$", data]]
        self.node: Node | None = None
        self.depth = self.steps = 0

    def error(self, message: str):
        if self.node is None:
            raise TemplateError(f"template: : {message}")
        text = self.template.text[:self.node.pos]
        column = self.node.pos - (text.rfind("\n") + 1)
        raise TemplateError(f'template: :{text.count(chr(10)) + 1}:{column}: executing "" at <{self.node}>: {message}')

    def var(self, name: str):
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot
        self.error(f"undefined variable: {name}")

    # statements
    def walk(self, dot, nodes) -> str | None:
        for node in nodes:
            self.node = node
            self.steps += 1
            if self.steps > MAX_STEPS:
                self.error(f"stopped after {MAX_STEPS} steps")
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append("<no value>" if value is None else go_format(value))
            elif isinstance(node, Control):
                signal = self.range(dot, node) if node.kind == "range" else self.if_with(dot, node)
                if signal:
                    return signal
            elif isinstance(node, Jump):
                return node.kind
            elif isinstance(node, Call):
                self.call_template(dot, node)
        return None

    def if_with(self, dot, node: Control) -> str | None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        try:
            if is_true(value):
                return self.walk(value if node.kind == "with" else dot, node.body)
            return self.walk(dot, node.other) if node.other is not None else None
        finally:
            del self.vars[mark:]

    def range(self, dot, node: Control) -> str | None:
        outer = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                self.error(f"can't use {value} to iterate over more than one variable")
            items = ((i, i) for i in range(value))
        elif value is None:
            items = []
        else:
            self.error(f"range can't iterate over {go_format(value)}")
        mark, decl, ran = len(self.vars), node.pipe.decl, False
        try:
            for index, element in items:
                ran = True
                for name, item in zip(decl, (index, element) if len(decl) > 1 else (element,)):
                    self.var(name)[1] = item
                signal = self.walk(element, node.body)
                del self.vars[mark:]
                if signal == "break":
                    break
            if not ran and node.other is not None:
                return self.walk(dot, node.other)
            return None
        finally:
            del self.vars[outer:]

    def call_template(self, dot, node: Call) -> None:
        body = self.template.defined.get(node.name)
        if body is None:
            self.error(f"template {go_quote(node.name)} not defined")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        value = self.pipeline(dot, node.pipe) if node.pipe else None
        saved, self.vars = self.vars, [["$", value]]
        self.walk(value, body)
        self.vars, self.depth = saved, self.depth - 1

    # expressions
    def pipeline(self, dot, pipe: Pipe):
        value = MISSING
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.assign:
                self.var(name)[1] = value
            else:
                self.vars.append([name, value])
        return value

    def command(self, dot, cmd: Command, final):
        first = cmd.args[0]
        if isinstance(first, Field):
            return self.field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, Chain):
            return self.chain(dot, first, cmd.args, final)
        if isinstance(first, Ident):
            return self.function(dot, first, cmd, cmd.args, final)
        if isinstance(first, Variable):
            return self.variable(dot, first, cmd.args, final)
        self.node = first
        if len(cmd.args) > 1 or final is not MISSING:
            self.error(f"can't give argument to non-function {first}")
        if isinstance(first, Pipe):
            return self.pipeline(dot, first)
        if first.kind == "nil":
            self.error("nil is not a command")
        return dot if first.kind == "dot" else first.value

    def chain(self, dot, chain: Chain, args, final):
        self.node = chain
        if isinstance(chain.node, Const) and chain.node.kind == "nil":
            self.error(f"indirection through explicit nil in {chain}")
        receiver = self.arg(dot, "any", chain.node)
        return self.field_chain(dot, receiver, chain, chain.fields, args, final)

    def variable(self, dot, node: Variable, args, final):
        self.node = node
        value = self.var(node.idents[0])[1]
        if len(node.idents) == 1:
            if args is not None and len(args) > 1 or final is not MISSING:
                self.error(f"can't give argument to non-function {node}")
            return value
        return self.field_chain(dot, value, node, node.idents[1:], args, final)

    def field_chain(self, dot, receiver, node, idents, args, final):
        self.node = node
        static = None  # "interface {}" for what a map gave
        for name in idents[:-1]:
            receiver, static = self.field(dot, name, node, None, MISSING, receiver, static)
        return self.field(dot, idents[-1], node, args, final, receiver, static)[0]

    def field(self, dot, name: str, node, args, final, receiver, static=None):
        if receiver is None:
            return None, None
        method = method_of(receiver, name)
        if method is not None:
            return self.call(dot, method, node, name, args, final), None
        if isinstance(receiver, dict):
            if args is not None and len(args) > 1 or final is not MISSING:
                self.error(f"{name} is not a method but has arguments")
            return receiver.get(name), None if isinstance(receiver, Header) else "interface {}"
        if isinstance(receiver, Nil):
            self.error(f"nil pointer evaluating {receiver.go_type}.{name}")
        self.error(f"can't evaluate field {name} in type {static or gotype(receiver)}")

    def function(self, dot, ident: Ident, node, args, final):
        self.node = ident
        fn = self.funcs.get(ident.name)
        if fn is None:
            self.error(f"{go_quote(ident.name)} is not a defined function")
        return self.call(dot, fn, node, ident.name, args, final)

    def call(self, dot, fn, node, name: str, args, final):
        args = list(args[1:]) if args else []
        params, variadic = getattr(fn, "go_params", ()), getattr(fn, "go_variadic", None)
        count = len(args) + (final is not MISSING)
        if variadic is not None and count < len(params):
            self.error(f"wrong number of args for {name}: want at least {len(params)} got {len(args)}")
        if variadic is None and count != len(params):
            self.error(f"wrong number of args for {name}: want {len(params)} got {count}")
        kinds = list(params) + [variadic] * max(0, count - len(params))
        if fn in (and_, or_):  # evaluated lazily, as Go does
            value = None
            for arg in args:
                value = self.arg(dot, "any", arg)
                if is_true(value) == (fn is or_):
                    return value
            return final if final is not MISSING else value
        argv = [self.arg(dot, kind, arg) for kind, arg in zip(kinds, args)]
        if final is not MISSING:
            argv.append(self.check(final, kinds[-1]))
        try:
            return fn(*argv)
        except Fail as exc:
            self.node = node
            self.error(f"error calling {name}: {exc}")

    def arg(self, dot, kind: str, node):
        self.node = node
        if isinstance(node, Field):
            return self.check(self.field_chain(dot, dot, node, node.idents, [node], MISSING), kind)
        if isinstance(node, Variable):
            return self.check(self.variable(dot, node, None, MISSING), kind)
        if isinstance(node, Pipe):
            return self.check(self.pipeline(dot, node), kind)
        if isinstance(node, Ident):
            return self.check(self.function(dot, node, node, None, MISSING), kind)
        if isinstance(node, Chain):
            return self.check(self.chain(dot, node, None, MISSING), kind)
        if node.kind == "dot":
            return self.check(dot, kind)
        if node.kind == "nil":
            if kind in ("any", "[]string"):
                return None
            self.error(f"cannot assign nil to {kind}")
        if kind == "any":
            return node.value
        wanted = {"bool": "bool", "string": "string", "int": "number"}.get(kind)
        if wanted is None:
            self.error(f"can't handle {node} for arg of type {kind}")
        integral = isinstance(node.value, int) or isinstance(node.value, float) and node.value.is_integer() \
            and abs(node.value) < 2 ** 63
        if node.kind == wanted and (kind != "int" or integral):
            return int(node.value) if kind == "int" else node.value
        self.error(f"expected {'integer' if kind == 'int' else kind}; found {node}")

    def check(self, value, kind: str):
        if kind == "any":
            return value
        if value is None:
            if kind == "[]string":
                return []
            self.error(f"invalid value; expected {kind}")
        ok = {"string": isinstance(value, str), "bool": isinstance(value, bool),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "[]string": isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)}[kind]
        if not ok:
            self.error(f"wrong type for value; expected {kind}; got {gotype(value)}")
        return value


class Template:
    """A parsed template: ``execute(data)`` renders it."""

    def __init__(self, text: str, funcs: dict | None = None):
        self.text = text
        self.funcs = FUNCS if funcs is None else funcs
        with _one_line("parsing"):
            parser = Parser(text, self.funcs)
            self.root = parser.parse()
        self.defined = parser.defined

    def execute(self, data, funcs: dict | None = None, out: list[str] | None = None) -> str:
        """The rendered text; ``out`` collects what was rendered before an error."""
        out = [] if out is None else out
        with _one_line("executing"):
            _State(self, data, funcs or self.funcs, out).walk(data, self.root)
        return "".join(out)


@contextmanager
def _one_line(doing: str):
    """Whatever goes wrong in a template ends as one line, never a traceback (Python's limits
    are not Go's: a deep nesting, a huge number)."""
    try:
        yield
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateError(f"template: : {doing} nests too deeply") from None
    except (ArithmeticError, MemoryError, ValueError, TypeError, LookupError) as exc:
        raise TemplateError(f"template: : {doing}: {type(exc).__name__}: {exc}") from None


def parse(text: str) -> Template:
    return Template(text)
