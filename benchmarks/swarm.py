"""A 10-replica service from a cell until it converges: ``%container service create --replicas 10`` (in-process
IPython, as from a notebook) vs ``docker service create --detach=false`` of the same service.

Both wait for convergence and return: what a user waits for. They stop at different moments after the
tasks run: the docker CLI watches the tasks for the service's update monitor (5 s by default) before it
says "converged"; the magic for ``swarm_commands.STABLE`` (1 s). So next to each total, the time until
all 10 tasks ran (seen by a watcher polling the engine every 50 ms) separates the engine's work from the
client's wait. BENCH_ROUNDS (3) rounds, the two alternating (who goes first alternates too); between
runs the service is removed and its tasks' containers waited out. Target: ours within 1.1x of the CLI.

The engine is made a one-node swarm (advertised on 127.0.0.1) if it is not one, and left as found.
Exit code 0 always: it reports.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid

from IPython.testing.globalipapp import start_ipython

from _common import IMAGE, ensure_image
from jupyter_containers.engine import ContainersError, Engine
from jupyter_containers.magics import swarm_commands

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REPLICAS = 10
FLAGS = f"--replicas {REPLICAS} --init --stop-grace-period 1s"  # --init: sleep stops at once on removal


class Watcher:
    """When the service named ``name`` first had all its tasks running, polling every 50 ms."""

    def __init__(self, engine: Engine, name: str):
        self.engine, self.name, self.at = engine, name, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and self.at is None:
            try:
                if self.engine.services.progress(self.name).running == REPLICAS:
                    self.at = time.perf_counter()
            except ContainersError:  # not created yet
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> "Watcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def remove(engine: Engine, name: str) -> None:
    """The service and, before the next run, its tasks' containers."""
    engine.services.remove(name)
    deadline = time.monotonic() + 60
    while engine.containers.list(all=True, filters={"label": [f"com.docker.swarm.service.name={name}"]}):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the tasks of {name} did not go in 60 s")
        time.sleep(0.1)


def timed(engine: Engine, name: str, create) -> tuple[float, float]:
    """(total, until all running) in seconds for one create that waits for convergence."""
    with Watcher(engine, name) as watcher:
        start = time.perf_counter()
        create()
        total = time.perf_counter() - start
    assert engine.services.progress(name).running == REPLICAS, f"{name} did not converge"
    return total, (watcher.at or start + total) - start


def main() -> int:
    cli = shutil.which("docker")
    if cli is None:
        print("the docker CLI is not installed (make installs Debian's docker.io)")
        return 0
    engine = Engine.connect()
    ensure_image(engine)
    had_swarm = engine.swarm.active
    had_bridge = bool(engine.networks.list(filters={"name": ["docker_gwbridge"]}))
    if not had_swarm:
        engine.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    label = f"io.jupyter.containers.bench={uuid.uuid4().hex[:8]}"
    shell = start_ipython()
    shell.run_line_magic("load_ext", "jupyter_containers")
    shell.run_line_magic("config", f"ContainerMagics.engine_url = {engine.url!r}")
    shell.run_line_magic("config", f"ContainerMagics.labels = {dict([label.split('=')])!r}")
    env = {**os.environ, "DOCKER_HOST": engine.url}

    def ours(name: str) -> None:
        shell.run_line_magic("container", f"service create -q --name {name} {FLAGS} {IMAGE} sleep 3600")

    def theirs(name: str) -> None:
        subprocess.run([cli, "service", "create", "--detach=false", "-q", "--no-resolve-image", "--name", name,
                        "--label", label, *FLAGS.split(), IMAGE, "sleep", "3600"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)

    runs = {"ours: %container service create": ours, "docker service create --detach=false": theirs}
    times: dict[str, list[tuple[float, float]]] = {label_: [] for label_ in runs}
    try:
        for round_ in range(ROUNDS):
            order = list(runs.items()) if round_ % 2 == 0 else list(runs.items())[::-1]
            for what, create in order:
                name = f"jc-bench-swarm-{uuid.uuid4().hex[:6]}"
                try:
                    times[what].append(timed(engine, name, lambda: create(name)))
                finally:
                    remove(engine, name)
    finally:
        for service in engine.services.list(filters={"label": [label]}):
            engine.services.remove(service["ID"])
        if not had_swarm:
            engine.swarm.leave(force=True)
            deadline = time.monotonic() + 30
            while not had_bridge and engine.networks.list(filters={"name": ["docker_gwbridge"]}):
                try:
                    engine.networks.remove("docker_gwbridge")
                except ContainersError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
    print(f"a {REPLICAS}-replica service ({IMAGE}, sleep 3600) created until it converges, "
          f"median of {ROUNDS} rounds ({engine.url}, engine {engine.system.version().get('Version')})")
    medians = {what: (statistics.median(t for t, _ in runs_), statistics.median(r for _, r in runs_))
               for what, runs_ in times.items()}
    for what, (total, running) in medians.items():
        print(f"  {what:<40} total {total:6.2f} s   all {REPLICAS} running after {running:6.2f} s")
    (ours_total, ours_running), (cli_total, cli_running) = medians.values()
    ratio = ours_total / cli_total
    print(f"  ratio ours/CLI: total {ratio:.2f}x, until all running {ours_running / cli_running:.2f}x "
          f"(then the CLI watches the tasks 5 s, the magic {swarm_commands.STABLE:g} s)")
    print(f"target: ours within 1.1x of the CLI -> {'met' if ratio <= 1.1 else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
