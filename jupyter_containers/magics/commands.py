"""``%container`` subcommands for containers: run, ps, logs, exec, ..."""

from __future__ import annotations

import argparse

import pandas as pd

from .container import container_commands as cli
from .display import JSONView, Text
from .registry import arg, tail

REST = argparse.REMAINDER


def follow(stream) -> bool:
    """Print a stream of log lines until it ends (False) or the user interrupts (True)."""
    with stream:
        try:
            for line in stream:
                print(line.text, flush=True)
        except KeyboardInterrupt:
            return True
    return False


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
