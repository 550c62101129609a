"""Container listing with 50 running containers: ours vs docker-py vs the raw call.

Prints the median in-process time of
  - our listing as records   (engine.containers.list)
  - our listing as DataFrame (engine.containers.frame)
  - docker-py's high-level   client.containers.list()  (inspects each container)
  - the raw call             APIClient.containers()
and each as a ratio to the raw call. Target: ours within 1.5x of raw.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

from jupyter_containers.engine import Engine

N = int(os.environ.get("BENCH_CONTAINERS", 50))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 30))
IMAGE = "jupyter-containers/busybox:test"
LABEL = f"io.jupyter.containers.bench={uuid.uuid4().hex[:8]}"


def ensure_image(engine: Engine) -> None:
    if engine.images.exists(IMAGE):
        return
    with tempfile.TemporaryDirectory() as context:
        shutil.copy("/bin/busybox", Path(context) / "busybox")
        engine.images.build(context, tag=IMAGE, dockerfile=(
            'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'))


def medians_ms(calls: dict, rounds: int = ROUNDS) -> dict[str, float]:
    """Median time of each call; rounds interleave the calls so drift hits all alike."""
    times = {label: [] for label in calls}
    for fn in calls.values():
        fn()  # warm the connection pool
    for _ in range(rounds):
        for label, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(t) * 1000 for label, t in times.items()}


def main() -> int:
    engine = Engine.connect()
    ensure_image(engine)
    bench = engine.with_labels(dict([LABEL.split("=")]))
    ids = [bench.containers.run(IMAGE, "sleep 3600", network="none").id for _ in range(N)]
    try:
        filters = {"label": LABEL}
        raw_api = engine.api
        high = docker.DockerClient(base_url=engine.url, version=raw_api.api_version)
        assert len(engine.containers.list(filters=filters)) == N
        results = medians_ms({
            "raw APIClient.containers()": lambda: raw_api.containers(filters=filters),
            "ours: containers.list() (records)": lambda: engine.containers.list(filters=filters),
            "ours: containers.frame() (DataFrame)": lambda: engine.containers.frame(filters=filters),
        })
        results.update(medians_ms({"docker-py client.containers.list()":
                                   lambda: high.containers.list(filters=filters)}, rounds=5))
        raw = results["raw APIClient.containers()"]
        print(f"listing {N} running containers, median of {ROUNDS} rounds, engine {engine.url}")
        for label, ms in results.items():
            print(f"  {label:<40} {ms:8.2f} ms  {ms / raw:6.2f}x raw")
        worst = max(results["ours: containers.list() (records)"], results["ours: containers.frame() (DataFrame)"])
        print(f"target: ours within 1.5x of raw -> {'met' if worst / raw <= 1.5 else 'NOT met'} ({worst / raw:.2f}x)")
    finally:
        for container_id in ids:
            engine.containers.remove(container_id, force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
