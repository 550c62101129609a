"""Resource usage: snapshot time, the sampler's own CPU, the history's memory.

1. For 10 and 50 running containers, side by side: our snapshot
   (``jupyter_containers.stats.snapshot``), ``docker stats --no-stream`` (the
   docker CLI) and docker-py's ``container.stats(stream=False)`` in a loop,
   each as a ratio to ours. Every call starts with the engine's stats
   collector idle (we wait 1.5 s between calls), as a first call in a cell would.
   Target: ours at most 1.3 s for 50 containers.
2. The sampler's CPU use (process CPU time, all threads) while it follows 50
   containers at 1 Hz for BENCH_SECONDS (60) seconds. Target: under 5 % of one core.
3. The history's memory for 50 containers x 1 hour at 1 Hz. Target: under 50 MB.

Why about 2 s and not 1 s: dockerd (20.10 here) samples every followed container
on one collector loop that sleeps 1 s between rounds and, when idle, wakes at
the first subscription, before the others are registered. So every container
but the first gets its first frame one round later and its second (the first
with a CPU %) a round after that: about 2 s plus ~3 ms per container per round,
for any client; `stream=false` and `one-shot` go through the same collector.

BENCH_ROUNDS (3) rounds of ours and the CLI; docker-py runs once (about a second
per container); BENCH_DOCKER_PY=0 leaves it out.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

import docker

from _common import running_containers
from jupyter_containers.engine import Engine
from jupyter_containers.stats import History, Sampler, snapshot
from jupyter_containers.stats.formulas import FIGURES

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECONDS = float(os.environ.get("BENCH_SECONDS", 60))
DOCKER_PY = os.environ.get("BENCH_DOCKER_PY", "1") != "0"
IDLE = 1.5  # the engine's collector sleeps 1 s after its last tick, then waits for a subscriber


def timed(fn) -> float:
    time.sleep(IDLE)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def snapshot_times(engine: Engine, count: int) -> dict[str, float]:
    with running_containers(engine, count) as filters:
        ids = [c.id for c in engine.containers.list(filters=filters)]
        assert len(ids) == count
        env = {**os.environ, "DOCKER_HOST": engine.url}

        def ours():
            frame = snapshot(engine, filters=filters)
            assert len(frame) == count, len(frame)

        def cli():
            out = subprocess.run(["docker", "stats", "--no-stream", *ids], env=env, capture_output=True, text=True)
            assert out.returncode == 0 and len(out.stdout.splitlines()) == count + 1, out.stderr

        results = {"ours: snapshot()": [], "docker stats --no-stream (CLI)": []}
        for _ in range(ROUNDS):
            results["ours: snapshot()"].append(timed(ours))
            if shutil.which("docker"):
                results["docker stats --no-stream (CLI)"].append(timed(cli))
        if DOCKER_PY:
            client = docker.DockerClient(base_url=engine.url, version=engine.api.api_version)
            handles = client.containers.list(filters=filters)
            results["docker-py container.stats(stream=False) loop"] = [
                timed(lambda: [c.stats(stream=False) for c in handles])]
    return {label: statistics.median(times) for label, times in results.items() if times}


def sampler_cpu(engine: Engine, count: int, seconds: float) -> tuple[float, int]:
    with running_containers(engine, count) as filters:
        with Sampler(engine, filters=filters) as sampler:
            sampler.wait_rows(1, timeout=15)
            cpu, wall = time.process_time(), time.perf_counter()
            time.sleep(seconds)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rows = len(sampler.frame())
    return cpu / wall * 100, rows


def history_bytes(count: int, seconds: int) -> tuple[int, int]:
    history = History(capacity=seconds)
    row = tuple(float(i) for i in range(len(FIGURES)))
    for container in range(count):
        cid = f"{container:064x}"
        for second in range(seconds):
            history.append(cid, f"app-{container}", 1.7e9 + second, row)
    frame = history.frame()
    return history.nbytes, int(frame.memory_usage(deep=True).sum())


def main() -> int:
    engine = Engine.connect()
    print(f"engine {engine.url}, API {engine.api.api_version}, {os.cpu_count()} CPUs")
    met = True
    for count in (10, 50):
        results = snapshot_times(engine, count)
        ours = results["ours: snapshot()"]
        print(f"\nsnapshot of {count} running containers (median, collector idle before each call)")
        for label, seconds in results.items():
            print(f"  {label:<48} {seconds:7.2f} s  {seconds / ours:6.2f}x ours")
        if count == 50:
            ok = ours <= 1.3
            met &= ok
            print(f"target: ours <= 1.3 s for 50 -> {'met' if ok else 'NOT met'} ({ours:.2f} s)")

    percent, rows = sampler_cpu(engine, 50, SECONDS)
    ok = percent < 5
    met &= ok
    print(f"\nsampler following 50 containers for {SECONDS:.0f} s: {percent:.2f} % of one core "
          f"({rows} rows); target < 5 % -> {'met' if ok else 'NOT met'}")

    ring, frame = history_bytes(50, 3600)
    ok = ring < 50e6
    met &= ok
    print(f"history of 50 containers x 1 hour: {ring / 1e6:.1f} MB in ring buffers "
          f"(as a DataFrame: {frame / 1e6:.1f} MB); target < 50 MB -> {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
