"""``jupyter containers engine up|down|status`` (the ``jupyter-containers`` script)."""

from __future__ import annotations

import argparse
import sys

from .engine import ContainersError, Engine, EngineUnavailable, PrivateEngine


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
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ContainersError as exc:
        print(f"jupyter containers {args.part} {args.action}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
