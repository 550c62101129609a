"""Shared pieces of the benchmarks: the test image, N labelled containers, timing."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from jupyter_containers.engine import Engine

IMAGE = "jupyter-containers/busybox:test"
DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'


def ensure_image(engine: Engine) -> None:
    if engine.images.exists(IMAGE):
        return
    with tempfile.TemporaryDirectory() as context:
        shutil.copy("/bin/busybox", Path(context) / "busybox")
        engine.images.build(context, tag=IMAGE, dockerfile=DOCKERFILE)


@contextmanager
def running_containers(engine: Engine, count: int, command: str = "sleep 3600"):
    """``count`` running containers with a label of their own; the label filter."""
    label = f"io.jupyter.containers.bench={uuid.uuid4().hex[:8]}"
    ensure_image(engine)
    bench = engine.with_labels(dict([label.split("=")]))
    ids = [bench.containers.run(IMAGE, command, network="none").id for _ in range(count)]
    try:
        yield {"label": label}
    finally:
        for container_id in ids:
            engine.containers.remove(container_id, force=True)


def medians_ms(calls: dict, rounds: int) -> dict[str, float]:
    """Median time of each call; rounds interleave the calls so drift hits all alike."""
    times = {label: [] for label in calls}
    for fn in calls.values():
        fn()  # warm connection pools and imports
    for _ in range(rounds):
        for label, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(t) * 1000 for label, t in times.items()}


def report(title: str, results: dict[str, float], reference: str) -> None:
    print(title)
    base = results[reference]
    for label, ms in results.items():
        print(f"  {label:<42} {ms:9.2f} ms  {ms / base:7.2f}x {reference}")
