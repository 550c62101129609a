"""Push and pull of a ~50 MB image to a local registry: ours (with the progress
display) vs the docker CLI (``docker push/pull`` with DOCKER_HOST set to the same engine).

Each push goes to a registry started empty for it (so every layer is uploaded),
each pull starts with the image removed from the engine (so the big layer is
downloaded). Rounds alternate which side goes first. Prints the medians side by
side as a ratio. Target: ours within 1.1x of the CLI.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _common import IMAGE, ensure_image
from jupyter_containers.engine import ContainersError, Engine
from jupyter_containers.magics.display import LayerProgress

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))
BIG = "jupyter-containers/bench-50mb:latest"
DOCKERFILE = f"FROM {IMAGE}\nRUN head -c 50000000 /dev/urandom > /blob\n"


@contextmanager
def fresh_registry():
    """An empty Debian docker-registry on 127.0.0.1; its host:port."""
    with tempfile.TemporaryDirectory(prefix="jc-bench-registry-") as root, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        config = Path(root) / "config.yml"
        config.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {root}/data}}}}\n"
                          f"http: {{addr: 127.0.0.1:{port}}}\n")
        process = subprocess.Popen([shutil.which("docker-registry") or "docker-registry", "serve", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("the registry did not start") from None
                    time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def ours_push(engine: Engine, ref: str) -> None:
    progress = LayerProgress(f"pushing {ref}", "text")
    with contextlib.redirect_stdout(io.StringIO()):
        digest = engine.images.push(ref, on_progress=progress)
        progress.finish(f"pushed {ref} ({digest})")
    assert progress.layers, "the progress display saw no layer"


def ours_pull(engine: Engine, ref: str) -> None:
    progress = LayerProgress(f"pulling {ref}", "text")
    with contextlib.redirect_stdout(io.StringIO()):
        image = engine.images.pull(ref, on_progress=progress)
        progress.finish(f"pulled {ref} ({image.short_id})")
    assert progress.layers, "the progress display saw no layer"


def cli(engine: Engine, config_dir: str, verb: str, ref: str) -> None:
    env = {**os.environ, "DOCKER_HOST": engine.url, "DOCKER_CONFIG": config_dir}
    subprocess.run(["docker", verb, ref], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def forget_image(engine: Engine, image_id: str) -> None:
    try:
        engine.images.remove(image_id, force=True)
    except ContainersError:
        pass


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    if not shutil.which("docker"):
        print("the docker CLI is not installed (Debian's docker.io brings it); nothing to compare with")
        return 0
    engine = Engine.connect()
    ensure_image(engine)
    image_id = engine.images.build(dockerfile=DOCKERFILE, tag=BIG).id
    size = engine.images.get(image_id).size
    times = {"ours push": [], "docker push": [], "ours pull": [], "docker pull": []}
    with tempfile.TemporaryDirectory(prefix="jc-bench-docker-config-") as config_dir:
        for round_ in range(ROUNDS):
            with fresh_registry() as ours_registry, fresh_registry() as cli_registry:
                ours_ref, cli_ref = f"{ours_registry}/bench/big:1", f"{cli_registry}/bench/big:1"
                engine.images.tag(BIG, ours_ref)
                engine.images.tag(BIG, cli_ref)
                pushes = [("ours push", lambda r=ours_ref: ours_push(engine, r)),
                          ("docker push", lambda r=cli_ref: cli(engine, config_dir, "push", r))]
                pulls = [("ours pull", lambda r=ours_ref: ours_pull(engine, r)),
                         ("docker pull", lambda r=cli_ref: cli(engine, config_dir, "pull", r))]
                if round_ % 2:
                    pushes.reverse()
                    pulls.reverse()
                for label, fn in pushes:
                    times[label].append(timed(fn))
                for label, fn in pulls:
                    forget_image(engine, image_id)  # every tag: the 50 MB layer must come over the wire
                    times[label].append(timed(fn))
                engine.images.tag(image_id, BIG)  # the last pull brought the same image back
                for ref in (ours_ref, cli_ref):
                    forget_image(engine, ref)
    median = {label: statistics.median(t) * 1000 for label, t in times.items()}
    print(f"push and pull of a {size / 1e6:.0f} MB image to a local registry, median of {ROUNDS} rounds "
          f"({engine.url})")
    worst = 0.0
    for verb in ("push", "pull"):
        ours, ref = median[f"ours {verb}"], median[f"docker {verb}"]
        worst = max(worst, ours / ref)
        print(f"  {verb}: ours (with progress display) {ours:9.1f} ms   docker CLI {ref:9.1f} ms   "
              f"{ours / ref:5.2f}x CLI")
    print(f"target: ours within 1.1x of the CLI -> {'met' if worst <= 1.1 else 'NOT met'} ({worst:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
