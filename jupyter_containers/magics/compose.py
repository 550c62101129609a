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
from .stats_commands import interval_arg, show, source_arg
from .pump import pumped

compose_commands = Registry("compose")
cli = compose_commands

# Docker Compose v2's words for its flags (and, after them, what differs in a notebook)
FILE_HELP = "Compose configuration files (default: the cell body, else compose.yaml here)"
PROJECT_NAME = arg("-p", "--project-name", help="Project name")
PROJECT_LONG_NAME = arg("--project-name", help="Project name")  # where -p is the verb's own flag (run -p PORT)
FILE = arg("-f", "--file", action="append", default=[], help=FILE_HELP)
LONG_FILE = arg("--file", action="append", default=[], help=FILE_HELP)  # where -f is the verb's own (logs -f)
REST = (
    arg("--project-directory", help="Specify an alternate working directory (default: the path of the, first "
                                    "specified, Compose file)"),
    arg("--profile", action="append", default=[], help="Specify a profile to enable"),
    arg("--env-file", help="Specify an alternate environment file"),
)
PROJECT = (PROJECT_NAME, FILE, *REST)
SERVICES = arg("services", nargs="*", metavar="SERVICE")
TIMEOUT = arg("-t", "--timeout", type=int, help="Specify a shutdown timeout in seconds")
REMOVE_ORPHANS = arg("--remove-orphans", action="store_true",
                     help="Remove containers for services not defined in the Compose file")
PULL = arg("--pull", choices=["always", "missing", "never"],
           help='Pull image before running ("always"|"missing"|"never")')
