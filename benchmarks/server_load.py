"""The REST server under load: GET containers while 64 followed logs and 4 pulls are open.

Starts a real ``jupyter server`` (the extension enabled as installed) and a local
registry (Debian's ``docker-registry`` on 127.0.0.1; the test image, built FROM
scratch with busybox, is pushed to it: nothing comes from a public registry).
Prints the p95 of ``GET jupyter-containers/api/containers`` with 64 followed logs
and 4 pulls in flight beside the p95 with no stream open (the reference), as a
ratio; counts failed requests; reads the server's thread count from /proc.
Target: p95 under load < 100 ms, no request fails, the server's threads bounded
(and back down once the streams close).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
from _common import IMAGE, running_containers

from jupyter_containers.engine import Engine

LOGS = int(os.environ.get("BENCH_LOGS", "64"))
PULLS = int(os.environ.get("BENCH_PULLS", "4"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
TARGET_MS = 100.0
POOL = 8  # the server's pool for short calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


@contextmanager
def jupyter_server():
    """A ``jupyter server`` on 127.0.0.1 with a token; (url, token, pid)."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "wb") as log:
        port, token = free_port(), uuid.uuid4().hex
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        url = f"http://127.0.0.1:{port}"

        def answers():
            if process.poll() is not None:
                raise RuntimeError("jupyter server died:\n" + (Path(tmp) / "server.log").read_text()[-2000:])
            try:
                return requests.get(f"{url}/api/status?token={token}", timeout=1).ok
            except requests.ConnectionError:
                return False
        try:
            wait_until(answers, 60, "jupyter server to answer")
            yield url, token, process.pid
        finally:
            process.terminate()
            process.wait(timeout=15)


@contextmanager
def local_registry():
    """Debian's docker-registry on 127.0.0.1 with a storage dir of its own; its host:port."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise SystemExit("docker-registry is not installed (Debian package docker-registry; make test installs it)")
    with tempfile.TemporaryDirectory() as root:
        port = free_port()
        config = Path(root) / "config.yml"
        config.write_text(f"version: 0.1\nlog: {{level: warn}}\n"
                          f"storage: {{filesystem: {{rootdirectory: {root}/data}}, delete: {{enabled: true}}}}\n"
                          f"http: {{addr: 127.0.0.1:{port}}}\n")
        process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        address = f"127.0.0.1:{port}"

        def answers():
            try:
                return requests.get(f"http://{address}/v2/", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        try:
            wait_until(answers, 20, "the registry to answer")
            yield address
        finally:
            process.terminate()
            process.wait(timeout=10)


def server_threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def p95_ms(session: requests.Session, url: str, count: int, failures: list) -> float:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            failures.append(f"GET containers: {response.status_code} {response.text[:200]}")
    return statistics.quantiles(times, n=20)[-1]


def p95_direct_ms(engine: Engine, count: int) -> float:
    """The same listing straight from the engine, no server: how much of the time is the engine's."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        engine.containers.list()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.quantiles(times, n=20)[-1]


def load(api: str, token: str, ids: list[str], refs: list[str], engine_url: str, opened, stop, pulls, out) -> None:
    """In a process of its own (so its threads do not slow the measuring client): follow the logs
    of ``ids`` and pull ``refs`` over and over (each pull removes the image first) until ``stop``;
    then put (log lines relayed, failures) on ``out``."""
    engine = Engine.connect(engine_url)
    headers = {"Authorization": f"token {token}"}
    failures: list[str] = []
    lines = [0] * len(ids)
    streams: list[requests.Response] = []
    ready = threading.Barrier(len(ids) + 1, timeout=60)

    def follow(i: int, container_id: str) -> None:
        try:
            response = requests.get(f"{api}/containers/{container_id}/logs", params={"follow": "1", "tail": "0"},
                                    headers=headers, stream=True, timeout=(10, None))
            streams.append(response)
            if response.status_code != 200:
                failures.append(f"follow logs: {response.status_code} {response.text[:200]}")
            ready.wait()
            for _ in response.iter_lines():
                lines[i] += 1
        except threading.BrokenBarrierError:
            failures.append("follow logs: not every stream opened within 60 s")
        except Exception as exc:  # noqa: BLE001 - closed by us at the end, or a failure
            if not stop.is_set():
                failures.append(f"follow logs: {exc}")

    def pull(i: int, ref: str) -> None:
        while not stop.is_set():
            if engine.images.exists(ref):
                engine.images.remove(ref, force=True)
            response = requests.post(f"{api}/images/pull", json={"image": ref}, headers=headers, timeout=60)
            last = response.text.strip().splitlines()[-1] if response.text.strip() else ""
            if response.status_code != 200 or '"done": true' not in last:
                failures.append(f"pull: {response.status_code} {last[:200]}")
            pulls[i] += 1

    followers = [threading.Thread(target=follow, args=(i, c), daemon=True) for i, c in enumerate(ids)]
    for thread in followers:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        failures.append("follow logs: not every stream opened within 60 s")
    opened.set()
    pullers = [threading.Thread(target=pull, args=(i, r), daemon=True) for i, r in enumerate(refs)]
    for thread in pullers:
        thread.start()
    stop.wait()
    for thread in pullers:
        thread.join(60)
    for response in streams:
        response.close()
    for thread in followers:
        thread.join(10)
    out.put((sum(lines), failures))


