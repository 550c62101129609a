"""Compose stacks against the real engine: health, builds, volumes, networks, ports, profiles,
scaling, convergence, failures. Services use ``init: true`` so stopping them is quick."""

from __future__ import annotations

import socket

import pytest
import requests

from conftest import BUSYBOX, free_port, wait_for
from jupyter_containers.compose import ComposeError, Stack, list_stacks, load_project
from jupyter_containers.compose.project import PROJECT
from jupyter_containers.engine import NotFound

pytestmark = pytest.mark.usefixtures("busybox")

SLEEP = "sh -c 'mkdir -p /tmp && touch /tmp/ready && exec sleep 3600'"


def stack(engine, text: str, name: str, events: list | None = None, **options) -> Stack:
    project = load_project(text=text, name=name, env={}, **options)
    return Stack(engine, project, on_event=events.append if events is not None else None)


def fetch(port: int) -> str | None:
    """The page on 127.0.0.1:port, or None while nothing answers there yet."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
    except requests.ConnectionError:
        return None


def ids(st: Stack) -> dict[str, str]:
    return {c.name: c.id for c in st.containers()}


WEB = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sh -c 'mkdir -p /www && echo from-db > /www/index.html && exec httpd -f -p 80 -h /www'
    healthcheck: {{test: wget -q -O- http://127.0.0.1:80/, interval: 200ms, retries: 20}}
    networks:
      back: {{aliases: [database]}}
  web:
    image: {BUSYBOX}
    init: true
    command: sh -c 'mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 80 -h /www'
    environment: {{GREETING: hello}}
    ports: ["127.0.0.1:{{port}}:80"]
    depends_on: {{db: {{condition: service_healthy}}}}
    networks: [back, default]
networks:
  back: {{}}
"""


def test_healthy_dependency_aliases_ports_and_convergence(engine, name):
    port = free_port()
    events = []
    st = stack(engine, WEB.replace("{port}", str(port)), name, events)
    st.up()
    order = [(e.service, e.action) for e in events]
    assert order.index(("db", "healthy")) < order.index(("web", "started"))  # service_healthy waited
    assert wait_for(lambda: fetch(port) == "hello\n")  # published on loopback
    reached = st.exec("web", "wget -q -O- http://database/")  # the alias, over the project network
    assert reached.exit_code == 0 and reached.output == "from-db\n"
    frame = st.ps()
    assert list(frame["name"]) == [f"{name}-db-1", f"{name}-web-1"]
    assert list(frame["health"]) == ["healthy", ""] and set(frame["state"]) == {"running"}
    assert f"127.0.0.1:{port}->80/tcp" in frame["ports"][1]
    nets = {n.name for n in engine.networks.list(filters={"label": [f"{PROJECT}={name}"]})}
    assert nets == {f"{name}_back", f"{name}_default"}

    before = ids(st)
    plan = st.up()  # twice: nothing changes
    assert not plan.changes and ids(st) == before

    changed = stack(engine, WEB.replace("{port}", str(port)).replace("GREETING: hello", "GREETING: again"), name)
    plan = changed.up()
    after = ids(st)
    assert [s for s, p in plan.services.items() if p.recreate] == ["web"]
    assert after[f"{name}-db-1"] == before[f"{name}-db-1"] and after[f"{name}-web-1"] != before[f"{name}-web-1"]
    assert wait_for(lambda: fetch(port) == "again\n")

    assert sorted(changed.down()) == [f"{name}-db-1", f"{name}-web-1"]
    assert st.containers() == []
    assert engine.networks.list(filters={"label": [f"{PROJECT}={name}"]}) == []


