"""``%container run`` and ``create``: every flag of the docker CLI, into one ContainerSpec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine import ContainersError
from ..engine.errors import InvalidArgument
from .commands import follow
from .container import container_commands as cli
from .registry import arg
from .run_flags import RUN_FLAGS, normalize, to_spec
from .pump import pumped

INTERRUPT_GRACE = 3  # seconds a foreground container has to end after SIGINT, then after SIGTERM
SIG_PROXY_OFF = arg("--no-sig-proxy", dest="sig_proxy", action="store_false", help=argparse.SUPPRESS)


def _spec(ctx, args):
    """The spec the flags describe, checked against the policy, with this kernel's labels."""
    engine = ctx.engine
    info_os = "linux"  # the engines this project drives; Windows-only flags are refused as the CLI would
    spec = to_spec(args, engine.api._version, info_os)
    labels = ctx.session_labels(args.session)
    if labels:
        spec.labels = {**(spec.labels or {}), **labels}
    ctx.policy.check_spec(spec)
    if args.cidfile and Path(args.cidfile).exists():
        raise InvalidArgument(f"the container ID file {args.cidfile} exists: make sure the other container is not "
                              "running, or delete the file")
    return spec


def _create(ctx, args, spec):
    from .display import LayerProgress

    progress = LayerProgress(f"pulling {spec.image}", "none" if args.quiet else ctx.progress)
    try:
        container = ctx.engine.containers.create_from(spec, on_progress=progress)
    except BaseException:
        progress.fail()
        raise
    if progress.layers:
        progress.finish(f"pulled {spec.image}")
    if args.cidfile:
        Path(args.cidfile).write_text(container.id)
    return container


@cli.command("run", "Create and run a new container from an image (-d to leave it running in the background;\n"
             "%%container run -i IMAGE CMD sends the cell's text as the command's stdin)",
             arg("-d", "--detach", action="store_true", help="Run container in background and return its handle"),
             SIG_PROXY_OFF, *RUN_FLAGS, cell=True, prepare=normalize)
def run(ctx, args):
    if ctx.cell is not None and not args.interactive:
        raise InvalidArgument("a cell body is the command's stdin: add -i (%%container run -i IMAGE CMD)")
    spec = _spec(ctx, args)
    if not args.detach:
        spec.auto_remove = None  # removed here once its exit code is known (the engine's own removal races it)
    engine = ctx.engine
    container = _create(ctx, args, spec)
    stdin = ctx.cell.encode() if ctx.cell is not None and spec.attach_stdin else None
    if args.detach:
        engine.containers.start_or_remove(container)
        return engine.containers.get(container.id)
    streams = {s for s in ("stdout", "stderr") if getattr(spec, f"attach_{s}")}
    attached = None
    try:
        try:
            attached = engine.containers.attach_stream(container.id, stdin=stdin) if stdin is not None else None
            engine.containers.start_or_remove(container)
            interrupted = _print(attached or engine.containers.follow_logs(container.id), streams)
        except KeyboardInterrupt:  # before the output started to stream
            interrupted = True
            if attached is not None:
                attached.close()
        if interrupted:
            if not args.sig_proxy:
                print(f"container run: detached from {container.name}; it keeps running", flush=True)
                return engine.containers.get(container.id)
            if engine.containers.get(container.id).state == "running":
                interrupt(engine, container)
        code = engine.containers.wait(container.id)
    finally:
        if args.rm:
            engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
    if code:
        print(f"[exit code {code}]")
    return None if args.rm else engine.containers.get(container.id)


def _print(stream, streams: set[str]) -> bool:
    """Print the attached streams' lines (stderr to stderr) until the end (False) or an interrupt (True)."""
    if streams == {"stdout", "stderr"}:
        return follow(stream)
    with stream:
        try:
            for line in pumped(stream):
                if line.stream in streams:
                    print(line.text, file=sys.stderr if line.stream == "stderr" else sys.stdout, flush=True)
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


@cli.command("create", "Create a new container (without starting it)", *RUN_FLAGS, prepare=normalize)
def create(ctx, args):
    return _create(ctx, args, _spec(ctx, args))
