"""``%container ps`` with 50 running containers: the magic vs the raw call vs ``!docker ps``.

Prints the median time of the magic (in-process IPython, returning its
DataFrame), of the raw ``APIClient.containers()`` call, and of the docker CLI
run as a subprocess (what ``!docker ps`` does). Targets: the magic within 2x
of the raw call, and at least 3x faster than ``!docker ps``.
"""

from __future__ import annotations

import os
import contextlib
import sys

from IPython.testing.globalipapp import start_ipython

from _common import medians_ms, report, running_containers
from jupyter_containers.engine import Engine

N = int(os.environ.get("BENCH_CONTAINERS", 50))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 20))


def bang(shell, command: str) -> None:
    """What ``!command`` runs in IPython (``shell.system``), its output discarded."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        shell.system(command)


def main() -> int:
    engine = Engine.connect()
    shell = start_ipython()
    shell.run_line_magic("load_ext", "jupyter_containers")
    shell.run_line_magic("config", f"ContainerMagics.engine_url = {engine.url!r}")
    os.environ["DOCKER_HOST"] = engine.url  # the CLI talks to the same engine
    with running_containers(engine, N) as filters:
        label = filters["label"]
        assert len(shell.run_line_magic("container", f"ps --filter label={label}")) == N
        results = medians_ms({
            "raw APIClient.containers()": lambda: engine.api.containers(filters=filters),
            "%container ps (DataFrame)": lambda: shell.run_line_magic("container", f"ps --filter label={label}"),
            "!docker ps (docker CLI subprocess)": lambda: bang(shell, f"docker ps --filter label={label}"),
        }, ROUNDS)
    report(f"%container ps with {N} running containers, median of {ROUNDS} rounds ({engine.url})",
           results, "raw APIClient.containers()")
    magic = results["%container ps (DataFrame)"]
    vs_raw = magic / results["raw APIClient.containers()"]
    vs_cli = results["!docker ps (docker CLI subprocess)"] / magic
    print(f"target: within 2x of raw -> {'met' if vs_raw <= 2 else 'NOT met'} ({vs_raw:.2f}x); "
          f"at least 3x faster than !docker ps -> {'met' if vs_cli >= 3 else 'NOT met'} ({vs_cli:.1f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
