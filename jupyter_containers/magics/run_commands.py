"""``%container run`` and ``create``: the docker CLI's flags, one container spec."""

from __future__ import annotations

from ..engine import ContainersError
from .commands import REST, follow
from .container import container_commands as cli
from .registry import arg

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