SCALE = arg("--scale", action="append", default=[], metavar="SERVICE=N",
            help="Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
INDEX = arg("--index", type=positive(int), help="Index of the container if service has multiple replicas")
SWARM = arg("--swarm", action="store_true",
            help="The project as a Swarm stack, as `docker stack deploy|rm|ps` (the engine must be a swarm manager)")


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


def _counts(items: list[str], project=None) -> dict[str, int]:
    from ..compose import ComposeError

    out = {}
    for item in items:
        service, eq, count = item.partition("=")
        if not eq or not count.isdigit():
            raise ComposeError(f"invalid scale {item!r}: use SERVICE=N")
        out[service] = int(count)
    if project is not None and out:
        project.select(list(out))  # a service not in the file: one line naming it
    return out


def _moment(text: str) -> str:
    """``--since``/``--until``: a time the docker CLI takes (10m, 2013-01-02T13:23:37Z, ...), checked here."""
    from ..engine import ContainersError
    from ..engine.specs import unix_nanoseconds

    try:
        unix_nanoseconds(text)
    except ContainersError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _print_line(line) -> None:
    print(line.text, file=sys.stderr if line.stream == "stderr" else sys.stdout, flush=True)


def _names(verb: str, names: list[str], none: str) -> None:
    print(f"{verb}: {', '.join(names)}" if names else none)


# -- commands -----------------------------------------------------------------------------------
UP_HELP = """Create and start containers

The cell body is the compose file. Containers run in the background (-d is implied) and the stack's
ps is returned; with --abort-on-container-exit or --exit-code-from, their output is shown, prefixed
with their names, until one stops, the others are stopped and an exit code is returned.

With --swarm the file is deployed as a Swarm stack (docker stack deploy): services PROJECT_SERVICE,
overlay networks, configs and secrets; a second up updates only the services whose spec changed;
it waits until every service converged (-t/--timeout seconds, default --wait-timeout or 120) unless
-d, --remove-orphans removes the stack's services no longer in the file, and the tasks are returned."""


@cli.command("up", UP_HELP, *PROJECT,
             arg("--abort-on-container-exit", action="store_true",
                 help="Stops all containers if any container was stopped. Incompatible with -d"),
             arg("--build", action="store_true", help="Build images before starting containers."),
             arg("-d", "--detach", action="store_true",
                 help="Detached mode: Run containers in the background (always, in a notebook)"),
             arg("--exit-code-from", metavar="SERVICE",
                 help="Return the exit code of the selected service container. Implies --abort-on-container-exit"),
             arg("--force-recreate", action="store_true",
                 help="Recreate containers even if their configuration and image haven't changed."),
             arg("--no-deps", action="store_true", help="Don't start linked services."),
             arg("--no-recreate", action="store_true",
                 help="If containers already exist, don't recreate them. Incompatible with --force-recreate."),
             arg("--no-start", action="store_true", help="Don't start the services after creating them."),
             PULL, REMOVE_ORPHANS, SCALE,
             arg("-t", "--timeout", type=int,
                 help="Use this timeout in seconds for container shutdown when attached (here: the stop after "
                      "--abort-on-container-exit)"),
             arg("--wait", action="store_true", help="Wait for services to be running|healthy. Implies detached mode."),
             arg("--wait-timeout", type=positive(float),
                 help="Maximum duration in seconds to wait for the project to be running|healthy (and for the "
                      "dependencies' conditions); default 120 with --wait"),
             SWARM, SERVICES, cell=True)
def up(ctx, args):
    from ..compose import ComposeError

    if args.swarm:
        from .compose_swarm import swarm_up

        return swarm_up(ctx, args)
    attached = args.abort_on_container_exit or args.exit_code_from is not None
    for flag, given in (("--detach", args.detach), ("--wait", args.wait), ("--no-start", args.no_start)):
        if attached and given:
            raise ComposeError(f"{flag} cannot be combined with --abort-on-container-exit or --exit-code-from")
    if args.force_recreate and args.no_recreate:
        raise ComposeError("--force-recreate and --no-recreate are incompatible")
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    options = dict(build=args.build, force_recreate=args.force_recreate, no_recreate=args.no_recreate,
                   remove_orphans=args.remove_orphans, replicas=_counts(args.scale, stack.project),
                   no_deps=args.no_deps, pull=args.pull,
                   wait_timeout=args.wait_timeout or (ctx._magics.wait_timeout if args.wait else None))
    if attached:
        return stack.up_attached(args.services, exit_code_from=args.exit_code_from, timeout=args.timeout,
                                 on_line=lambda text: print(text, flush=True), **options)
    stack.up(args.services, wait=args.wait, no_start=args.no_start, **options)
    return stack.ps()


@cli.command("create", "Creates containers for a service\n\n(the cell body is the compose file; returns ps)",
             *PROJECT, arg("--build", action="store_true", help="Build images before starting containers"),
             arg("--force-recreate", action="store_true",
                 help="Recreate containers even if their configuration and image haven't changed"),
             arg("--no-recreate", action="store_true",
                 help="If containers already exist, don't recreate them. Incompatible with --force-recreate."),
             PULL, REMOVE_ORPHANS, SCALE, SERVICES, cell=True)
def create(ctx, args):
    from ..compose import ComposeError

    if args.force_recreate and args.no_recreate:
        raise ComposeError("--force-recreate and --no-recreate are incompatible")
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    stack.create(args.services, build=args.build, force_recreate=args.force_recreate, no_recreate=args.no_recreate,
                 remove_orphans=args.remove_orphans, replicas=_counts(args.scale, stack.project), pull=args.pull)
    return stack.ps()


RUN_HELP = """Run a one-off command on a service

  %compose run [OPTIONS] SERVICE [COMMAND] [ARGS...]

-p is --publish here, as in docker compose run: name the project with --project-name. A new container
with the service's configuration, named PROJECT-SERVICE-run-<id>, without the service's ports (unless
--service-ports or -p), started once the service's dependencies are (unless --no-deps). In the
foreground its output is shown as it comes and its exit code returned; with -d, its handle."""


@cli.command("run", RUN_HELP, PROJECT_LONG_NAME, FILE, *REST,
             arg("--build", action="store_true", help="Build image before starting container"),
             arg("-d", "--detach", action="store_true", help="Run container in background and print container ID"),
             arg("--entrypoint", help="Override the entrypoint of the image"),
             arg("-e", "--env", action="append", default=[], metavar="KEY=VALUE", help="Set environment variables"),
             arg("-i", "--interactive", action="store_true", default=True,
                 help="Keep STDIN open even if not attached (the default; the cell has no stdin: it is closed)"),
             arg("-l", "--label", action="append", default=[], metavar="KEY=VALUE", help="Add or override a label"),
             arg("--name", help="Assign a name to the container"),
             arg("-T", "--no-TTY", "--no-tty", dest="no_tty", action="store_true",
                 help="Disable pseudo-TTY allocation (default: auto-detected; a notebook has no terminal)"),
             arg("--no-deps", action="store_true", help="Don't start linked services"),
             arg("-t", "--tty", action="store_true", help=argparse.SUPPRESS),  # v2's hidden flag, for `run -it`
             arg("-p", "--publish", action="append", default=[], metavar="[IP:][HOST_PORT:]CONTAINER_PORT",
                 help="Publish a container's port(s) to the host"),
             PULL, arg("--rm", action="store_true", help="Automatically remove the container when it exits"),
             arg("-P", "--service-ports", action="store_true",
                 help="Run command with all service's ports enabled and mapped to the host"),
             arg("--use-aliases", action="store_true",
                 help="Use the service's network useAliases in the network(s) the container connects to"),
             arg("-u", "--user", help="Run as specified username or uid"),
             arg("-v", "--volume", action="append", default=[], help="Bind mount a volume"),
             arg("-w", "--workdir", help="Working directory inside the container"),
             arg("service", metavar="SERVICE"), arg("command", nargs=argparse.REMAINDER, metavar="COMMAND"),
             cell=True)
def run(ctx, args):
    if args.tty and args.no_tty:
        from ..compose import ComposeError

        raise ComposeError("--tty and --no-tty can't be used together")
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    options = dict(tty=args.tty, name=args.name, env=args.env, entrypoint=args.entrypoint, user=args.user, workdir=args.workdir,
                   publish=args.publish, service_ports=args.service_ports, labels=args.label, volumes=args.volume,
                   use_aliases=args.use_aliases, no_deps=args.no_deps, build=args.build, pull=args.pull,
                   remove=args.rm, check=ctx.policy.check_spec)
    if args.detach:
        return stack.run_detached(args.service, args.command, **options)
    return stack.run(args.service, args.command, on_output=_print_line, **options)


@cli.command("down", "Stop and remove containers, networks", *PROJECT, REMOVE_ORPHANS,
             arg("--rmi", choices=["all", "local"],
                 help='Remove images used by services. "local" remove only images that don\'t have a custom tag '
                      '("local"|"all")'),
             TIMEOUT,
             arg("-v", "--volumes", action="store_true",
                 help='Remove named volumes declared in the "volumes" section of the Compose file and anonymous '
                      "volumes attached to containers"), SWARM, cell=True)
def down(ctx, args):
    if args.swarm:
        from .compose_swarm import swarm_down

        return swarm_down(ctx, args)
    stack = _stack(ctx, args, required=False)
    images = []
    if args.rmi:
        ctx.policy.check_action("remove-image")
        images = stack.images_to_remove(args.rmi)
    one_offs = stack.remove_one_offs(timeout=args.timeout) if args.remove_orphans else []
    removed = stack.down(volumes=args.volumes, remove_orphans=args.remove_orphans, timeout=args.timeout)
    print(f"removed {len(removed) + len(one_offs)} container(s)")
    if images:
        print(f"removed {len(stack.remove_images(images))} image(s)")


@cli.command("ps", "List containers\n\n(a DataFrame: name, service, state, health, status, ports; with --swarm the "
             "stack's tasks: name, service, slot, node, image, desired_state, current_state, since, error)",
             *PROJECT, SWARM, SERVICES, cell=True)
def ps(ctx, args):
    if args.swarm:
        from .compose_swarm import swarm_stack

        return swarm_stack(ctx, args).ps(args.services)
    return _stack(ctx, args, required=False, progress=False).ps(args.services)


@cli.command("logs", "View output from containers\n\n(each line after its container's name; -f follows until "
             "interrupted or every container stopped)", PROJECT_NAME, LONG_FILE, *REST,
             arg("-f", "--follow", action="store_true", help="Follow log output"), INDEX,
             arg("--no-color", action="store_true", help="Produce monochrome output (always, here)"),
             arg("--no-log-prefix", action="store_true", help="Don't print prefix in logs"),
             arg("--since", type=_moment, help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
                                               "(e.g. 42m for 42 minutes)"),
             arg("-n", "--tail", type=tail, help="Number of lines to show from the end of the logs for each container "
                                                 "(default all)"),
             arg("-t", "--timestamps", action="store_true", help="Show timestamps"),
             arg("--until", type=_moment, help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or "
                                               "relative (e.g. 42m for 42 minutes)"),
             SERVICES, cell=True)
def logs(ctx, args):
    stack = _stack(ctx, args, required=False, progress=False)
    options = dict(tail=args.tail, since=args.since, until=args.until, timestamps=args.timestamps, index=args.index)
    if not args.follow:
        return Text(stack.log_text(args.services, prefix=not args.no_log_prefix, **options))
    with stack.log_stream(args.services, **options) as lines:
        try:
            for name, line in lines:
                print(line.text if args.no_log_prefix else f"{name} | {line.text}", flush=True)
        except KeyboardInterrupt:
            pass
    return None


def _verb(verb: str, help: str):
    timed = (TIMEOUT,) if verb != "start" else ()

    @cli.command(verb, help, *PROJECT, *timed, SERVICES, cell=True)
    def command(ctx, args):
        stack = _stack(ctx, args, required=False)
        extra = {"timeout": args.timeout} if timed else {}
        getattr(stack, verb)(args.services, **extra)
    return command


_verb("start", "Start services\n\n(the stack's stopped containers, in dependency order)")
_verb("stop", "Stop services\n\n(dependents first)")
_verb("restart", "Restart service containers")


@cli.command("kill", "Force stop service containers", *PROJECT, REMOVE_ORPHANS,
             arg("-s", "--signal", default="SIGKILL", help="SIGNAL to send to the container (default SIGKILL)"),
             SERVICES, cell=True)
def kill(ctx, args):
    _names("killed", _stack(ctx, args, required=False).kill(args.services, args.signal, args.remove_orphans),
           "No container to kill")


@cli.command("rm", "Removes stopped service containers", PROJECT_NAME, LONG_FILE, *REST,
             arg("-f", "--force", action="store_true", help="Don't ask to confirm removal (a notebook never asks)"),
             arg("-s", "--stop", action="store_true", help="Stop the containers, if required, before removing"),
             arg("-v", "--volumes", action="store_true", help="Remove any anonymous volumes attached to containers"),
             SERVICES, cell=True)
def rm(ctx, args):
    _names("removed", _stack(ctx, args, required=False).rm(args.services, stop=args.stop, volumes=args.volumes),
           "No stopped containers")


@cli.command("pause", "Pause services", *PROJECT, SERVICES, cell=True)
def pause(ctx, args):
    _names("paused", _stack(ctx, args, required=False).pause(args.services), "No container to pause")


@cli.command("unpause", "Unpause services", *PROJECT, SERVICES, cell=True)
def unpause(ctx, args):
    _names("unpaused", _stack(ctx, args, required=False).unpause(args.services), "No container to unpause")


@cli.command("top", "Display the running processes\n\n(a DataFrame per container, by its name)", *PROJECT,
             SERVICES, cell=True)
def top(ctx, args):
    return _stack(ctx, args, required=False, progress=False).top(args.services)


def _port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


@cli.command("port", "Print the public port for a port binding\n\n  %compose port [OPTIONS] SERVICE PRIVATE_PORT",
             *PROJECT, INDEX, arg("--protocol", choices=["tcp", "udp", "sctp"], default="tcp", help="tcp or udp"),
             arg("service", metavar="SERVICE"), arg("private_port", type=_port_number, metavar="PRIVATE_PORT"),
             cell=True)
def port(ctx, args):
    stack = _stack(ctx, args, required=False, progress=False)
    return Text(stack.port(args.service, args.private_port, protocol=args.protocol, index=args.index))


@cli.command("images", "List images used by the created containers\n\n(a DataFrame: container, repository, tag, "
             "image_id, size in bytes)", *PROJECT, SERVICES, cell=True)
def images(ctx, args):
    return _stack(ctx, args, required=False, progress=False).images(args.services)


@cli.command("cp", "Copy files/folders between a service container and the local filesystem\n\n"
             "  %compose cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH\n"
             "  %compose cp [OPTIONS] SRC_PATH SERVICE:DEST_PATH\n\n"
             "From the service's first container; to every container of the service (or --index).",
             *PROJECT, arg("--all", action="store_true", help="Include containers created by the run command"),
             arg("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)"),
             arg("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH"),
             INDEX, arg("source", metavar="SRC"), arg("destination", metavar="DEST"), cell=True)
def cp(ctx, args):
    stack = _stack(ctx, args, required=False, progress=False)
    for written in stack.cp(args.source, args.destination, index=args.index, archive=args.archive,
                            follow_link=args.follow_link, all=args.all):
        print(f"copied {args.source} to {written}")


@cli.command("events", "Receive real time events from containers\n\n(one line each: TIME container ACTION ID "
             "(ATTRIBUTES), until interrupted or --until)", *PROJECT,
             arg("--json", action="store_true", help="Output events as a stream of json objects"),
             arg("--since", type=_moment, help="Show all events created since timestamp"),
             arg("--until", type=_moment, help="Stream events until this timestamp"), SERVICES, cell=True)
def events(ctx, args):
    stack = _stack(ctx, args, required=False, progress=False)
    with stack.events(args.services, since=args.since, until=args.until) as stream:
        try:
            for event in pumped(stream):
                print(event.json() if args.json else event, flush=True)
        except KeyboardInterrupt:
            pass


@cli.command("wait", "Block until containers of all (or specified) services stop.\n\n(returns their exit codes, "
             "by container name)", *PROJECT,
             arg("--down-project", action="store_true", help="Drops project when the first container stops"),
             arg("services", nargs="+", metavar="SERVICE"), cell=True)
def wait(ctx, args):
    return _stack(ctx, args, required=False).wait_exit(args.services, down_project=args.down_project)


@cli.command("version", "Show the Docker Compose version information\n\n(this package's version, and the line of "
             "Docker Compose whose names and labels it writes)",
             arg("-f", "--format", choices=["pretty", "json"], default="pretty",
                 help="Format the output. Values: [pretty | json]. (Default: pretty)"),
             arg("--short", action="store_true", help="Shows only Compose's version number"))
def version(ctx, args):
    import json

    from ..compose.verbs import version_info

    info = version_info()
    if args.short:
        return Text(info["version"])
    if args.format == "json":
        return Text(json.dumps(info))
    return Text(f"jupyter-containers compose version {info['version']}, following Docker Compose {info['compose']}")


@cli.command("pull", "Pull service images\n\n(of services that are not built)", *PROJECT, SERVICES, cell=True)
def pull(ctx, args):
    refs = _stack(ctx, args).pull(args.services)
    print(f"pulled {len(refs)} image(s)")


@cli.command("build", "Build or rebuild services\n\n(those with a build section)", *PROJECT,
             arg("--build-arg", action="append", default=[], metavar="KEY=VALUE",
                 help="Set build-time variables for services"),
             arg("--no-cache", action="store_true", help="Do not use cache when building the image"),
             arg("--pull", action="store_true", help="Always attempt to pull a newer version of the image"),
             arg("-q", "--quiet", action="store_true", help="Suppress the build output"), SERVICES, cell=True)
def build(ctx, args):
    _stack(ctx, args, progress=not args.quiet).build_with(args.services, no_cache=args.no_cache, pull=args.pull,
                                                          build_args=args.build_arg)


@cli.command("config", "Parse, resolve and render compose file in canonical format\n\n(YAML; values that look "
             "secret as ***)", *PROJECT,
             arg("--show-secrets", action="store_true",
                 help="print the values of *PASSWORD*, *SECRET*, *TOKEN*, *KEY* variables and secret files' "
                      "contents too (they would be saved in the notebook)"), cell=True)
def config(ctx, args):
    return Text(_project(ctx, args).to_yaml(show_secrets=args.show_secrets))


@cli.command("ls", "List running compose projects\n\n(every Compose stack on the engine, ours and the docker CLI's)")
def ls(ctx, args):
    from ..compose import list_stacks

    return list_stacks(ctx.engine)


@cli.command("exec", "Execute a command in a running container", *PROJECT,
             arg("--index", type=positive(int), default=1,
                 help="Index of the container if service has multiple replicas"),
             arg("-e", "--env", action="append", default=[], metavar="KEY=VALUE", help="Set environment variables"),
             arg("-w", "--workdir", help="Path to workdir directory for this command"),
             arg("-u", "--user", help="Run the command as this user"),
             arg("service"), arg("command", nargs=argparse.REMAINDER), cell=True)
def exec_(ctx, args):
    if not args.command:
        from ..compose import ComposeError

        raise ComposeError("give a command to run, e.g. %compose exec web ls /")
    stack = _stack(ctx, args, required=False, progress=False)
    return stack.exec(args.service, args.command, index=args.index, env=args.env or None,
                      workdir=args.workdir, user=args.user)


@cli.command("scale", "Scale services \n\n  %compose scale SERVICE=N ...", *PROJECT,
             arg("--no-deps", action="store_true", help="Don't start linked services"),
             arg("counts", nargs="+", metavar="SERVICE=N"), cell=True)
def scale(ctx, args):
    stack = _stack(ctx, args)
    ctx.policy.check_project(stack.project)
    stack.scale(_counts(args.counts, stack.project))
    return stack.ps()


@cli.command("stats", "Display a live stream of container(s) resource usage statistics\n\n(a live chart that new "
             "replicas join, or with --no-stream a DataFrame)", *PROJECT,
             arg("--no-stream", action="store_true",
                 help="Disable streaming stats and only pull the first result (a DataFrame)"),
             interval_arg("default 1; a snapshot reads twice, 0.25 apart"), source_arg(),
             arg("--retention", type=positive(float), default=None, metavar="SECONDS",
                 help="history kept per container (default 3600, at most 6000 rows)"),
             arg("--window", type=positive(float), default=300.0, metavar="SECONDS",
                 help="seconds shown in the chart (default 300)"),
             SERVICES, cell=True)
def stats(ctx, args):
    from ..compose import ComposeError

    stack = _stack(ctx, args, required=False, progress=False)
    running = [c.name for c in stack.containers(args.services) if c.state == "running"]
    if not running:
        raise ComposeError(f"no running containers in project {stack.name}")
    # named services: those containers; the whole stack: its label, so replicas started later join
    target = dict(containers=running) if args.services else \
        dict(filters={"label": [f"com.docker.compose.project={stack.name}"]})
    return show(ctx, args, target, title=f"stack {stack.name}")
