"""Container listing with 50 running containers: ours vs docker-py vs the raw call.

Prints the median in-process time of our listing as records and as a
DataFrame, docker-py's high-level ``client.containers.list()`` (which inspects
each container) and the raw ``APIClient.containers()``, each as a ratio to the
raw call. Target: ours within 1.5x of raw.
"""

from __future__ import annotations

import os
import sys

import docker

from _common import medians_ms, report, running_containers
from jupyter_containers.engine import Engine

N = int(os.environ.get("BENCH_CONTAINERS", 50))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 10))  # docker-py inspects each: 50 calls a round


def main() -> int:
    engine = Engine.connect()
    with running_containers(engine, N) as filters:
        high = docker.DockerClient(base_url=engine.url, version=engine.api.api_version)
        high.api.trust_env = engine.api.trust_env  # the same transport settings as ours and the raw call
        assert len(engine.containers.list(filters=filters)) == N
        results = medians_ms({  # interleaved rounds: drift on the engine hits every side alike
            "raw APIClient.containers()": lambda: engine.api.containers(filters=filters),
            "ours: containers.list() (records)": lambda: engine.containers.list(filters=filters),
            "ours: containers.frame() (DataFrame)": lambda: engine.containers.frame(filters=filters),
            "docker-py client.containers.list()": lambda: high.containers.list(filters=filters),
        }, ROUNDS)
    report(f"listing {N} running containers, median of {ROUNDS} rounds ({engine.url})",
           results, "raw APIClient.containers()")
    worst = max(results["ours: containers.list() (records)"], results["ours: containers.frame() (DataFrame)"])
    ratio = worst / results["raw APIClient.containers()"]
    print(f"target: ours within 1.5x of raw -> {'met' if ratio <= 1.5 else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
