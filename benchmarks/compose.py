"""Bringing a 10-service stack up and down: ours (in-process, as from a notebook) vs Debian's docker-compose.

The stack: one base service with a healthcheck and nine that depend on it, all
busybox ``sleep`` (which, as PID 1, ignores SIGTERM, so each stop waits the
10 s grace period: what wins on ``down`` is stopping each level at once).
Both tools run on the same engine (DOCKER_HOST=engine.url), rounds interleaved with
the order alternating (who goes first gets a quieter engine), and the resulting engine
state is checked to be the same for both. Ours is timed as a user waits for it in a
notebook: connect to the engine, load the file, up (docker-compose's figure includes its
own start-up, which a notebook has already paid). The *engine floor* is the same network
and containers made with raw API calls at full parallelism (all creates at once, base
started, then the nine at once): no client can beat it, and ours is also given as a ratio of it.
Targets: up at most 0.7x docker-compose's, down at most 1.0x.

Where up's time goes (traced on dockerd 20.10, 2 CPUs): our own calls before the
first start take ~0.1 s (network create 65 ms, the creates run at once); the rest
is the engine starting containers: ~0.3 s for base, then ~1.3 s for the nine
dependents, whether started 16, 4 or 2 at a time. docker-compose waits on the
same starts, so the ratio is bounded by its own start-up time (~0.5 s).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import IMAGE, ensure_image
from jupyter_containers.compose import Stack, load_project
from jupyter_containers.engine import Engine

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 2))
DEPENDENTS = 9


def compose_file() -> str:
    lines = ["services:", "  base:", f"    image: {IMAGE}", "    command: sleep 3600",
             "    healthcheck: {test: [CMD, 'true'], interval: 1s}"]
    for i in range(1, DEPENDENTS + 1):
        lines += [f"  app{i}:", f"    image: {IMAGE}", "    command: sleep 3600", "    depends_on: [base]"]
    return "\n".join(lines) + "\n"


def state(engine: Engine, project: str) -> tuple:
    """What the engine holds for the project: (service, number, state, image, command) per container, networks."""
    label = {"label": [f"com.docker.compose.project={project}"]}
    containers = sorted((c.labels["com.docker.compose.service"], c.labels["com.docker.compose.container-number"],
                         c.state, c.image, c.command) for c in engine.containers.list(all=True, filters=label))
    networks = sorted(n.name.removeprefix(project) for n in engine.networks.list(filters=label))
    return containers, networks


def floor_up(engine: Engine) -> float:
    """The same network and containers, made with raw API calls at full parallelism; seconds taken."""
    api, name = engine.api, f"bench-floor-{uuid.uuid4().hex[:6]}"
    services = ["base", *(f"app{i}" for i in range(1, DEPENDENTS + 1))]
    health = {"Test": ["CMD", "true"], "Interval": 1_000_000_000}
    with ThreadPoolExecutor(len(services)) as pool:
        start = time.perf_counter()
        network = api.create_network(f"{name}_default")["Id"]
        ids = list(pool.map(lambda svc: api.create_container(
            IMAGE, "sleep 3600", name=f"{name}-{svc}-1", healthcheck=health if svc == "base" else None,
            host_config=api.create_host_config(network_mode=f"{name}_default"))["Id"], services))
        api.start(ids[0])
        list(pool.map(api.start, ids[1:]))
        took = time.perf_counter() - start
        list(pool.map(lambda id: api.remove_container(id, force=True), ids))
    api.remove_network(network)
    return took


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    binary = shutil.which("docker-compose")
    if binary is None:
        print("docker-compose is not installed (make installs Debian's docker-compose)")
        return 1
    engine = Engine.connect()
    ensure_image(engine)
    times = {(who, verb): [] for who in ("ours", "docker-compose", "floor") for verb in ("up", "down")}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compose.yaml"
        path.write_text(compose_file())
        env = {**os.environ, "DOCKER_HOST": engine.url}

        def dc(project: str, *args: str) -> None:
            subprocess.run([binary, "-p", project, "-f", str(path), *args], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ours_up(project: str) -> Stack:
            stack = Stack(Engine.connect(), load_project([path], name=project))
            stack.up()
            return stack

        for round in range(ROUNDS):
            theirs, ours = f"bench-dc-{uuid.uuid4().hex[:6]}", f"bench-jc-{uuid.uuid4().hex[:6]}"
            stacks = []
            steps = [("docker-compose", lambda: dc(theirs, "up", "-d")), ("ours", lambda: stacks.append(ours_up(ours)))]
            for who, step in steps if round % 2 == 0 else steps[::-1]:
                times[(who, "up")].append(timed(step))
            up_theirs, up_ours = state(engine, theirs), state(engine, ours)
            assert up_theirs == up_ours and len(up_ours[0]) == DEPENDENTS + 1, (up_theirs, up_ours)
            steps = [("docker-compose", lambda: dc(theirs, "down")), ("ours", stacks[0].down)]
            for who, step in steps if round % 2 == 0 else steps[::-1]:
                times[(who, "down")].append(timed(step))
            assert state(engine, theirs) == state(engine, ours) == ([], [])
            times[("floor", "up")].append(floor_up(engine))
    print(f"a {DEPENDENTS + 1}-service stack (1 base with a healthcheck, {DEPENDENTS} depending on it), "
          f"median of {ROUNDS} round(s), {engine.url}")
    for verb, target in (("up", 0.7), ("down", 1.0)):
        ours, theirs = (statistics.median(times[(who, verb)]) for who in ("ours", "docker-compose"))
        ratio = ours / theirs
        print(f"  {verb:<5} ours {ours:7.2f} s   docker-compose {theirs:7.2f} s   {ratio:5.2f}x   "
              f"target <= {target}x -> {'met' if ratio <= target else 'NOT met'}")
    floor = statistics.median(times[("floor", "up")])
    ours = statistics.median(times[("ours", "up")])
    print(f"  up    engine floor (raw API, full parallelism) {floor:7.2f} s   ours {ours / floor:5.2f}x of it")
    print("same resulting engine state after up and after down: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
