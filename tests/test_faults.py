"""Faults that lose nothing: the engine SIGKILLed in the middle of a compose up, a followed
log or a pull, the registry killed in the middle of a push. Each ends with one line, nothing hangs, and
doing it again once the part is back converges (nothing duplicated) or succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import BUSYBOX, build_busybox, free_port, usage_error, wait_for
from jupyter_containers.compose import Stack, load_project
from jupyter_containers.compose.project import PROJECT, SERVICE
from jupyter_containers.engine import ContainersError, Engine

pytestmark = pytest.mark.slow

STACK = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sh -c "sleep 2; touch /ready; exec sleep 3600"
    healthcheck: {{test: [CMD, test, -f, /ready], interval: 1s, retries: 30}}
  api:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    depends_on: {{db: {{condition: service_healthy}}}}
  web:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    depends_on: [api]
"""


def kill_engine(private) -> None:
    """SIGKILL the daemon, as the OOM killer or a crash would; wait until it no longer answers."""
    os.kill(private.pid, signal.SIGKILL)
    wait_for(lambda: not private.answers(timeout=0.2), timeout=20, message="dockerd to die")


def test_engine_killed_during_compose_up_then_up_converges(second_engine, name):
    private, engine = second_engine
    build_busybox(engine)
    stack = Stack(engine, load_project(text=STACK, name=name))
    outcome = {}

    def up():
        try:
            stack.up(wait=True, wait_timeout=60)
            outcome["result"] = "finished"
        except ContainersError as exc:
            outcome["result"] = exc
        except Exception as exc:  # noqa: BLE001 - anything else is what this test must catch
            outcome["result"] = exc

    thread = threading.Thread(target=up, daemon=True)
    thread.start()
    mine = {"label": [f"{PROJECT}={name}"]}
    wait_for(lambda: engine.containers.list(all=True, filters=mine), timeout=30, message="the first container")
    kill_engine(private)  # db is waiting to be healthy: api and web are not started yet
    thread.join(timeout=60)
    assert not thread.is_alive(), "compose up hung after the engine died"
    failure = outcome["result"]
    assert isinstance(failure, ContainersError), repr(failure)
    assert "\n" not in str(failure).strip() and str(failure)

    private.start()
    again = Engine.connect(private.url)
    try:
        Stack(again, load_project(text=STACK, name=name)).up(wait=True, wait_timeout=60)
        containers = again.containers.list(all=True, filters=mine)
        services = sorted(c.labels[SERVICE] for c in containers)
        assert services == ["api", "db", "web"], services  # one each: nothing duplicated
        assert all(c.state == "running" for c in containers)
        Stack(again, load_project(text=STACK, name=name)).down()
        assert again.containers.list(all=True, filters=mine) == []
    finally:
        again.close()


def test_engine_killed_while_following_logs_ends_with_one_line(second_engine, name):
    private, engine = second_engine
    build_busybox(engine)
    container = engine.containers.run(BUSYBOX, ["sh", "-c", "while :; do echo tick; sleep 0.2; done"],
                                      name=name, init=True)
    outcome = {"lines": 0}

    def follow():
        try:
            with engine.containers.follow_logs(container.id) as lines:
                for _ in lines:
                    outcome["lines"] += 1
            outcome["result"] = "ended"
        except Exception as exc:  # noqa: BLE001 - what it raises is checked below
            outcome["result"] = exc

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    wait_for(lambda: outcome["lines"] >= 3, timeout=20, message="log lines to flow")
    kill_engine(private)
    thread.join(timeout=30)
    assert not thread.is_alive(), "the followed log hung after the engine died"
    result = outcome["result"]
    # the stream ends (the engine closed it) or says the engine is gone: never another exception
    assert result == "ended" or (isinstance(result, ContainersError) and "\n" not in str(result).strip()), \
        repr(result)
    private.start()


