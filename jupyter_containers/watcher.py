"""Removes a kernel's session containers once the kernel's process is gone.

The kernel starts this as a separate process in its own session, so that a
kernel killed with SIGKILL (or its whole process group) still has its session
containers removed. ``python -m jupyter_containers.watcher --pid P --url U --session S``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from .engine import Engine, EngineUnavailable
from .engine.local import _pid_alive
from .engine.records import CLEANUP_LABEL, SESSION_LABEL


def remove_session(engine: Engine, session_id: str) -> list[str]:
    """Remove the containers of ``session_id`` that were marked for cleanup; their names."""
    filters = {"label": [f"{SESSION_LABEL}={session_id}", f"{CLEANUP_LABEL}=session"]}
    removed = []
    try:
        for container in engine.containers.list(all=True, filters=filters):
            engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
            removed.append(container.name)
    except EngineUnavailable:
        pass
    return removed


def start_watcher(url: str, session_id: str, pid: int | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_containers.watcher", "--pid", str(pid or os.getpid()),
         "--url", url, "--session", session_id],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter_containers.watcher")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    while _pid_alive(args.pid):
        time.sleep(args.interval)
    try:
        engine = Engine.connect(args.url)
    except EngineUnavailable:
        return 1
    remove_session(engine, args.session)
    return 0


if __name__ == "__main__":
    sys.exit(main())
