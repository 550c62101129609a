"""``%compose`` / ``%%compose``: Compose stacks from cells (the cell body is the compose file)."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Float
from traitlets.config import Configurable

from .container import ContainerMagics, expand, run_command
from .display import Text, in_kernel
from .registry import Registry, arg, positive, tail

compose_commands = Registry("compose")
cli = compose_commands

FILE_HELP = "compose file(s), later ones override"
PROJECT = (
    arg("-p", "--project-name", help="the project's name (default: the file's name:, or the directory's)"),
    arg("-f", "--file", action="append", default=[], help=FILE_HELP),
    arg("--project-directory", help="base of relative paths (default: the first file's directory)"),
    arg("--profile", action="append", default=[], help="enable services of this profile"),
    arg("--env-file", help="variables for interpolation (default: .env in the project directory)"),
)
SERVICES = arg("services", nargs="*", metavar="SERVICE")


class Progress:
    """Per-service progress: a live table in a notebook, lines elsewhere, nothing for ``none``."""

    def __init__(self, style: str = "auto"):
        self.style = "widgets" if style == "auto" and in_kernel() else ("text" if style == "auto" else style)
        self.rows: dict[str, str] = {}
        self._lock = threading.Lock()
        self._widget = None

    def __call__(self, event) -> None:
        key = event.container or event.service or "stack"
        text = f"{event.action} {event.detail}".strip()
        with self._lock:
            self.rows[key] = text
            if self.style == "text":
                print(f"{key:<32} {text}", flush=True)
            elif self.style == "widgets":
                self._draw()

    def _draw(self) -> None:
        import html

        import ipywidgets as w
        from IPython.display import display

        if self._widget is None:
            self._widget = w.HTML()
            display(self._widget)
        cells = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                        for k, v in self.rows.items())
        self._widget.value = f'<table class="jp-containers-compose">{cells}</table>'


@magics_class
class ComposeMagics(Magics, Configurable):
    """Compose stacks from cells: ``%compose --help``. Uses ``ContainerMagics``' engine and options."""

    wait_timeout = Float(120.0, config=True, help="Default seconds for up --wait")

    def __init__(self, shell=None, container_magics: ContainerMagics | None = None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._container = container_magics or ContainerMagics(shell=shell, **kwargs)

    @property
    def engine(self):
        return self._container.engine

    @property
    def progress(self) -> str:
        return self._container.progress

    @property
    def session_scoped(self) -> bool:
        return self._container.session_scoped

    @property
    def policy(self):
        return self._container.policy

    def watch_session(self) -> None:
        self._container.watch_session()

    @no_var_expand  # expanded by expand(), which keeps Go templates ({{...}}) as typed
    @line_cell_magic
    def compose(self, line: str, cell: str | None = None):
        """%compose COMMAND [OPTIONS]: run %compose --help for the commands."""
        return run_command(compose_commands, self, expand(self.shell, line), cell)


# -- helpers ------------------------------------------------------------------------------------
def _project(ctx, args, required: bool = True):
    """The project from the cell body, -f files or the default file in the project directory.

    None when only -p NAME was given to a command that works from the labels alone (down, ps,
    logs, ...): then an unrelated compose.yaml here does not decide what belongs to NAME."""
    from ..compose import load_project

    options = dict(name=args.project_name, working_dir=args.project_directory, profiles=args.profile,
                   env_file=args.env_file)
    if ctx.cell is not None and ctx.cell.strip():
        return load_project(text=ctx.cell, **options)
    if args.file:
        return load_project(args.file, **options)
    if args.project_name and not required:
        return None
    return load_project(None, **{**options, "working_dir": args.project_directory or os.getcwd()})


def _stack(ctx, args, required: bool = True, progress: bool = True):
    from ..compose import Stack

    project = _project(ctx, args, required)
    if project is not None:
        for warning in project.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    on_event = Progress(ctx.progress) if progress and ctx.progress != "none" else None
    return Stack(ctx.engine, project, name=args.project_name, on_event=on_event)


def _counts(items: list[str]) -> dict[str, int]:
    from ..compose import ComposeError

    out = {}
    for item in items:
        service, eq, count = item.partition("=")
        if not eq or not count.isdigit():
            raise ComposeError(f"invalid scale {item!r}: use SERVICE=N")
        out[service] = int(count)
    return out


# -- commands -----------------------------------------------------------------------------------
@cli.command("up", "Create and start the stack (the cell body is the compose file); returns ps",
             *PROJECT,
             arg("-d", "--detach", action="store_true", help="accepted: stacks always run in the background"),
             arg("--wait", action="store_true", help="wait until every service is running and healthy"),
             arg("--wait-timeout", type=positive(float), help="seconds for --wait (default 120)"),
             arg("--build", action="store_true", help="build images before starting"),
             arg("--force-recreate", action="store_true", help="recreate containers even if unchanged"),
             arg("--no-recreate", action="store_true", help="never recreate existing containers"),
             arg("--remove-orphans", action="store_true", help="remove containers of services not in the file"),
             arg("--scale", action="append", default=[], metavar="SERVICE=N", help="replicas of a service"),
             SERVICES, cell=True)
def up(ctx, args):
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    stack.up(args.services, build=args.build, force_recreate=args.force_recreate,
             no_recreate=args.no_recreate, remove_orphans=args.remove_orphans, wait=args.wait,
             wait_timeout=args.wait_timeout or ctx._magics.wait_timeout, replicas=_counts(args.scale))
    return stack.ps()


@cli.command("down", "Stop and remove the stack's containers and networks (-v: and volumes)", *PROJECT,
             arg("-v", "--volumes", action="store_true", help="remove named volumes too"),
             arg("--remove-orphans", action="store_true", help="remove containers of services not in the file"),
             arg("-t", "--timeout", type=int, help="seconds to wait before killing"), cell=True)
def down(ctx, args):
    removed = _stack(ctx, args, required=False).down(volumes=args.volumes, remove_orphans=args.remove_orphans,
                                                    timeout=args.timeout)
    print(f"removed {len(removed)} container(s)")


@cli.command("ps", "The stack's containers (a DataFrame: name, service, state, health, status, ports)",
             *PROJECT, SERVICES, cell=True)
def ps(ctx, args):
    return _stack(ctx, args, required=False, progress=False).ps(args.services)


@cli.command("logs", "The services' output, each line prefixed by its container (-f follows)",
             PROJECT[0], arg("--file", action="append", default=[], help=FILE_HELP), *PROJECT[2:],
             arg("-f", "--follow", action="store_true", help="follow until interrupted or all stop"),
             arg("--tail", type=tail, help="only the last N lines of each (or all)"), SERVICES, cell=True)
def logs(ctx, args):
    stack = _stack(ctx, args, required=False, progress=False)
    if not args.follow:
        return Text(stack.logs(args.services, tail=args.tail))
    with stack.follow_logs(args.services, tail=args.tail) as lines:
        try:
            for name, line in lines:
                print(f"{name} | {line.text}", flush=True)
        except KeyboardInterrupt:
            pass
    return None


def _verb(verb: str, help: str):
    timed = (arg("-t", "--timeout", type=int, help="seconds to wait before killing"),) if verb != "start" else ()

    @cli.command(verb, help, *PROJECT, *timed, SERVICES, cell=True)
    def command(ctx, args):
        stack = _stack(ctx, args, required=False)
        extra = {"timeout": args.timeout} if timed else {}
        getattr(stack, verb)(args.services, **extra)
    return command


_verb("start", "Start the stack's stopped containers (in dependency order)")
_verb("stop", "Stop the stack's containers (dependents first)")
_verb("restart", "Restart the stack's containers")


@cli.command("pull", "Pull the images of services that are not built", *PROJECT, SERVICES, cell=True)
def pull(ctx, args):
    refs = _stack(ctx, args).pull(args.services)
    print(f"pulled {len(refs)} image(s)")


@cli.command("build", "Build the images of services that have a build section", *PROJECT, SERVICES, cell=True)
def build(ctx, args):
    _stack(ctx, args).build(args.services)


@cli.command("config", "The resolved compose file, as YAML (values that look secret as ***)", *PROJECT,
             arg("--show-secrets", action="store_true",
                 help="print the values of *PASSWORD*, *SECRET*, *TOKEN*, *KEY* variables and secret files' "
                      "contents too (they would be saved in the notebook)"), cell=True)
def config(ctx, args):
    return Text(_project(ctx, args).to_yaml(show_secrets=args.show_secrets))


@cli.command("ls", "Every Compose stack on the engine (ours and the docker CLI's)")
def ls(ctx, args):
    from ..compose import list_stacks

    return list_stacks(ctx.engine)


@cli.command("exec", "Run a command in a service's container", *PROJECT,
             arg("--index", type=positive(int), default=1, help="which replica (default 1)"),
             arg("-e", "--env", action="append", default=[], metavar="KEY=VALUE"),
             arg("-w", "--workdir"), arg("-u", "--user"),
             arg("service"), arg("command", nargs=argparse.REMAINDER), cell=True)
def exec_(ctx, args):
    if not args.command:
        from ..compose import ComposeError

        raise ComposeError("give a command to run, e.g. %compose exec web ls /")
    stack = _stack(ctx, args, required=False, progress=False)
    return stack.exec(args.service, args.command, index=args.index, env=args.env or None,
                      workdir=args.workdir, user=args.user)


@cli.command("scale", "Set the number of replicas: scale SERVICE=N ...", *PROJECT,
             arg("counts", nargs="+", metavar="SERVICE=N"), cell=True)
def scale(ctx, args):
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    stack.scale(_counts(args.counts))
    return stack.ps()


@cli.command("stats", "Resource usage of the stack: a live chart (new replicas join it), or with --no-stream "
             "a DataFrame", *PROJECT,
             arg("--no-stream", action="store_true", help="one snapshot (a DataFrame) instead of a live chart"),
             arg("--retention", type=positive(float), default=3600.0, metavar="SECONDS",
                 help="history kept per container (default 3600)"),
             arg("--window", type=positive(float), default=300.0, metavar="SECONDS",
                 help="seconds shown in the chart (default 300)"),
             SERVICES, cell=True)
def stats(ctx, args):
    from ..compose import ComposeError
    from ..stats import Sampler, snapshot

    stack = _stack(ctx, args, required=False, progress=False)
    running = [c.name for c in stack.containers(args.services) if c.state == "running"]
    if not running:
        raise ComposeError(f"no running containers in project {stack.name}")
    # named services: those containers; the whole stack: its label, so replicas started later join
    target = dict(containers=running) if args.services else \
        dict(filters={"label": [f"com.docker.compose.project={stack.name}"]})
    if args.no_stream:
        return snapshot(ctx.engine, **target)
    from ..stats.charts import LiveChart

    sampler = Sampler(ctx.engine, retention=args.retention, **target).start()
    return LiveChart(sampler, window=args.window, title=f"stack {stack.name}").start()