@pytest.fixture
def own_registry(tmp_path):
    """A registry of this test's own (Debian's docker-registry), which it may kill and start again."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed; `make test` installs it")
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text("version: 0.1\nlog: {level: error}\n"
                      f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
                      f"http: {{addr: 127.0.0.1:{port}}}\n")
    processes = []

    def start():
        import requests

        process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)

        def answers():
            try:
                return requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).ok
            except requests.ConnectionError:
                return False
        wait_for(answers, timeout=20, message="the registry to answer")
        return process

    start()
    yield f"127.0.0.1:{port}", processes, start
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def test_registry_killed_during_a_push_is_one_line_and_the_retry_succeeds(engine, ip, own_registry, name):
    address, processes, start = own_registry
    ref = f"{address}/jc-test/{name}:big"
    engine.images.build(dockerfile=f"FROM {BUSYBOX}\nRUN head -c 16000000 /dev/urandom > /blob\n", tag=ref)
    try:
        killed = []

        def on_progress(event):  # kill the registry once bytes are on their way
            if event.status == "Pushing" and not killed:
                processes[-1].kill()
                killed.append(event)

        with pytest.raises(ContainersError) as caught:  # after the engine's own retries (about 50 s)
            engine.images.push(ref, on_progress=on_progress)
        assert killed, "the push ended before the registry could be killed"
        assert "\n" not in str(caught.value).strip()

        start()  # the same port and storage
        message = usage_error(ip, f"%container push {address}/jc-test/{name}:nosuchtag")
        assert message.startswith("container push:") and "\n" not in message
        ip.run_line_magic("container", f"push {ref}")  # the retry succeeds
        assert any(d.startswith(f"{address}/jc-test/{name}@sha256:") for d in engine.images.get(ref).digests)
    finally:
        engine.images.remove(ref, force=True)


def registry_image(engine: Engine, tag: str) -> None:
    """Debian's docker-registry in an image FROM scratch with the C library it links against (from
    ldd), so that a registry can run as a container of an isolated engine."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed; `make test` installs it")
    linked = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libraries = [part for line in linked.splitlines() for part in line.split() if part.startswith("/")]
    with tempfile.TemporaryDirectory() as context:
        copies = []
        for path in [binary, *libraries]:
            target = Path(context) / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            copies.append(f"COPY {path.lstrip('/')} {path}")
        (Path(context) / "config.yml").write_text(
            "version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: /var/lib/registry}}\n"
            "http: {addr: 0.0.0.0:5000}\n")
        dockerfile = "\n".join(["FROM scratch", *copies, "COPY config.yml /config.yml",
                                f'ENTRYPOINT ["{binary}", "serve", "/config.yml"]']) + "\n"
        engine.images.build(context, dockerfile=dockerfile, tag=tag)


def loopback_up(private) -> None:
    """The isolated engine's network namespace starts with ``lo`` down: its 127.0.0.1 must answer."""
    subprocess.run(["nsenter", f"--net=/proc/{private.pid}/ns/net", "ip", "link", "set", "lo", "up"], check=True)


def test_engine_killed_during_a_pull_then_the_pull_succeeds(second_engine, name):
    """The isolated engine (which cannot reach the host's loopback) runs a registry as a container,
    pushes an image to it, forgets it, and is SIGKILLed in the middle of pulling it back."""
    private, engine = second_engine
    loopback_up(private)
    build_busybox(engine)
    registry_image(engine, f"{name}-registry:1")
    engine.networks.create(f"{name}-net")
    port = free_port()
    engine.containers.run(f"{name}-registry:1", name=f"{name}-registry", restart="always", network=f"{name}-net",
                          ports=[f"127.0.0.1:{port}:5000"])
    ref = f"127.0.0.1:{port}/jc-test/{name}:big"
    engine.images.build(dockerfile=f"FROM {BUSYBOX}\nRUN head -c 16000000 /dev/urandom > /blob\n", tag=ref)
    wait_for(lambda: attempt(engine.images.push, ref), timeout=30, message="the registry to take the push")
    engine.images.remove(ref, force=True)
    killed = []

    def on_progress(event):  # kill the engine once the layer is on its way
        if event.status == "Downloading" and not killed:
            os.kill(private.pid, signal.SIGKILL)
            killed.append(event)

    with pytest.raises(ContainersError) as caught:
        engine.images.pull(ref, on_progress=on_progress)
    assert killed, "the pull ended before the engine could be killed"
    assert "\n" not in str(caught.value).strip()

    private.start()
    loopback_up(private)
    again = Engine.connect(private.url)
    try:  # its port could not be bound while the new namespace's lo was down: start it again
        again.containers.restart(f"{name}-registry", timeout=1)
        wait_for(lambda: attempt(again.images.pull, ref), timeout=60, message="the pull to succeed again")
        assert again.images.exists(ref) and again.images.get(ref).digests
    finally:
        again.close()


def attempt(call, *args):
    """``call(*args)``, or None when it fails with one of our errors (for wait_for)."""
    try:
        return call(*args)
    except ContainersError:
        return None
