"""``%container`` / ``%%container``: the docker CLI's verbs, in cells."""

from __future__ import annotations

import re
import shlex
import sys
import uuid

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Dict, Enum, Float, Unicode, observe
from traitlets.config import Configurable

from ..engine import ContainersError, Engine
from ..engine.records import CLEANUP_LABEL, SESSION_LABEL
from ..policy import action_of
from .registry import HelpShown, Registry

container_commands = Registry("container")


class Context:
    """What a subcommand gets: the engine, the options, the cell body."""

    def __init__(self, magics: "ContainerMagics", cell: str | None):
        self._magics = magics
        self.cell = cell
        self.shell = magics.shell

    @property
    def engine(self) -> Engine:
        return self._magics.engine

    @property
    def policy(self):
        return self._magics.policy

    @property
    def progress(self) -> str:
        return self._magics.progress

    def auth_for(self, image: str) -> dict | None:
        return self.engine.credentials.for_image(image)

    def login(self, registry: str, username: str, password: str) -> None:
        self.engine.credentials.login(registry, username, password)

    def logout(self, registry: str) -> None:
        self.engine.credentials.logout(registry)

    def session_labels(self, scoped: bool) -> dict[str, str]:
        """Labels for a container started from this kernel (``scoped``: removed with it)."""
        if scoped or self._magics.session_scoped:
            self._magics.watch_session()
            return {CLEANUP_LABEL: "session"}
        return {}


@magics_class
class ContainerMagics(Magics, Configurable):
    """Work with a container engine from cells: ``%container --help``."""

    engine_url = Unicode(None, allow_none=True, config=True,
                         help="Engine to use (unix://, tcp://, ssh://); default: discovery "
                              "(DOCKER_HOST, docker context, default sockets, the private engine)")
    progress = Enum(["auto", "widgets", "text", "none"], "auto", config=True,
                    help="How pull/push show progress: ipywidgets in a notebook, text elsewhere")
    session_scoped = Bool(False, config=True,
                          help="Remove every container started from this kernel when the kernel ends")
    connect_timeout = Float(3.0, config=True, help="Seconds to wait for the engine to answer")
    labels = Dict(config=True, help="Labels put on everything created from this kernel")

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.session_id = uuid.uuid4().hex
        self._engine: Engine | None = None
        self._watcher = None
        from ..policy import ContainersPolicy

        self.policy = ContainersPolicy(parent=self)

    @observe("engine_url", "labels")
    def _url_changed(self, change) -> None:
        self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            engine = Engine.connect(self.engine_url or None, timeout=self.connect_timeout)
            self._engine = engine.with_labels({**self.labels, SESSION_LABEL: self.session_id})
        return self._engine

    def watch_session(self) -> None:
        """Make sure this kernel's session containers go when the kernel does."""
        if self._watcher is None:
            import atexit

            from ..watcher import remove_session, start_watcher

            self._watcher = start_watcher(self.engine.url, self.session_id)
            atexit.register(remove_session, self.engine, self.session_id)

    @no_var_expand  # expand(): IPython's expansion would turn a Go template's {{ into {
    @line_cell_magic
    def container(self, line: str, cell: str | None = None):
        """%container COMMAND [OPTIONS]: run %container --help for the commands."""
        return run_command(container_commands, self, expand(self.shell, line), cell)


# a Go template in a line ({{.Names}}, {{json .Config}}, {{printf "%s}}" .X}}), or a lone {{ or }}:
# kept as typed by expand()
_TEMPLATE = re.compile(r'\{\{(?:"(?:[^"\\]|\\.)*"|`[^`]*`|[^"`])*?\}\}|\{\{|\}\}', re.S)


