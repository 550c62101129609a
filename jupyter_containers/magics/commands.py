"""``%container`` subcommands for containers: run, ps, logs, exec, ..."""

from __future__ import annotations

import argparse

import pandas as pd

from ..engine import ContainersError
from .container import container_commands as cli
from .display import JSONView, Text
from .registry import arg, tail

REST = argparse.REMAINDER
INTERRUPT_GRACE = 3  # seconds a foreground container has to end after SIGINT, then after SIGTERM

CREATE_OPTIONS = (
    arg("--name", help="the container's name"),
    arg("-p", "--publish", action="append", default=[], metavar="[IP:][HOST:]PORT",
        help="publish a port, e.g. 127.0.0.1:8080:80, 8080:80 or 80 (a random host port)"),
    arg("-e", "--env", action="append", default=[], metavar="KEY[=VALUE]", help="set an environment variable"),
    arg("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]",
        help="mount a named volume or a host path"),
    arg("-l", "--label", action="append", default=[], metavar="KEY=VALUE", help="set a label"),
    arg("-w", "--workdir", help="working directory inside the container"),
    arg("-u", "--user", help="user (name or uid[:gid])"),
    arg("--entrypoint", help="override the image's entrypoint"),
    arg("--restart", help="no, always, unless-stopped, on-failure[:N]"),
    arg("--cpus", type=float, help="number of CPUs, e.g. 0.5"),
    arg("-m", "--memory", help="memory limit, e.g. 512m"),
    arg("--network", help="network to connect to"),
    arg("--hostname", help="the container's host name"),
    arg("--rm", action="store_true", help="remove the container when it exits"),
    arg("-t", "--tty", action="store_true", help="allocate a pseudo-TTY"),
    arg("-i", "--interactive", action="store_true", help="keep stdin open"),
    arg("--privileged", action="store_true", help="give extended privileges"),
    arg("--pull", choices=["missing", "never", "always"], default="missing", help="when to pull the image"),
    arg("--session", action="store_true", help="remove the container when this kernel ends"),
    arg("image", help="the image to run"),
    arg("command", nargs=REST, help="command and arguments"),
)


def _create_options(ctx, args) -> dict:
    from ..magics.display import LayerProgress

    ctx.policy.check_create(privileged=args.privileged, network=args.network, volumes=args.volume)
    return dict(
        command=args.command or None, name=args.name, ports=args.publish, env=args.env, volumes=args.volume,
        labels={**dict(label.partition("=")[::2] for label in args.label), **ctx.session_labels(args.session)},
        workdir=args.workdir, user=args.user, entrypoint=args.entrypoint, restart=args.restart,
        cpus=args.cpus, memory=args.memory, network=args.network, hostname=args.hostname, tty=args.tty,
        stdin_open=args.interactive, privileged=args.privileged, pull=args.pull,
        on_progress=LayerProgress(f"pulling {args.image}", ctx.progress))


def follow(stream) -> bool:
    """Print a stream of log lines until it ends (False) or the user interrupts (True)."""
    with stream:
        try:
            for line in stream:
                print(line.text, flush=True)
        except KeyboardInterrupt:
            return True
    return False


def interrupt(engine, container) -> None:
    """What one Ctrl-C does to a foreground run: SIGINT to the container, as ``docker run`` forwards it;
    one that ignores it (a shell as PID 1 does) is stopped: SIGTERM, then SIGKILL."""
    engine.containers.kill(container.id, "SIGINT")
    try:
        engine.containers.wait(container.id, timeout=INTERRUPT_GRACE)
    except ContainersError:  # still running when the grace ran out
        engine.containers.stop(container.id, timeout=INTERRUPT_GRACE)
    print(f"container run: interrupted; {container.name} stopped", flush=True)


@cli.command("run", "Create and start a container (-d to leave it running in the background)",
             arg("-d", "--detach", action="store_true", help="run in the background and return its handle"),
             *CREATE_OPTIONS)
def run(ctx, args):
    options = _create_options(ctx, args)
    engine = ctx.engine
    if args.detach:
        return _pulling(options, args.image,
                        lambda: engine.containers.run(args.image, auto_remove=args.rm, **options))
    container = _pulling(options, args.image, lambda: engine.containers.run(args.image, **options))
    try:
        try:
            interrupted = follow(engine.containers.follow_logs(container.id))
        except KeyboardInterrupt:  # before the output started to stream
            interrupted = True
        if interrupted and engine.containers.get(container.id).state == "running":
            interrupt(engine, container)
        code = engine.containers.wait(container.id)
    finally:
        if args.rm:
            engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
    if code:
        print(f"[exit code {code}]")
    return None if args.rm else engine.containers.get(container.id)


@cli.command("create", "Create a container without starting it", *CREATE_OPTIONS)
def create(ctx, args):
    options = _create_options(ctx, args)
    return _pulling(options, args.image,
                    lambda: ctx.engine.containers.create(args.image, auto_remove=args.rm, **options))


def _pulling(options: dict, image: str, action):
    """``action`` (a create or run that may pull ``image``), its progress ended as it went: full, or failed."""
    progress = options["on_progress"]
    try:
        result = action()
    except BaseException:
        progress.fail()
        raise
    if progress.layers:
        progress.finish(f"pulled {image}")
    return result