def test_build_and_named_volumes_survive_down(engine, name, tmp_path):
    text = f"""
services:
  app:
    build:
      dockerfile_inline: |
        FROM {BUSYBOX}
        ARG FLAVOUR
        RUN echo built-$$FLAVOUR > /built
      args: {{FLAVOUR: mint}}
    init: true
    command: sh -c 'cat /built >> /data/log && exec sleep 3600'
    volumes: [data:/data]
volumes:
  data:
"""
    st = stack(engine, text, name, working_dir=tmp_path)
    image = f"{name}-app"
    try:
        st.up()
        assert engine.images.exists(image)
        assert st.exec("app", "cat /data/log").output == "built-mint\n"
        st.down()
        assert engine.volumes.get(f"{name}_data").labels[PROJECT] == name  # named volumes stay
        st.up()
        assert st.exec("app", "cat /data/log").output == "built-mint\nbuilt-mint\n"
        st.down(volumes=True)
        with pytest.raises(NotFound):
            engine.volumes.get(f"{name}_data")
    finally:
        engine.images.remove(image, force=True)


def test_profiles_scaling_and_orphans(engine, name):
    text = f"""
services:
  worker:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
  debug:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    profiles: [debug]
"""
    st = stack(engine, text, name)
    st.up()
    assert list(st.ps()["service"]) == ["worker"]
    stack(engine, text, name, profiles=["debug"]).up()
    assert list(st.ps()["service"]) == ["debug", "worker"]

    st.scale({"worker": 3})
    assert list(st.ps(["worker"])["name"]) == [f"{name}-worker-{n}" for n in (1, 2, 3)]
    st.scale({"worker": 1})
    assert list(st.ps(["worker"])["name"]) == [f"{name}-worker-1"]

    events = []
    stack(engine, text, name, events).up()  # debug is not active now: an orphan? no, a disabled service
    assert not any(e.action == "warning" for e in events)
    renamed = text.replace("worker:", "runner:")
    stack(engine, renamed, name, events).up()
    assert any(e.action == "warning" and f"{name}-worker-1" in e.detail for e in events)
    assert f"{name}-worker-1" in set(st.ps()["name"])
    stack(engine, renamed, name).up(remove_orphans=True)
    assert set(st.ps()["service"]) == {"runner", "debug"}


def test_failure_halfway_names_the_service_and_down_removes_everything(engine, name):
    port = free_port()
    text = f"""
services:
  fine:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
  busy:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    ports: ["127.0.0.1:{port}:80"]
  after:
    image: {BUSYBOX}
    command: sleep 3600
    depends_on: [busy]
"""
    st = stack(engine, text, name)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(ComposeError) as info:
            st.up()
    message = str(info.value)
    assert message.startswith(f"service busy: port 127.0.0.1:{port} is already allocated")
    assert f"running: {name}-fine-1" in message and info.value.started == [f"{name}-fine-1"]
    states = dict(zip(st.ps()["service"], st.ps()["state"]))
    assert states == {"fine": "running", "after": "created"}  # 'after' not started, 'busy' removed itself
    st.down()
    assert engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]}) == []
    assert engine.networks.list(filters={"label": [f"{PROJECT}={name}"]}) == []

    bad = stack(engine, "services:\n  x:\n    image: 127.0.0.1:1/no/such:1\n", name)
    with pytest.raises(ComposeError, match=r"^service x: .*127\.0\.0\.1:1/no/such"):
        bad.up()
    bad.down()


def test_wait_reports_unhealthy_and_slow_services_with_their_logs(engine, name):
    sick = f"""
services:
  sick:
    image: {BUSYBOX}
    init: true
    command: sh -c 'echo cannot find my config; exec sleep 3600'
    healthcheck: {{test: test -f /nope, interval: 100ms, retries: 1}}
"""
    with pytest.raises(ComposeError) as info:
        stack(engine, sick, name).up(wait=True, wait_timeout=20)
    assert str(info.value).startswith(f"failed: {name}-sick-1 is running (unhealthy); last log lines: "
                                      "cannot find my config")
    slow = sick.replace("interval: 100ms, retries: 1", "interval: 30s, start_period: 60s")
    with pytest.raises(ComposeError, match=rf"not ready after 0.5 s: {name}-sick-1 is running \(starting\)"):
        stack(engine, slow, name).up(wait=True, wait_timeout=0.5, force_recreate=True)


