"""The subcommand router: docker-CLI-shaped parsers that end cells with one line.

Each subcommand is a plain function ``fn(ctx, args)`` registered with its
arguments; the magic parses the line, calls it, and turns every expected
failure into ``UsageError("container SUB: what happened")``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Callable

from IPython.core.error import UsageError


class HelpShown(Exception):
    """--help was asked for and printed: the cell ends quietly."""


class Parser(argparse.ArgumentParser):
    prepare: Callable[[list[str]], list[str]] | None = None  # rewrites the words first (``--rm=false``)

    def parse_args(self, args=None, namespace=None):
        if self.prepare is not None:
            from ..engine import ContainersError

            try:
                args = self.prepare(list(args or []))
            except ContainersError as exc:
                self.error(str(exc))
        return super().parse_args(args, namespace)

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}; see %{self.prog} --help")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            raise UsageError(f"{self.prog}: {message.strip()}")
        raise HelpShown


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict]:
    return flags, options


# argument types: a bad value is argparse's one-line error, naming the option
def value(parse: Callable, *extra: Any) -> Callable[[str], Any]:
    """An argparse ``type`` from a parser of the engine layer: what it returns, or its ContainersError
    as argparse's error for the flag."""
    def convert(text: str):
        from ..engine import ContainersError

        try:
            return parse(text, *extra)
        except ContainersError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def boolean(text: str) -> bool:
    """A flag's ``=true|false``, as Go's strconv.ParseBool reads it (the docker CLI's flags do)."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def valid(parse: Callable, *extra: Any) -> Callable[[str], str]:
    """Like ``value``, but the text itself when the parser accepts it (the engine layer reads it later)."""
    check = value(parse, *extra)

    def convert(text: str) -> str:
        check(text)
        return text
    convert.__name__ = check.__name__
    return convert


def tail(text: str) -> str:
    """``--tail``: a number of lines, or ``all``."""
    if text != "all" and not (text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of lines (or 'all')")
    return text


def positive(kind: type) -> Callable[[str], Any]:
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not 0 < value < float("inf"):  # NaN and infinity too
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive {kind.__name__}")
        return value
    convert.__name__ = f"positive {kind.__name__}"
    return convert


@dataclass
class Command:
    name: str
    help: str
    arguments: tuple
    run: Callable
    cell: bool = False  # takes the cell body (``%%container build``)
    prepare: Callable | None = None  # rewrites the words before argparse sees them
    _parsers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def parser(self, prefix: str) -> Parser:
        """The argument parser (made once per prefix: parsing keeps no state in it)."""
        if prefix not in self._parsers:
            parser = Parser(prog=f"{prefix} {self.name}", description=self.help, conflict_handler="resolve",
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # resolve: -h can be --hostname
            parser.prepare = self.prepare
            for flags, options in self.arguments:
                parser.add_argument(*flags, **options)
            self._parsers[prefix] = parser
        return self._parsers[prefix]


@dataclass
class Registry:
    prefix: str
    commands: dict[str, Command] = field(default_factory=dict)

    def command(self, name: str, help: str, *arguments, cell: bool = False, prepare: Callable | None = None):
        def register(fn: Callable) -> Callable:
            self.commands[name] = Command(name, help, arguments, fn, cell, prepare)
            return fn
        return register

    def find(self, words: list[str]) -> tuple[Command, list[str]]:
        """The command named by the first one or two words, and the rest."""
        for size in (2, 1):
            key = " ".join(words[:size])
            if len(words) >= size and key in self.commands:
                return self.commands[key], words[size:]
        groups = {name.split()[0] for name in self.commands if " " in name}
        if words and words[0] in groups:
            subs = sorted(n.split()[1] for n in self.commands if n.startswith(words[0] + " "))
            raise UsageError(f"{self.prefix} {words[0]}: say one of {', '.join(subs)}")
        raise UsageError(f"{self.prefix}: unknown command {words[0]!r}; see %{self.prefix} --help")

    def overview(self) -> str:
        width = max(len(n) for n in self.commands) + 2
        lines = [f"usage: %{self.prefix} COMMAND [OPTIONS]   (%{self.prefix} COMMAND --help for each)", ""]
        lines += [f"  {name:<{width}}{cmd.help.splitlines()[0]}" for name, cmd in sorted(self.commands.items())]
        return "\n".join(lines)