def expand(shell, line: str) -> str:
    """A magic's line expanded as IPython expands it ({var}, {expr}, $var, from the namespace of
    whatever ran the magic: the cell, or a function calling run_line_magic), except that Go
    templates stay as typed: {{ and }} are kept where IPython would turn them into { and }, and
    nothing between them expands ({{range $k, $v := .Labels}}). A line that does not expand (a
    name that is not defined) is left as it is, as IPython leaves it."""
    depth = _user_frame_depth(shell)
    if depth is None or ("{" not in line and "$" not in line):
        return line
    kept: list[str] = []

    def hold(match: re.Match) -> str:  # a stand-in with the template's quotes: $var inside '...' stays
        kept.append(match[0])
        return f"\x00{len(kept) - 1}\x00" + "'" * match[0].count("'")
    expanded = shell.var_expand(_TEMPLATE.sub(hold, line), depth)
    for i, text in enumerate(kept):
        expanded = expanded.replace(f"\x00{i}\x00" + "'" * text.count("'"), text, 1)
    return expanded


def _user_frame_depth(shell) -> int | None:
    """How many frames above expand() the code that called run_line_magic/run_cell_magic is (what
    shell.var_expand's ``depth`` means there); None when the magic was not run by IPython."""
    if shell is None:
        return None
    runners = {getattr(shell, name).__func__.__code__ for name in ("run_line_magic", "run_cell_magic")}
    frame, depth = sys._getframe(2), 1  # 2: the caller of expand()
    while frame is not None:
        if frame.f_code in runners:
            return depth + 1
        frame, depth = frame.f_back, depth + 1
    return None


def passwords(words: list[str], parser) -> list[str]:
    """What follows ``--password``, and ``-p`` where it is not the command's own flag for something
    else (a published port for run, a project for compose): never to be echoed or kept."""
    own = {flag: action.dest for action in parser._actions for flag in action.option_strings}
    flags = {"--password"} | ({"-p"} if own.get("-p", "password") == "password" else set())
    found = []
    for before, word in zip(["", *words], words):
        if before in flags:
            found.append(word)
        elif word.startswith("--password="):
            found.append(word.partition("=")[2])
    return [word for word in found if word]


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:  # whole words only: a secret "x" leaves "exec" alone
        text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", text)
    return text


def scrub_history(shell, secrets: list[str]) -> None:
    """Take what looks like a password out of the kernel's history (In, _i*, the history database)
    as soon as the line is seen; the notebook's own copy of the cell is the front end's."""
    if shell is None or not secrets:
        return
    history = shell.history_manager
    for lines in (history.input_hist_parsed, history.input_hist_raw):
        lines[:] = [redact(line, secrets) for line in lines]
    for name, value in list(shell.user_ns.items()):
        if (name in ("_i", "_ii", "_iii") or name.startswith("_i") and name[2:].isdigit()) \
                and isinstance(value, str):
            shell.user_ns[name] = redact(value, secrets)
    try:
        history.writeout_cache()
        with history.db:
            for secret in secrets:
                history.db.execute("UPDATE history SET source = replace(source, ?, '***'), "
                                   "source_raw = replace(source_raw, ?, '***') WHERE session = ?",
                                   (secret, secret, history.session_number))
    except Exception:  # noqa: BLE001 - a history without a database (nothing to scrub there)
        pass


def run_command(registry: Registry, magics, line: str, cell: str | None):
    """Parse ``line``, run the subcommand, translate failures to one line."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"{registry.prefix}: {exc}") from None
    if not words or words[0] in ("-h", "--help", "help"):
        print(registry.overview())
        return None
    command, rest = registry.find(words)
    if cell is not None and not command.cell:
        raise UsageError(f"{registry.prefix} {command.name}: takes no cell body; use %{registry.prefix}")
    parser = command.parser(registry.prefix)
    secrets = passwords(rest, parser)
    if secrets:
        scrub_history(magics.shell, secrets)
    try:
        args = parser.parse_args(rest)
    except HelpShown:
        return None
    except UsageError as exc:  # argparse names what it did not expect: never a password
        raise UsageError(redact(str(exc), secrets)) from None
    try:
        policy = getattr(magics, "policy", None)
        if policy is not None:
            policy.check_action(*action_of(registry.prefix, command.name))
        return command.run(Context(magics, cell), args)
    except ContainersError as exc:
        raise UsageError(f"{registry.prefix} {command.name}: {exc}") from None
    except KeyboardInterrupt:
        print(f"\n{registry.prefix} {command.name}: interrupted")
        return None

