"""``jupyter containers engine up|down|status`` and ``replay record|serve`` (the ``jupyter-containers`` script)."""

from __future__ import annotations

import argparse
import sys

from .engine import ContainersError, Engine, EngineUnavailable, PrivateEngine
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
