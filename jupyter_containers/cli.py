"""``jupyter containers engine up|down|status``, ``replay record|serve`` and ``kernel create|ls|rm``
(the ``jupyter-containers`` script)."""

from __future__ import annotations

import argparse
import sys

from .engine import ContainersError, Engine, EngineUnavailable, InvalidArgument, PrivateEngine
from .replay.recording import ReplayError


def _up(args) -> int:
    private = PrivateEngine(args.state_dir)
    if not args.private:
        try:
            engine = Engine.connect(timeout=args.connect_timeout)
        except EngineUnavailable:
            pass
        else:
            print(f"engine answers at {engine.url} ({engine.source}); nothing to start")
            return 0
    private.start(timeout=args.timeout)
    print(f"private engine answers at {private.url} (pid {private.pid}; state in {private.state_dir})")
    return 0


def _down(args) -> int:
    private = PrivateEngine(args.state_dir)
    if private.stop(timeout=args.timeout):
        print(f"stopped the private engine at {private.url}")
    else:
        print(f"no private engine of ours is running (state in {private.state_dir}); nothing to stop")
    return 0


def _status(args) -> int:
    engine = Engine.connect(timeout=args.connect_timeout)
    version = engine.system.version()
    print(f"engine: {engine.url}\nfound by: {engine.source}\n"
          f"server: {version.get('Platform', {}).get('Name') or 'Docker Engine'} {version.get('Version')} "
          f"(API {version.get('ApiVersion')})")
    return 0


def _record(args) -> int:
    import asyncio

    from .engine.connect import discover
    from .replay import record

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ReplayError("say which command to record, after --: replay record --out DIR -- COMMAND...")
    found = discover(args.engine, args.connect_timeout)
    try:
        if not found.url.startswith(("unix://", "tcp://", "http://")) or found.client.base_url.startswith("https"):
            raise ReplayError(f"the engine at {found.url} is not a unix:// or plain tcp:// one; "
                              "record with --engine unix://... or tcp://...")
    finally:
        found.client.close()
    return asyncio.run(record(found.url, args.out, command))


def _serve(args) -> int:
    import asyncio

    from .replay import serve

    asyncio.run(serve(args.dir, args.socket))
    return 0


def _kernel_create(args) -> int:
    from .kernels.kernelspecs import ContainerKernel, create

    env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"--env {item!r}: use KEY=VALUE")
        env[key] = value
    kernel = ContainerKernel(args.name, args.image, display_name=args.display_name, python=args.python,
                             argv=args.argv or None, language=args.language, mounts=args.mount,
                             workdir_mount=args.workdir_mount, cpus=args.cpus, memory=args.memory, env=env,
                             network=args.network, user=args.user, engine=args.engine)
    where = create(kernel, user=not args.sys_prefix, prefix=sys.prefix if args.sys_prefix else None)
    print(f"kernel {args.name!r} runs in {args.image}: kernelspec written to {where}")
    return 0


def _kernel_ls(args) -> int:
    from .kernels.kernelspecs import list_kernels

    rows = list_kernels()
    if not rows:
        print("no container kernels; `jupyter containers kernel create NAME --image IMAGE` makes one")
    for row in rows:
        print(f"{row['name']:<24} {row['image']:<36} {row['display_name']}")
    return 0


def _kernel_rm(args) -> int:
    from .kernels.kernelspecs import remove

    for name in args.names:
        print(f"removed kernelspec {name!r} ({remove(name)})")
    return 0