def test_completed_successfully_dependency(engine, name):
    text = f"""
services:
  migrate:
    image: {BUSYBOX}
    command: sh -c 'exit {{code}}'
  app:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    depends_on: {{migrate: {{condition: service_completed_successfully}}}}
"""
    st = stack(engine, text.replace("{code}", "0"), name)
    st.up(wait=True)
    assert dict(zip(st.ps()["service"], st.ps()["state"])) == {"app": "running", "migrate": "exited"}
    st.down()
    with pytest.raises(ComposeError, match=rf"service app: dependency {name}-migrate-1 exited with code 3"):
        stack(engine, text.replace("{code}", "3"), name).up()


def test_stop_start_restart_logs_and_ls(engine, name):
    text = f"""
services:
  talker:
    image: {BUSYBOX}
    init: true
    command: sh -c 'echo said-hello; exec sleep 3600'
"""
    st = stack(engine, text, name)
    st.up()
    assert wait_for(lambda: "said-hello" in st.logs())
    assert st.logs().startswith(f"{name}-talker-1 | said-hello")
    row = list_stacks(engine).set_index("name").loc[name]
    assert row["status"] == "running(1)"
    st.stop()
    assert list(st.ps()["state"]) == ["exited"]
    Stack(engine, name=name).start()  # from the labels alone
    assert list(st.ps()["state"]) == ["running"]
    st.restart(["talker"])
    with pytest.raises(ComposeError, match="no containers for nope"):
        st.stop(["nope"])
    assert Stack(engine, name=name).down() == [f"{name}-talker-1"]


def test_service_options_reach_the_engine(engine, name, tmp_path):
    (tmp_path / "token.txt").write_text("s3cret\n")
    text = f"""
services:
  box:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    user: "1000:1000"
    working_dir: /tmp
    hostname: boxhost
    read_only: true
    tmpfs: [/tmp]
    cap_drop: [ALL]
    cap_add: [CHOWN]
    extra_hosts: ["db.internal:10.1.2.3"]
    ulimits: {{nofile: {{soft: 512, hard: 1024}}}}
    stop_signal: SIGINT
    stop_grace_period: 3s
    restart: unless-stopped
    expose: ["9000"]
    labels: {{team: nb}}
    deploy: {{resources: {{limits: {{cpus: '0.5', memory: 64m}}}}}}
    secrets: [token]
secrets:
  token: {{file: ./token.txt}}
"""
    st = stack(engine, text, name, working_dir=tmp_path)
    st.up()
    raw = engine.containers.inspect(f"{name}-box-1")
    host, config = raw["HostConfig"], raw["Config"]
    assert (config["User"], config["WorkingDir"], config["Hostname"]) == ("1000:1000", "/tmp", "boxhost")
    assert host["ReadonlyRootfs"] and "/tmp" in host["Tmpfs"] and host["Init"]
    assert host["CapDrop"] == ["ALL"] and host["CapAdd"] == ["CHOWN"]
    assert host["ExtraHosts"] == ["db.internal:10.1.2.3"]
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 512, "Hard": 1024}]
    assert (config["StopSignal"], config["StopTimeout"]) == ("SIGINT", 3)
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 64 * 1024 ** 2
    assert "9000/tcp" in config["ExposedPorts"] and config["Labels"]["team"] == "nb"
    assert st.exec("box", "cat /run/secrets/token").output == "s3cret\n"
    assert st.exec("box", "touch /not-writable").exit_code != 0  # read_only took effect
    assert "10.1.2.3\tdb.internal" in st.exec("box", "cat /etc/hosts").output
    st.down()


@pytest.mark.parametrize("kind", ["networks", "volumes"])
def test_missing_external_resource_is_one_line_and_creates_nothing(engine, name, kind):
    use = "networks: [outside]" if kind == "networks" else "volumes: ['outside:/data']"
    text = (f"services:\n  app:\n    image: {BUSYBOX}\n    command: sleep 300\n    {use}\n"
            f"{kind}:\n  outside: {{external: true, name: {name}-missing}}\n")
    with pytest.raises(ComposeError) as err:
        stack(engine, text, name).up()
    message = str(err.value)
    assert message == (f"{kind[:-1]} {name}-missing is declared as external but does not exist; create it first")
    assert not engine.containers.list(all=True, filters={"label": f"{PROJECT}={name}"})
