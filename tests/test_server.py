"""The server extension's REST API, through a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest
from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error, wait_for
from jupyter_server.auth import Authorizer

from jupyter_containers.engine import Engine, PolicyDenied
from jupyter_containers.policy import ContainersPolicy

pytestmark = pytest.mark.usefixtures("busybox")
API = "jupyter-containers/api"


class ReadOnlyAuthorizer(Authorizer):
    """A deployment's read-only role: reads pass, every write is refused."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return action == "read"


@pytest.fixture
def jp_server_config(request):
    config = {"ServerApp": {"jpserver_extensions": {"jupyter_containers.server": True}}}
    if "read_only" in request.fixturenames:
        config["ServerApp"]["authorizer_class"] = ReadOnlyAuthorizer
    return config


@pytest.fixture
def read_only():
    """Requested by a test: its server runs with ``ReadOnlyAuthorizer``."""


@pytest.fixture
def jp_root_dir(request, tmp_path):
    """The server's root: a fresh directory, or the path a test parametrizes indirectly (e.g. "/")."""
    if hasattr(request, "param"):
        return Path(request.param)
    root = tmp_path / "root_dir"
    root.mkdir()
    return root


@pytest.fixture
def api(jp_fetch, jp_serverapp, root_engine):
    # pytest-jupyter gives the server a home of its own, where the private engine's socket is not
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    state.engine_url = root_engine.url

    async def call(method: str, *path: str, body=None, expect: int = 200, **params):
        response = await jp_fetch(API, *path, method=method, params=params or None, raise_error=False,
                                  body=None if body is None and method in ("GET", "DELETE") else json.dumps(body or {}))
        assert response.code == expect, response.body[:500]
        text = response.body.decode()
        return json.loads(text) if response.headers.get("Content-Type", "").startswith("application/json") and text \
            else text
    yield call
    state.close()  # its shared stats sampler and engine client (the test's server is not stopped as a process)


def error_of(data: dict, kind: str) -> str:
    assert data["kind"] == kind and "\n" not in data["message"], data
    return data["message"]


async def test_engine_and_listings(api, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name, ports=["127.0.0.1::80"])
    status = await api("GET", "engine")
    assert status["url"] == engine.url and status["containers"]["running"] >= 1
    assert (await api("GET", "engine", "info"))["ID"]
    containers = {c["name"]: c for c in await api("GET", "containers")}
    mine = containers[name]
    assert mine["state"] == "running" and mine["ports"][0]["url"].startswith("http://127.0.0.1:")
    assert (await api("GET", "containers", name))["Name"] == f"/{name}"
    images = await api("GET", "images")
    assert any(BUSYBOX in i["tags"] for i in images)