@cli.command("ps", "List containers (a DataFrame)",
             arg("-a", "--all", action="store_true", help="show stopped ones too"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="e.g. status=exited, label=team=nb, name=web"),
             arg("-q", "--quiet", action="store_true", help="only the ids"))
def ps(ctx, args):
    frame = ctx.engine.containers.frame(all=args.all, filters=args.filter)
    return Text("\n".join(frame["id"])) if args.quiet else frame


def _each(verb: str, past: str, method: str, extra=lambda args: {}):
    @cli.command(verb, f"{verb.capitalize()} one or more containers",
                 *((arg("-t", "--time", type=int, dest="timeout", help="seconds to wait before killing"),)
                   if verb in ("stop", "restart") else ()),
                 *((arg("-s", "--signal", help="signal to send (default KILL)"),) if verb == "kill" else ()),
                 *((arg("-f", "--force", action="store_true", help="remove running containers too"),
                    arg("-v", "--volumes", action="store_true", help="remove their anonymous volumes"))
                   if verb == "rm" else ()),
                 arg("containers", nargs="+", metavar="CONTAINER"))
    def command(ctx, args):
        call = getattr(ctx.engine.containers, method)
        for ref in args.containers:
            call(ref, **extra(args))
        print(f"{past}: {', '.join(args.containers)}")
        if verb in ("start", "restart", "unpause") and len(args.containers) == 1:
            return ctx.engine.containers.get(args.containers[0])
        return None
    return command


_each("start", "started", "start")
_each("stop", "stopped", "stop", lambda a: {"timeout": a.timeout})
_each("restart", "restarted", "restart", lambda a: {"timeout": a.timeout})
_each("kill", "killed", "kill", lambda a: {"signal": a.signal})
_each("pause", "paused", "pause")
_each("unpause", "unpaused", "unpause")
_each("rm", "removed", "remove", lambda a: {"force": a.force, "volumes": a.volumes})


@cli.command("rename", "Rename a container", arg("container"), arg("new_name"))
def rename(ctx, args):
    ctx.engine.containers.rename(args.container, args.new_name)
    print(f"renamed {args.container} to {args.new_name}")


@cli.command("wait", "Wait for containers to stop; their exit codes", arg("containers", nargs="+", metavar="CONTAINER"))
def wait(ctx, args):
    codes = [ctx.engine.containers.wait(ref) for ref in args.containers]
    return codes[0] if len(codes) == 1 else codes


@cli.command("logs", "A container's output (-f follows it until it exits or you interrupt)",
             arg("-f", "--follow", action="store_true", help="keep printing new output"),
             arg("-n", "--tail", type=tail, help="only the last N lines (or all)"),
             arg("--since", help="only output since a time (e.g. 10m, 2024-01-31T12:00:00)"),
             arg("--until", help="only output before a time"),
             arg("-t", "--timestamps", action="store_true", help="prefix each line with its time"),
             arg("container"))
def logs(ctx, args):
    containers = ctx.engine.containers
    if args.follow:
        follow(containers.follow_logs(args.container, tail=args.tail, since=args.since, timestamps=args.timestamps))
        return None
    return Text(containers.logs(args.container, tail=args.tail, since=args.since, until=args.until,
                                timestamps=args.timestamps))


@cli.command("exec", "Run a command in a running container; returns a result with .exit_code and .output",
             arg("-e", "--env", action="append", default=[], metavar="KEY=VALUE"),
             arg("-w", "--workdir"), arg("-u", "--user"), arg("-t", "--tty", action="store_true"),
             arg("container"), arg("command", nargs=REST))
def exec_(ctx, args):
    if not args.command:
        raise cli_error("exec", "say which command to run, e.g. %container exec web ls /")
    return ctx.engine.containers.exec(args.container, args.command, env=args.env, workdir=args.workdir,
                                      user=args.user, tty=args.tty)


@cli.command("top", "A container's processes (a DataFrame)", arg("container"), arg("ps_args", nargs="?"))
def top(ctx, args):
    return pd.DataFrame(ctx.engine.containers.top(args.container, ps_args=args.ps_args))


@cli.command("port", "A container's published ports", arg("container"))
def port(ctx, args):
    return Text("\n".join(f"{p.container_port}/{p.protocol} -> {p.host_ip or '0.0.0.0'}:{p.host_port}"
                          for p in ctx.engine.containers.port(args.container)))


@cli.command("inspect", "Everything the engine knows about a container, image, volume or network (JSON)",
             arg("--type", choices=["container", "image", "volume", "network"], help="what NAME is"),
             arg("name"))
def inspect(ctx, args):
    from ..engine import NotFound

    engine = ctx.engine
    kinds = [args.type] if args.type else ["container", "image", "volume", "network"]
    for kind in kinds:
        try:
            return JSONView(getattr(engine, f"{kind}s").inspect(args.name), root=args.name)
        except NotFound:
            continue
    raise cli_error("inspect", f"no container, image, volume or network named {args.name!r}")


def cli_error(command: str, message: str):
    from IPython.core.error import UsageError

    return UsageError(f"container {command}: {message}")
