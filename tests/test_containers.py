"""engine.containers against the real engine."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port, wait_for
from jupyter_containers.engine import (Conflict, ContainerNotFound, ImageNotFound, InvalidArgument,
                                       MANAGED_LABEL, PortInUse)

pytestmark = pytest.mark.usefixtures("busybox")
SERVE = "httpd -f -p 80 -h /etc"  # busybox httpd serving /etc/hostname etc.


def mine(engine) -> set[str]:
    return {c.id for c in engine.containers.list(all=True, filters={"label": f"{TEST_LABEL}={RUN_ID}"})}


def count_calls(engine):
    """Count the HTTP requests this engine object makes (a spy, the calls are real)."""
    calls = []
    hook = lambda response, *a, **k: calls.append(response.request.path_url)  # noqa: E731
    engine.api.hooks["response"].append(hook)
    return calls


def test_run_with_every_option(engine, name, tmp_path):
    (tmp_path / "hello.txt").write_text("from the host\n")
    tmp_path.chmod(0o755)  # readable by the container's user 1000
    port = free_port()
    engine.networks.create(f"{name}-net")
    engine.volumes.create(f"{name}-vol")  # labelled, so the cleanup takes it (the engine's own would not be)
    c = engine.containers.run(
        BUSYBOX, SERVE, name=name, env={"GREETING": "hi there"}, ports=[f"127.0.0.1:{port}:80", "81"],
        volumes=[f"{name}-vol:/data", f"{tmp_path}:/host:ro", "/scratch"], labels={"team": "nb"},
        workdir="/data", user="1000:1000", restart="on-failure:2", cpus=0.5, memory="64m",
        network=f"{name}-net", hostname="box")
    assert c.state == "running" and c.name == name
    raw = engine.containers.inspect(name)
    host = raw["HostConfig"]
    assert raw["Config"]["Labels"]["team"] == "nb" and raw["Config"]["Labels"][MANAGED_LABEL] == "1"
    assert "GREETING=hi there" in raw["Config"]["Env"]
    assert raw["Config"]["WorkingDir"] == "/data" and raw["Config"]["User"] == "1000:1000"
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 64 * 1024 * 1024
    assert f"{name}-net" in raw["NetworkSettings"]["Networks"]
    assert {m["Destination"] for m in raw["Mounts"]} == {"/data", "/host", "/scratch"}
    published = {p.container_port: p for p in c.ports if p.host_port}
    assert published[80].host_port == port and published[80].host_ip == "127.0.0.1"
    assert published[81].host_port and published[81].host_ip == "127.0.0.1"  # random port, loopback by default
    assert requests.get(f"{published[80].url}/hostname", timeout=5).text.strip() == "box"
    assert engine.containers.exec(name, "cat /host/hello.txt").output == "from the host\n"
    assert engine.containers.exec(name, "sh -c 'echo $GREETING; id -u'").output.split() == ["hi", "there", "1000"]
    assert f'href="http://127.0.0.1:{port}"' in c._repr_html_()


def test_run_foreground_and_auto_remove(engine, name):
    c = engine.containers.run(BUSYBOX, ["sh", "-c", "echo done; exit 4"], name=name, detach=False)
    assert c.state == "exited" and c.status == "Exited (4)"
    assert engine.containers.logs(name) == "done\n"
    gone = engine.containers.run(BUSYBOX, "true", name=f"{name}-rm", auto_remove=True, detach=False)
    assert gone.name == f"{name}-rm"
    wait_for(lambda: not engine.containers.exists(f"{name}-rm"), message="auto-removal")


def test_entrypoint_and_command(engine, name):
    engine.containers.run(BUSYBOX, ["a b", "c"], entrypoint=["echo"], name=name, detach=False)
    assert engine.containers.logs(name) == "a b c\n"


def test_lifecycle(engine, name):
    c = engine.containers.run(BUSYBOX, "sleep 300", name=name)
    state = lambda: engine.containers.get(name).state  # noqa: E731
    engine.containers.pause(name)
    assert state() == "paused"
    engine.containers.unpause(name)
    assert state() == "running"
    engine.containers.stop(name, timeout=0)
    assert state() == "exited"
    engine.containers.stop(name, timeout=0)  # stopping a stopped container is not an error
    engine.containers.start(name)
    assert state() == "running"
    started = engine.containers.inspect(name)["State"]["StartedAt"]
    engine.containers.restart(name, timeout=0)
    assert engine.containers.inspect(name)["State"]["StartedAt"] != started
    engine.containers.kill(name, signal="KILL")
    assert engine.containers.wait(name) == 137
    engine.containers.rename(name, f"{name}-2")
    assert engine.containers.get(c.id).name == f"{name}-2"
    engine.containers.remove(f"{name}-2")
    assert not engine.containers.exists(c.id)


def test_create_does_not_start(engine, name):
    c = engine.containers.create(BUSYBOX, "true", name=name)
    assert c.state == "created"
    engine.containers.start(name)
    assert engine.containers.wait(name) == 0


def test_remove_force_and_volumes(engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name, volumes=["/anon"])
    volume = engine.containers.inspect(name)["Mounts"][0]["Name"]
    with pytest.raises(Conflict) as err:
        engine.containers.remove(name)
    assert "\n" not in str(err.value)
    engine.containers.remove(name, force=True, volumes=True)
    assert not engine.containers.exists(name)
    assert volume not in {v.name for v in engine.volumes.list()}


def test_list_is_one_call_with_filters(engine, name):
    for i in range(3):
        engine.containers.run(BUSYBOX, "sleep 300", name=f"{name}-{i}", labels={"group": name})
    engine.containers.stop(f"{name}-2", timeout=0)
    calls = count_calls(engine)
    running = engine.containers.list(filters={"label": f"group={name}"})
    assert len(calls) == 1
    assert sorted(c.name for c in running) == [f"{name}-0", f"{name}-1"]
    everything = engine.containers.list(all=True, filters=[f"label=group={name}"])
    assert len(everything) == 3 and len(calls) == 2
    frame = engine.containers.frame(all=True, filters={"label": f"group={name}", "status": "exited"})
    assert len(calls) == 3
    assert list(frame.columns) == ["id", "name", "image", "command", "created", "status", "state", "ports"]
    assert frame["name"].tolist() == [f"{name}-2"] and frame["state"].tolist() == ["exited"]
    assert str(frame["created"].dtype).startswith("datetime64") and frame["created"].dt.tz is not None


def test_logs_tail_since_timestamps(engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; echo bad >&2"],
                          name=name, detach=False)
    assert engine.containers.logs(name, stderr=False) == "".join(f"line{i}\n" for i in range(1, 6))
    assert engine.containers.logs(name, stdout=False) == "bad\n"
    last3 = engine.containers.logs(name, tail=3).split()
    assert len(last3) == 3 and "line1" not in last3 and "line5" in last3
    stamped = engine.containers.logs(name, timestamps=True, stderr=False).splitlines()
    assert stamped[0].endswith(" line1") and stamped[0][:4].isdigit()
    assert engine.containers.logs(name, since=time.time() + 3600) == ""
    assert "line1" in engine.containers.logs(name, since="1h")


def test_follow_logs_streams_until_exit(engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo first; read x; echo second >&2"], name=name,
                          stdin_open=True)
    with engine.containers.follow_logs(name) as stream:
        first = next(stream)
        assert (first.stream, first.text) == ("stdout", "first")
        engine.containers.kill(name)  # the stream must end with the container
        rest = list(stream)
    assert all(line.text != "first" for line in rest)
    assert stream.closed


def test_follow_logs_close_from_another_thread(engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo ready; sleep 300"], name=name)
    stream = engine.containers.follow_logs(name)
    assert next(stream).text == "ready"
    seen, ended = [], threading.Event()

    def read():
        seen.extend(stream)
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    stream.close()
    assert ended.wait(5), "close() from another thread did not end the stream"
    assert seen == []


def test_exec(engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    result = engine.containers.exec(name, "sh -c 'echo out; echo err >&2; exit 3'")
    assert (result.exit_code, result.output, result.stderr) == (3, "out\n", "err\n")
    result = engine.containers.exec(name, ["sh", "-c", "pwd; id -u; echo $X"], workdir="/etc", env={"X": "1"},
                                    user="65534")
    assert result.output.split() == ["/etc", "65534", "1"] and result.exit_code == 0
    with engine.containers.exec_stream(name, "sh -c 'echo a; echo b >&2; exit 2'") as stream:
        lines = list(stream)
    assert sorted((l.stream, l.text) for l in lines) == [("stderr", "b"), ("stdout", "a")]
    assert stream.exit_code == 2


def test_top_and_port(engine, name):
    port = free_port()
    engine.containers.run(BUSYBOX, "sleep 300", name=name, ports=[f"127.0.0.1:{port}:80", "9999/udp"])
    processes = engine.containers.top(name)
    assert any("sleep 300" in p.get("CMD", p.get("COMMAND", "")) for p in processes)
    ports = {str(p) for p in engine.containers.port(name)}
    assert f"127.0.0.1:{port}->80/tcp" in ports and any(p.endswith("->9999/udp") for p in ports)


# -- bad input: a clear one-line error and nothing left behind ---------------------

def one_line(exc) -> str:
    text = str(exc.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def test_unknown_image(engine, name):
    before = mine(engine)
    with pytest.raises(ImageNotFound) as err:
        engine.containers.run("jc-test/no-such-image:1", name=name, pull="never")
    assert "jc-test/no-such-image:1" in one_line(err)
    assert mine(engine) == before


def test_unknown_image_pull_from_registry(engine, registry, name):
    before = mine(engine)
    with pytest.raises(ImageNotFound) as err:
        engine.containers.run(f"{registry}/jc-test/nothing-here:1", name=name)
    one_line(err)
    assert mine(engine) == before


@pytest.mark.parametrize("image", ["Bad/Name", "a:b:c", "", "x y"])
def test_malformed_image_reference(engine, name, image):
    before = mine(engine)
    with pytest.raises(InvalidArgument) as err:
        engine.containers.run(image, name=name)
    assert "image reference" in one_line(err)
    assert mine(engine) == before


def test_name_in_use(engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    before = mine(engine)
    with pytest.raises(Conflict) as err:
        engine.containers.run(BUSYBOX, "sleep 300", name=name)
    assert f"'{name}' is already in use" in one_line(err)
    assert mine(engine) == before


def test_port_in_use_by_a_container(engine, name):
    port = free_port()
    engine.containers.run(BUSYBOX, SERVE, name=name, ports=[f"127.0.0.1:{port}:80"])
    before = mine(engine)
    with pytest.raises(PortInUse) as err:
        engine.containers.run(BUSYBOX, SERVE, name=f"{name}-2", ports=[f"127.0.0.1:{port}:80"])
    assert one_line(err).startswith(f"port 127.0.0.1:{port} is already allocated")
    assert mine(engine) == before


def test_port_in_use_by_another_program(engine, name):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        before = mine(engine)
        with pytest.raises(PortInUse) as err:
            engine.containers.run(BUSYBOX, SERVE, name=name, ports=[f"127.0.0.1:{port}:80"])
        assert f"127.0.0.1:{port}" in one_line(err)
        assert mine(engine) == before


@pytest.mark.parametrize("option", [
    {"ports": ["99999:80"]}, {"ports": ["abc"]}, {"ports": ["1-3:1-2"]},
    {"volumes": ["relative/path:/x"]}, {"volumes": ["data:not-absolute"]}, {"volumes": ["a:/b:bogus"]},
    {"restart": "sometimes"}, {"memory": "lots"}, {"env": ["=nokey"]},
])
def test_invalid_specs_create_nothing(engine, name, option):
    before = mine(engine)
    with pytest.raises(InvalidArgument) as err:
        engine.containers.run(BUSYBOX, "true", name=name, **option)
    one_line(err)
    assert mine(engine) == before


@pytest.mark.parametrize("operation", ["start", "stop", "restart", "kill", "pause", "unpause", "remove",
                                       "inspect", "logs", "top", "wait"])
def test_container_not_found(engine, operation):
    with pytest.raises(ContainerNotFound) as err:
        getattr(engine.containers, operation)("jc-test-no-such-container")
    assert "jc-test-no-such-container" in one_line(err)


def test_exec_in_missing_or_stopped_container(engine, name):
    with pytest.raises(ContainerNotFound):
        engine.containers.exec("jc-test-no-such-container", "true")
    engine.containers.create(BUSYBOX, "true", name=name)
    with pytest.raises(Conflict) as err:
        engine.containers.exec(name, "true")
    one_line(err)


def test_rename_to_a_taken_name(engine, name):
    engine.containers.create(BUSYBOX, "true", name=name)
    engine.containers.create(BUSYBOX, "true", name=f"{name}-b")
    with pytest.raises(Conflict) as err:
        engine.containers.rename(f"{name}-b", name)
    assert "already in use" in one_line(err)