def main() -> int:
    engine = Engine.connect()
    talkative = "while true; do echo tick; sleep 1; done"
    with running_containers(engine, LOGS, command=f"sh -c '{talkative}'") as filters, \
            local_registry() as registry, jupyter_server() as (url, token, pid):
        refs = [f"{registry}/bench/busybox-{i}:1" for i in range(PULLS)]
        for ref in refs:
            engine.images.tag(IMAGE, ref)
            engine.images.push(ref)
            engine.images.remove(ref)
        api = f"{url}/jupyter-containers/api"
        session = requests.Session()
        session.headers["Authorization"] = f"token {token}"
        failures: list[str] = []
        ids = [c.id for c in engine.containers.list(filters=filters)]
        session.get(f"{api}/containers").raise_for_status()  # connect the engine, warm up
        idle_threads = server_threads(pid)
        reference = p95_ms(session, f"{api}/containers", REQUESTS, failures)

        context = multiprocessing.get_context("spawn")
        opened, stop, out = context.Event(), context.Event(), context.Queue()
        pulls = context.Array("i", PULLS)
        child = context.Process(target=load, args=(api, token, ids, refs, engine.url, opened, stop, pulls, out))
        child.start()
        try:
            if not opened.wait(90):
                failures.append("the load process did not open its streams within 90 s")
            wait_until(lambda: all(pulls[:]) or not child.is_alive(), 60, "every puller to finish a pull")
            ours = p95_ms(session, f"{api}/containers", REQUESTS, failures)
            direct = p95_direct_ms(engine, REQUESTS)
            engine_ping = session.get(f"{api}/engine", timeout=10).status_code
            busy_threads = server_threads(pid)
        finally:
            stop.set()
            lines, load_failures = out.get(timeout=120)
            child.join(30)
        failures += load_failures
        after = wait_until(lambda: (n := server_threads(pid)) <= idle_threads + POOL and n, 30,
                           "the server's threads to come back down")
        for ref in refs:
            if engine.images.exists(ref):
                engine.images.remove(ref, force=True)

    ratio = ours / reference
    bound = idle_threads + POOL + LOGS + PULLS + 8  # a thread per open stream, the pool, a few of tornado's
    print(f"GET containers with {LOGS} followed logs and {PULLS} pulls open, p95 of {REQUESTS} requests "
          f"({engine.url}; the streams' clients in another process)")
    print(f"  {'ours: under load':<42} {ours:9.2f} ms  {ratio:7.2f}x reference")
    print(f"  {'reference: no stream open':<42} {reference:9.2f} ms  {1:7.2f}x reference")
    print(f"  {'(engine.containers.list() direct, under load)':<42} {direct:9.2f} ms  {direct / reference:7.2f}x "
          "reference")
    print(f"  log lines relayed: {lines}; pulls completed: {sum(pulls[:])}; GET engine under load: {engine_ping}")
    print(f"  server threads: {idle_threads} idle, {busy_threads} under load (bound {bound}), {after} after")
    for failure in failures[:5]:
        print(f"  failure: {failure}")
    met = ours < TARGET_MS and not failures and engine_ping == 200 and busy_threads <= bound
    print(f"target: p95 under {TARGET_MS:.0f} ms, no request fails, threads bounded -> "
          f"{'met' if met else 'NOT met'} ({ours:.1f} ms, {len(failures)} failed, {busy_threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