def _kernel_parser(verbs) -> None:
    kernel = verbs.add_parser("kernel", help="kernelspecs whose kernels run in containers")
    actions = kernel.add_subparsers(dest="action", required=True)
    text = "write a kernelspec whose kernel runs in a container of IMAGE (JupyterLab's launcher shows it)"
    sub = actions.add_parser("create", help=text, description=text)
    sub.set_defaults(func=_kernel_create)
    sub.add_argument("name", metavar="NAME", help="the kernelspec's name (lower case, digits, . _ -)")
    sub.add_argument("--image", required=True, help="the image the kernel runs in (it must have the kernel's command)")
    sub.add_argument("--display-name", help="the name the launcher shows (default: NAME (container IMAGE))")
    command = sub.add_mutually_exclusive_group()
    command.add_argument("--python", default="python3",
                         help="the image's Python, run as PYTHON -m ipykernel_launcher (default python3)")
    command.add_argument("--argv", nargs=argparse.REMAINDER, metavar="ARG",
                         help="any kernel command (other languages), with {connection_file}; last option")
    sub.add_argument("--language", help="the kernel's language (default python, or NAME with --argv)")
    sub.add_argument("--mount", action="append", default=[], metavar="SRC:DST[:ro]", help="a bind mount (repeat)")
    sub.add_argument("--workdir-mount", action=argparse.BooleanOptionalAction, default=True,
                     help="mount the notebook's directory at the same path and work there (default: yes)")
    sub.add_argument("--cpus", type=float, help="CPUs the kernel may use")
    sub.add_argument("--memory", help="memory limit, e.g. 2g")
    sub.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="an environment variable (repeat)")
    sub.add_argument("--network", help="join this network rather than publish the kernel's ports on 127.0.0.1 "
                     "(when the notebook server runs in a container on it)")
    sub.add_argument("--user", help="user[:group] the kernel runs as")
    sub.add_argument("--engine", metavar="URL", help="the engine (default: discovery at each start)")
    sub.add_argument("--sys-prefix", action="store_true", help="write it into this environment, not the user's")
    text = "list the container kernelspecs (no engine needed)"
    actions.add_parser("ls", help=text, description=text).set_defaults(func=_kernel_ls)
    text = "remove container kernelspecs (never other kernelspecs)"
    sub = actions.add_parser("rm", help=text, description=text)
    sub.set_defaults(func=_kernel_rm)
    sub.add_argument("names", nargs="+", metavar="NAME")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jupyter containers", description="Docker from inside a notebook.")
    verbs = top.add_subparsers(dest="part", required=True)
    engine = verbs.add_parser("engine", help="the container engine this project uses")
    actions = engine.add_subparsers(dest="action", required=True)
    for name, func, text in (("up", _up, "make sure an engine answers, starting the private one if none does"),
                             ("down", _down, "stop the private engine (only one we started)"),
                             ("status", _status, "which engine is used, and which discovery step found it")):
        sub = actions.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func)
        sub.add_argument("--state-dir", help="where the private engine keeps its socket, data and log "
                         "(default: $JUPYTER_CONTAINERS_STATE_DIR or ~/.local/state/jupyter-containers)")
        sub.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the daemon")
        sub.add_argument("--connect-timeout", type=float, default=3.0, help=argparse.SUPPRESS)
        if name == "up":
            sub.add_argument("--private", action="store_true",
                             help="start the private engine even if another engine answers")
    replay = verbs.add_parser("replay", help="record a session with a real engine; replay it where there is none")
    actions = replay.add_subparsers(dest="action", required=True)
    text = ("run COMMAND with DOCKER_HOST set to a recording proxy of the engine; when it ends, "
            "write DIR/recording.json and exit with its exit code")
    sub = actions.add_parser("record", help=text, description=text,
                             usage="jupyter containers replay record --out DIR [--engine URL] -- COMMAND...")
    sub.set_defaults(func=_record)
    sub.add_argument("--out", required=True, metavar="DIR", help="where recording.json goes")
    sub.add_argument("--engine", metavar="URL", help="the engine to record (unix:// or tcp://; default: discovery, "
                     "as `engine status` shows it)")
    sub.add_argument("--connect-timeout", type=float, default=3.0, help=argparse.SUPPRESS)
    sub.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    text = ("answer the Engine API from the recording(s) in DIR (a recording dir, or a dir of them) "
            "on a Unix socket, until interrupted; prints the DOCKER_HOST to use")
    sub = actions.add_parser("serve", help=text, description=text)
    sub.set_defaults(func=_serve)
    sub.add_argument("--socket", metavar="PATH", help="the socket to listen on "
                     "(default: $TMPDIR/jupyter-containers-replay-UID/docker.sock)")
    sub.add_argument("dir", metavar="DIR")
    _kernel_parser(verbs)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ContainersError, ReplayError) as exc:
        print(f"jupyter containers {args.part} {args.action}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