async def test_actions_remove_and_errors(api, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    assert (await api("POST", "containers", name, "stop"))["state"] == "exited"
    assert engine.containers.get(name).state == "exited"
    assert (await api("POST", "containers", name, "start"))["state"] == "running"
    error_of(await api("POST", "containers", name, "explode", expect=404), "not-found")
    error_of(await api("DELETE", "containers", name, expect=409), "conflict")
    await api("DELETE", "containers", name, expect=204, force="1")
    assert not engine.containers.exists(name)
    assert "jc-test-nothing" in error_of(await api("GET", "containers", "jc-test-nothing", expect=404),
                                         "container-not-found")
    error_of(await api("POST", "containers", "jc-test-nothing", "stop", expect=404), "container-not-found")


async def test_run_through_the_api(api, engine, name):
    created = await api("POST", "containers", expect=201, body={
        "image": BUSYBOX, "name": name, "command": ["sleep", "300"], "labels": {TEST_LABEL: RUN_ID}})
    assert created["name"] == name and engine.containers.get(name).state == "running"
    error_of(await api("POST", "containers", expect=409, body={"image": BUSYBOX, "name": name,
                                                               "labels": {TEST_LABEL: RUN_ID}}), "conflict")
    error_of(await api("POST", "containers", expect=400, body={"name": "x"}), "invalid-argument")
    error_of(await api("POST", "containers", expect=400, body={"image": BUSYBOX, "ports": ["99999:80"]}),
             "invalid-argument")
    error_of(await api("POST", "containers", expect=404, body={"image": "jc-test/nope:1"}), "image-not-found")


async def test_logs_plain_and_followed(api, engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo one; echo two; sleep 1; echo three"], name=name)
    assert (await api("GET", "containers", name, "logs", follow="1")) == "one\ntwo\nthree\n"
    assert (await api("GET", "containers", name, "logs", tail="1")) == "three\n"


async def test_pull_streams_progress(api, engine, registry, name):
    ref = f"{registry}/jc-test/{name}:1"
    engine.images.tag(BUSYBOX, ref)
    engine.images.push(ref)
    engine.images.remove(ref)
    try:
        lines = [json.loads(line) for line in (await api("POST", "images", "pull", body={"image": ref})).splitlines()]
        assert lines[-1]["done"] and ref in lines[-1]["image"]["tags"]
        assert lines[0]["status"].startswith("Pulling from") and any(
            (line.get("status") or "").startswith("Status:") for line in lines), lines
        await api("DELETE", "images", ref, expect=204)
        assert not engine.images.exists(ref)
        failed = json.loads((await api("POST", "images", "pull", body={"image": f"{registry}/jc-test/none:1"}))
                            .splitlines()[-1])
        assert failed["error"]["kind"] in ("image-not-found", "pull-failed")
    finally:
        if engine.images.exists(ref):
            engine.images.remove(ref, force=True)


async def test_stacks_group_compose_labels(api, engine, name):
    for i, service in enumerate(["web", "db"]):
        engine.containers.run(BUSYBOX, "sleep 300", name=f"{name}-{service}-1", labels={
            "com.docker.compose.project": name, "com.docker.compose.service": service})
    stacks = {s["name"]: s for s in await api("GET", "stacks")}
    assert [s["name"] for s in stacks[name]["services"]] == ["db", "web"]
    assert stacks[name]["running"] == stacks[name]["total"] == 2


async def test_stats_snapshot(api, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    await eventually(lambda names: name in names, api, "the new container in /stats")  # its first sample
    rows = {r["name"]: r for r in await api("GET", "stats")}
    assert rows[name]["mem_usage"] > 0 and rows[name]["pids"] == 1 and rows[name]["cpu_percent"] >= 0


COMPOSE = f"""
services:
  web:
    image: {BUSYBOX}
    command: sleep 300
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
"""


async def test_stacks_up_and_down(api, engine, jp_root_dir, name):
    (jp_root_dir / name).mkdir()
    (jp_root_dir / name / "compose.yaml").write_text(COMPOSE)
    answer = await api("POST", "stacks", "up", body={"path": f"{name}/compose.yaml"})
    assert answer == {"project": name, "services": ["web"]}
    assert engine.containers.get(f"{name}-web-1").state == "running"
    stacks = {s["name"]: s for s in await api("GET", "stacks")}
    assert stacks[name]["running"] == 1
    assert (await api("POST", "stacks", "down", body={"project": name}))["removed"] == [f"{name}-web-1"]
    assert not engine.containers.exists(f"{name}-web-1")
    error_of(await api("POST", "stacks", "up", body={"path": "../etc/compose.yaml"}, expect=400), "invalid-argument")
    error_of(await api("POST", "stacks", "up", body={"path": "nothing/compose.yaml"}, expect=404), "not-found")
    (jp_root_dir / name / "compose.yaml").write_text("services:\n  web:\n    image: 3\n    bogus: 1\n")
    message = error_of(await api("POST", "stacks", "up", body={"path": f"{name}/compose.yaml"}, expect=400),
                       "compose-file")
    assert message.startswith(f"{name}/compose.yaml: services.web"), message  # as the file browser names it


async def test_engine_unavailable_is_503(api, jp_serverapp):
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    state.engine_url, state._engine = "unix:///nonexistent/docker.sock", None
    assert "no container engine answers" in error_of(await api("GET", "containers", expect=503), "engine-unavailable")


@pytest.mark.parametrize("method, path", [
    ("GET", "engine"), ("GET", "engine/info"), ("GET", "containers"), ("POST", "containers"),
    ("GET", "containers/x"), ("DELETE", "containers/x"), ("POST", "containers/x/stop"), ("GET", "containers/x/logs"),
    ("GET", "images"), ("POST", "images/pull"), ("DELETE", "images/x"), ("GET", "stacks"), ("POST", "stacks/up"),
    ("GET", "stats"), ("POST", "stacks/down"),
])
async def test_every_endpoint_refuses_without_a_token(jp_fetch, method, path):
    response = await jp_fetch(API, path, method=method, headers={"Authorization": ""}, raise_error=False,
                              body="{}" if method == "POST" else None)
    assert response.code in (401, 403), (path, response.code)


@pytest.fixture
def hub(jp_serverapp):
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    state.policy = ContainersPolicy(profile="hub")
    yield state.policy


async def test_hub_policy_refuses_escapes_through_the_api(api, hub, engine, name, jp_root_dir):
    message = error_of(await api("POST", "containers", expect=403, body={
        "image": BUSYBOX, "name": f"{name}-1", "privileged": True}), "policy-denied")
    assert "allow_privileged" in message
    message = error_of(await api("POST", "containers", expect=403, body={
        "image": BUSYBOX, "name": f"{name}-2", "volumes": ["/:/host"]}), "policy-denied")
    assert "bind mount of /" in message and "allowed_bind_paths" in message
    assert "allow_host_network" in error_of(await api("POST", "containers", expect=403, body={
        "image": BUSYBOX, "name": f"{name}-3", "network": "host"}), "policy-denied")
    (jp_root_dir / "privileged.yaml").write_text(COMPOSE + "    privileged: true\n")
    assert "allow_privileged" in error_of(await api("POST", "stacks", "up", body={"path": "privileged.yaml"},
                                                    expect=403), "policy-denied")
    assert not any(engine.containers.exists(f"{name}-{i}") for i in (1, 2, 3))
    assert not engine.containers.exists("privileged-web-1")


@pytest.fixture
def kernel_policy(ip, monkeypatch):
    """Set the magics' policy as a kernel started with JUPYTER_CONTAINERS_POLICY=hub would have it
    (or with other rules); the personal one comes back afterwards."""
    monkeypatch.setenv("JUPYTER_CONTAINERS_POLICY", "hub")
    magics = ip.magics_manager.registry["ContainerMagics"]
    personal = magics.policy

    def use(**rules) -> None:
        magics.policy = ContainersPolicy(parent=magics, **rules)
    yield use
    magics.policy = personal


def test_hub_policy_refuses_escapes_through_the_magics(ip, kernel_policy, engine, name):
    kernel_policy()
    assert "allow_privileged" in usage_error(ip, f"%container run --name {name}-1 --privileged {BUSYBOX} true")
    assert "bind mount of / is not allowed" in usage_error(
        ip, f"%container run --name {name}-2 -v /:/host {BUSYBOX} true")
    assert not engine.containers.exists(f"{name}-1") and not engine.containers.exists(f"{name}-2")


def test_hub_policy_refuses_compose_stacks_with_escapes(ip, kernel_policy, engine, name):
    kernel_policy()
    message = usage_error(ip, f"%%compose up -p {name}\n" + COMPOSE + "    privileged: true\n")
    assert message == ("compose up: service web: a privileged container is not allowed here "
                       "(ContainersPolicy.allow_privileged is off)")
    assert "bind mount of / is not allowed" in usage_error(
        ip, f"%%compose up -p {name}\n" + COMPOSE + "    volumes: ['/:/host']\n")
    assert "allow_cap_add" in usage_error(
        ip, f"%%compose scale -p {name} web=2\n" + COMPOSE + "    cap_add: [NET_ADMIN]\n")
    kernel_policy(allowed_actions={"list", "inspect"})
    assert usage_error(ip, f"%compose ps -p {name}") == \
        "compose ps: the 'compose' action is not allowed here (ContainersPolicy.allowed_actions)"
    assert not engine.containers.list(all=True, filters={"label": f"com.docker.compose.project={name}"})
    assert not engine.networks.list(filters={"label": f"com.docker.compose.project={name}"})


def test_hub_policy_refuses_bind_mounts_by_another_name(ip, kernel_policy, engine, name):
    """A named volume whose driver options bind a host path, and an external network named host."""
    kernel_policy()
    message = usage_error(ip, f"%container volume create {name} -o type=none -o o=bind -o device=/etc")
    assert message == (f"container volume create: volume {name} mounts /etc from the host (driver options); "
                       f"allowed under: {os.path.expanduser('~')} (ContainersPolicy.allowed_bind_paths)")
    volume = "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /etc}\n"
    message = usage_error(ip, f"%%compose up -p {name}\n" + COMPOSE + "    volumes: [data:/data]\n" + volume)
    assert "mounts /etc from the host" in message and "allowed_bind_paths" in message
    network = "    networks: [outside]\nnetworks:\n  outside: {external: true, name: host}\n"
    message = usage_error(ip, f"%%compose up -p {name}\n" + COMPOSE + network)
    assert message == ("compose up: service web: the host's network is not allowed here "
                       "(ContainersPolicy.allow_host_network is off)")
    assert not [v for v in engine.volumes.list() if v.name in (name, f"{name}_data")]
    assert not engine.containers.list(all=True, filters={"label": f"com.docker.compose.project={name}"})
    home = os.path.expanduser("~")  # inside the allowed paths, the same volume is fine
    ip.run_line_magic("container", f"volume create {name} -o type=none -o o=bind -o device={home}")
    engine.volumes.remove(name)


def test_every_verb_needs_its_own_action(ip, kernel_policy, name):
    kernel_policy(profile="personal", allowed_actions={"list", "inspect", "compose"})
    for line, action in [(f"%container tag {BUSYBOX} {name}:x", "tag"), ("%container login 127.0.0.1:1 -u a", "login"),
                         (f"%container volume create {name}", "volume"), (f"%container network rm {name}", "network"),
                         ("%container registry rm 127.0.0.1:1/x:1", "registry-delete"),
                         (f"%compose exec -p {name} web ls", "exec"), (f"%compose logs -p {name}", "logs"),
                         (f"%compose down -p {name}", "remove"), (f"%compose stop -p {name}", "stop")]:
        assert f"the {action!r} action is not allowed here" in usage_error(ip, line), line
    assert ip.run_line_magic("compose", f"ps -p {name}").empty  # reading a stack needs "compose" alone


def test_allowed_actions_limit_the_magics(ip, kernel_policy, engine, name):
    kernel_policy(profile="personal", allowed_actions={"list", "inspect"})
    assert "name" in ip.run_line_magic("container", "ps").columns  # reads are still allowed
    message = usage_error(ip, f"%container run -d --name {name} {BUSYBOX} sleep 300")
    assert message == "container run: the 'run' action is not allowed here (ContainersPolicy.allowed_actions)"
    assert "'remove' action" in usage_error(ip, "%container rm whatever")
    assert not engine.containers.exists(name)


def test_default_policy_allows_what_the_cli_allows():
    policy = ContainersPolicy(profile="personal")
    policy.check_create(privileged=True, network="host", volumes=["/:/host"], cap_add=["NET_ADMIN"],
                        ipc_mode="host", uts_mode="host", userns_mode="host", cgroupns="host",
                        devices=["/dev/sda"], security_opt=["seccomp=unconfined"])
    policy.check_volume("local", {"type": "none", "o": "bind", "device": "/etc"})


@pytest.mark.parametrize("options, rule", [
    ({"ipc_mode": "host"}, "allow_host_namespaces"), ({"uts_mode": "host"}, "allow_host_namespaces"),
    ({"userns_mode": "host"}, "allow_host_namespaces"), ({"cgroupns": "host"}, "allow_host_namespaces"),
    ({"pid_mode": "host"}, "allow_host_pid"), ({"devices": ["/dev/sda:/dev/sda"]}, "allow_devices"),
    ({"security_opt": ["seccomp=unconfined"]}, "allow_unconfined"),
    ({"security_opt": ["apparmor:unconfined"]}, "allow_unconfined"),
    ({"security_opt": ["label=disable"]}, "allow_unconfined"),
    ({"networks": {"host": ["web"]}}, "allow_host_network"),
])
def test_hub_policy_refuses_every_escape_by_name(monkeypatch, options, rule):
    monkeypatch.setenv("JUPYTER_CONTAINERS_POLICY", "hub")
    with pytest.raises(PolicyDenied, match=rf"ContainersPolicy\.{rule} is off"):
        ContainersPolicy().check_create(**options)
    ContainersPolicy().check_create(ipc_mode="private", security_opt=["no-new-privileges"], networks={"x": []})


# -- hardening: authorization, errors, the engine client, shared stats, a root of "/" -------------------------

WRITES = [("POST", "containers"), ("DELETE", "containers/x"), ("POST", "containers/x/stop"),
          ("POST", "images/pull"), ("DELETE", "images/x"), ("POST", "stacks/up"), ("POST", "stacks/down")]


async def test_a_read_only_role_reads_but_cannot_write(api, read_only, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    assert name in {c["name"] for c in await api("GET", "containers")}
    assert (await api("GET", "engine"))["url"] == engine.url
    await api("GET", "containers", name, "logs")
    for method, path in WRITES:
        body = None if method == "DELETE" else {"image": BUSYBOX, "path": "x.yaml", "project": name}
        message = error_of(await api(method, *path.split("/"), body=body, expect=403), "forbidden")
        assert "not authorized to write" in message, (path, message)
    assert engine.containers.get(name).state == "running"


async def test_bad_values_are_400_and_one_line(api, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    assert "tail" in error_of(await api("GET", "containers", name, "logs", tail="abc", expect=400),
                              "invalid-argument")
    assert "tail" in error_of(await api("GET", "containers", name, "logs", tail="-3", expect=400),
                              "invalid-argument")
    assert "all" in error_of(await api("GET", "containers", all="maybe", expect=400), "invalid-argument")
    assert "follow" in error_of(await api("GET", "containers", name, "logs", follow="2", expect=400),
                                "invalid-argument")
    assert "force" in error_of(await api("DELETE", "containers", name, force="x", expect=400), "invalid-argument")
    assert "image" in error_of(await api("POST", "containers", body={"image": 3}, expect=400), "invalid-argument")
    assert "env" in error_of(await api("POST", "containers", body={"image": BUSYBOX, "env": 5}, expect=400),
                             "invalid-argument")
    assert "path" in error_of(await api("POST", "stacks", "up", body={"path": ["a"]}, expect=400),
                              "invalid-argument")
    error_of(await api("POST", "images", "pull", body={"image": {"a": 1}}, expect=400), "invalid-argument")
    assert engine.containers.exists(name)


async def test_an_unexpected_error_is_a_500_without_python_in_it(api, engine, name, monkeypatch, caplog):
    from jupyter_containers.server import handlers

    def broken(container):
        raise RuntimeError("a bug <object at 0x1234>")
    monkeypatch.setattr(handlers, "container_json", broken)
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    with caplog.at_level(logging.ERROR):
        message = error_of(await api("GET", "containers", expect=500), "internal")
    assert "RuntimeError" not in message and "0x1234" not in message and "GET" in message, message
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records), caplog.records


async def test_concurrent_requests_make_one_engine_client_and_close_the_old(api, jp_serverapp, root_engine,
                                                                           monkeypatch):
    import docker

    from jupyter_containers.server import handlers

    state = jp_serverapp.web_app.settings["jupyter_containers"]
    made = []
    real = Engine.connect.__func__

    def counted(cls, *args, **kwargs):
        engine = real(cls, *args, **kwargs)
        made.append(engine)
        return engine
    monkeypatch.setattr(handlers.Engine, "connect", classmethod(counted))

    class Tracked(Engine):
        closed = False

        def close(self):
            self.closed = True
            super().close()
    # a client whose engine is gone (nothing listens on its socket): the next request must replace and close it
    gone = Tracked(docker.APIClient(base_url="unix:///nonexistent/docker.sock", version=root_engine.api.api_version),
                   "unix:///nonexistent/docker.sock")
    state._engine = gone
    answers = await asyncio.gather(*(api("GET", "engine") for _ in range(16)))
    assert {a["url"] for a in answers} == {root_engine.url}
    assert len(made) == 1, f"{len(made)} clients made by 16 concurrent requests"
    assert gone.closed


async def eventually(condition, api, message: str, timeout: float = 15.0) -> None:
    """Ask ``GET stats`` (as the sidebar does) until ``condition(names)`` holds, up to ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition({r["name"] for r in await api("GET", "stats")}):
        assert asyncio.get_running_loop().time() < deadline, f"timed out after {timeout} s waiting for {message}"
        await asyncio.sleep(0.1)  # the polling interval, as wait_for's


async def test_stats_come_from_one_shared_sampler(api, jp_serverapp, engine, name):
    """/stats answers from one sampler per engine, reading the kernel's cgroup files (the engine
    runs on this machine) on one thread for every container: no stream or thread per request."""
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    state.stats_idle = 1.0  # the sampler stops when nobody asked for a second
    mine = engine.containers.run(BUSYBOX, "sleep 300", name=name)
    await eventually(lambda names: name in names, api, "the new container in /stats")  # its first sample
    rows = {r["name"]: r for r in await api("GET", "stats")}
    assert rows[name]["mem_usage"] > 0 and rows[name]["pids"] == 1 and rows[name]["source"] == "cgroup"
    shared = state._stats  # the server's one SharedStats, of its own engine client
    sampler = shared._sampler
    assert sampler.source == "cgroup" and mine.id in sampler.followed

    def threads():
        return {t.name for t in sampler._threads if t.is_alive()}

    assert threads() == {"stats-cgroup", "stats-events"}
    for _ in range(3):  # the sidebar's refreshes: the same sampler, no new thread
        assert name in {r["name"] for r in await api("GET", "stats")}
        assert state._stats is shared and shared._sampler is sampler and threads() == {"stats-cgroup", "stats-events"}
    engine.containers.run(BUSYBOX, "sleep 300", name=f"{name}-2")  # a container that starts later is followed
    await eventually(lambda names: f"{name}-2" in names, api, "the new container in /stats")
    engine.containers.stop(name, timeout=0)  # a stopped one leaves
    await eventually(lambda names: name not in names, api, "the stopped container to leave /stats")
    assert state._stats is shared and shared._sampler is sampler and len(threads()) == 2
    await asyncio.to_thread(wait_for, lambda: not threads() and shared._sampler is None, 15, 0.05,
                            "the idle sampler to stop")


@pytest.mark.parametrize("jp_root_dir", ["/"], indirect=True)
async def test_compose_up_with_the_server_root_at_slash(api, engine, tmp_path, name):
    (tmp_path / name).mkdir()
    (tmp_path / name / "compose.yaml").write_text(COMPOSE + "    stop_grace_period: 0s\n")
    relative = str(tmp_path / name / "compose.yaml").lstrip("/")
    assert await api("POST", "stacks", "up", body={"path": relative}) == {"project": name, "services": ["web"]}
    assert engine.containers.get(f"{name}-web-1").state == "running"
    assert (await api("POST", "stacks", "down", body={"project": name}))["removed"] == [f"{name}-web-1"]
    (tmp_path / name / "compose.yaml").write_text("services:\n  web:\n    image: 3\n    bogus: 1\n")
    message = error_of(await api("POST", "stacks", "up", body={"path": relative}, expect=400), "compose-file")
    assert message.startswith(f"{relative}: services.web"), message
