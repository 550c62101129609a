"""Fuzzing the magics' parsers with Hypothesis: any words after any subcommand give parsed
arguments or one ``UsageError`` line, never another exception (no engine is needed for that).
Words are what ``shlex.split`` can make of one magic line: anything but a line break."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import jupyter_containers.magics  # noqa: F401 - registers every subcommand
from jupyter_containers.magics.compose import compose_commands
from jupyter_containers.magics.container import container_commands
from jupyter_containers.magics.registry import HelpShown

COMMANDS = [(registry, command) for registry in (container_commands, compose_commands)
            for command in registry.commands.values()]
NASTY = ["", "-", "--", "abc", "0", "-1", "1e309", "nan", "inf", "3.5", "99999", "all", "a=b", "=", "k=",
         "'", '"', "\\", "é", "x" * 300, "--help-not", "-p", "--password", "127.0.0.1::80", ":::"]


def flags(command) -> list[str]:
    parser = command.parser("fuzz")
    return [flag for action in parser._actions for flag in action.option_strings
            if flag not in ("-h", "--help") and not isinstance(action, argparse._HelpAction)]


@pytest.mark.parametrize("registry, command", COMMANDS, ids=[f"{r.prefix} {c.name}" for r, c in COMMANDS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_words_parse_or_give_one_usage_line(registry, command, data):
    vocabulary = NASTY + flags(command)
    words = data.draw(st.lists(st.one_of(st.sampled_from(vocabulary), st.text(st.characters(exclude_characters="\n\r"), max_size=12)), max_size=8))
    try:
        command.parser(registry.prefix).parse_args(words)
    except HelpShown:
        pass
    except UsageError as exc:
        message = str(exc)
        assert "\n" not in message.strip() and message.startswith(f"{registry.prefix} {command.name}")
