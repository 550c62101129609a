"""The widget dashboard on an engine with 500 running containers.

1. Building it (the listing, the rows, the first page drawn) vs ``docker ps -a`` on the
   same containers and the raw ``APIClient.containers()`` call. Target: under 1 s.
2. Filtering the 500 rows (typing into the filter box until the page is redrawn).
3. From a container event to its row's update: ``pause``/``unpause`` through the API, timed
   until the row on the visible page says so, vs until the event itself arrives on a
   bare event stream (the floor). Target: median under 300 ms.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

from _common import medians_ms, report, running_containers
from jupyter_containers.engine import Engine
from jupyter_containers.widgets import Dashboard

N = int(os.environ.get("BENCH_CONTAINERS", 500))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 10))
EVENTS = int(os.environ.get("BENCH_EVENTS", 40))


def build(engine: Engine, filters: dict) -> None:
    board = Dashboard(engine, filters=filters, start=False)
    assert len(board.containers.table.rows) == N and board.containers.table.keys[0] is not None
    board.close()


def event_latency(engine: Engine, filters: dict) -> tuple[list[float], list[float]]:
    """(ours, the bare event stream's) seconds from the API call to the update, per event."""
    board = Dashboard(engine, filters=filters)
    table = board.containers.table
    arrived: dict[str, float] = {}
    stream = engine.system.events(filters={"type": ["container"], "event": ["pause", "unpause"]})

    def bare() -> None:
        for event in stream:
            arrived[f"{event.id}:{event.action}"] = time.perf_counter()

    threading.Thread(target=bare, daemon=True).start()
    ours, floor = [], []
    try:
        for i in range(EVENTS):
            key = table.keys[i % table.page_size]
            slot = table.slot_of(key)
            for action, state in (("pause", "paused"), ("unpause", "running")):
                start = time.perf_counter()
                getattr(engine.api, action)(key)
                while f">{state}</span>" not in slot[2].value:
                    if time.perf_counter() - start > 10:
                        raise SystemExit(f"the row of {key[:12]} did not show {state} within 10 s")
                    time.sleep(0.0005)
                ours.append(time.perf_counter() - start)
                while f"{key}:{action}" not in arrived:
                    time.sleep(0.0005)
                floor.append(arrived[f"{key}:{action}"] - start)
    finally:
        stream.close()
        board.close()
    return ours, floor


def main() -> int:
    engine = Engine.connect()
    docker = shutil.which("docker")
    print(f"starting {N} containers ...", flush=True)
    with running_containers(engine, N) as filters:
        label = filters["label"]
        engine_filters = {"label": [label]}
        calls = {"raw APIClient.containers(all=True)": lambda: engine.api.containers(all=True, filters=engine_filters),
                 "ours: Dashboard(engine) built, first page drawn": lambda: build(engine, engine_filters)}
        if docker:
            env = {**os.environ, "DOCKER_HOST": engine.url}
            calls["docker ps -a (CLI)"] = lambda: subprocess.run(
                [docker, "ps", "-a", "--filter", f"label={label}"], env=env, check=True, capture_output=True)
        built = medians_ms(calls, ROUNDS)
        report(f"building the dashboard over {N} containers, median of {ROUNDS} rounds ({engine.url})",
               built, "raw APIClient.containers(all=True)")
        if docker:
            ratio = built["ours: Dashboard(engine) built, first page drawn"] / built["docker ps -a (CLI)"]
            print(f"  ours / docker ps -a: {ratio:.2f}x")
        ms = built["ours: Dashboard(engine) built, first page drawn"]
        print(f"target: built in under 1 s -> {'met' if ms < 1000 else 'NOT met'} ({ms:.0f} ms)\n")

        board = Dashboard(engine, filters=engine_filters, start=False)
        table = board.containers.table
        needles = ["3", "9", "", "no-such-container", ""]
        times = []
        for _ in range(ROUNDS):
            for needle in needles:
                start = time.perf_counter()
                table.filter.value = needle
                times.append(time.perf_counter() - start)
        board.close()
        print(f"filtering {N} rows and redrawing the page: median {statistics.median(times) * 1000:.2f} ms, "
              f"max {max(times) * 1000:.2f} ms\n")

        ours, floor = event_latency(engine, engine_filters)
        results = {"bare event stream: the event arrives": statistics.median(floor) * 1000,
                   "ours: the row on the page shows it": statistics.median(ours) * 1000}
        report(f"from pause/unpause (API call) to the update, median of {len(ours)} events",
               results, "bare event stream: the event arrives")
        p90 = sorted(ours)[int(len(ours) * 0.9)] * 1000
        median = results["ours: the row on the page shows it"]
        print(f"  ours: 90th percentile {p90:.1f} ms, max {max(ours) * 1000:.1f} ms")
        print(f"target: median under 300 ms -> {'met' if median < 300 else 'NOT met'} ({median:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
