"""Engine discovery, the private engine, and the engine going away."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time

import pytest

from conftest import build_busybox, free_port, wait_for
from jupyter_containers import cli
from jupyter_containers.engine import Engine, EngineUnavailable, PrivateEngine
from jupyter_containers.engine.connect import candidates


@pytest.fixture
def no_engine_env(monkeypatch, tmp_path):
    """No DOCKER_HOST, no context, no sockets but the ones a test makes."""
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return monkeypatch


def test_explicit_url_wins(root_engine, no_engine_env):
    no_engine_env.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine = Engine.connect(root_engine.url)
    assert engine.source == "explicit url" and engine.system.version()["ApiVersion"]


def test_docker_host_is_used_and_final(root_engine, no_engine_env):
    no_engine_env.setenv("DOCKER_HOST", root_engine.url)
    assert Engine.connect().source == "DOCKER_HOST"
    no_engine_env.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as err:
        Engine.connect()
    assert time.monotonic() - started < 3
    message = str(err.value)
    assert "unix:///nonexistent/docker.sock [DOCKER_HOST]" in message
    assert "jupyter containers engine up" in message and "\n" not in message


def test_refused_tcp_fails_fast(no_engine_env):
    no_engine_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match="connection refused"):
        Engine.connect()
    assert time.monotonic() - started < 3


def test_silent_engine_gives_up_within_3_seconds(no_engine_env):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        no_engine_env.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(EngineUnavailable):
            Engine.connect()
        assert time.monotonic() - started < 3.5


def write_context(config_dir, name: str, host: str) -> None:
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps(
        {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}))
    (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))


def test_current_docker_context(root_engine, no_engine_env, tmp_path):
    write_context(tmp_path / "docker-config", "notebooks", root_engine.url)
    engine = Engine.connect()
    assert engine.source == "docker context 'notebooks'" and engine.url == root_engine.url
    no_engine_env.setenv("DOCKER_CONTEXT", "missing")
    with pytest.raises(EngineUnavailable, match="docker context 'missing' \\(not found\\)"):
        Engine.connect()


def test_socket_order(no_engine_env, tmp_path):
    no_engine_env.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    no_engine_env.setenv("JUPYTER_CONTAINERS_STATE_DIR", str(tmp_path / "state"))
    assert [c.url for c in candidates()] == [
        "unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock",
        "unix:///run/user/1000/podman/podman.sock", "unix:///run/podman/podman.sock",
        f"unix://{tmp_path}/state/docker.sock"]


def test_cli_status_up_down(root_engine, no_engine_env, capsys, short_dir):
    no_engine_env.setenv("DOCKER_HOST", root_engine.url)
    assert cli.main(["engine", "status"]) == 0
    assert "found by: DOCKER_HOST" in capsys.readouterr().out
    assert cli.main(["engine", "up"]) == 0
    assert "nothing to start" in capsys.readouterr().out
    assert cli.main(["engine", "down", "--state-dir", str(short_dir)]) == 0
    assert "nothing to stop" in capsys.readouterr().out
    no_engine_env.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert cli.main(["engine", "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jupyter containers engine status: no container engine answers") and err.count("\n") == 1


def test_private_engine_start_status_stop(second_engine, short_dir):
    private, engine = second_engine
    assert private.pid and private.answers()
    assert engine.system.info()["DockerRootDir"] == str(private.state_dir / "data")
    assert PrivateEngine(short_dir).stop() is False  # not ours: nothing stopped
    assert private.stop() is True
    assert private.pid is None and not private.answers()
    with pytest.raises(EngineUnavailable):
        engine.containers.list()


def test_private_engine_that_cannot_start_says_why(short_dir):
    broken = PrivateEngine(short_dir, extra_args=["--no-such-flag"])
    with pytest.raises(EngineUnavailable) as err:
        broken.start(timeout=20)
    assert "dockerd exited" in str(err.value) and "no-such-flag" in str(err.value)


def test_engine_crash_ends_a_follow_stream(second_engine):
    private, engine = second_engine
    build_busybox(engine)
    engine.containers.run("jupyter-containers/busybox:test", ["sh", "-c", "echo up; exec sleep 300"],
                          name="jc-test-crash", network="none")
    stream = engine.containers.follow_logs("jc-test-crash")
    assert next(stream).text == "up"
    outcome = []

    def read():
        try:
            outcome.extend(stream)
            outcome.append("ended quietly")
        except EngineUnavailable as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    os.kill(private.pid, signal.SIGKILL)  # a crash, not a clean shutdown
    reader.join(15)
    assert not reader.is_alive(), "the stream hung after the engine died"
    assert isinstance(outcome[-1], EngineUnavailable), outcome
    wait_for(lambda: private.pid is None, message="the daemon to be gone")
