"""The server extension's REST API, through a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import json

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error
from jupyter_containers.policy import ContainersPolicy

pytestmark = pytest.mark.usefixtures("busybox")
API = "jupyter-containers/api"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_containers.server": True}}}


@pytest.fixture
def api(jp_fetch, jp_serverapp, root_engine):
    # pytest-jupyter gives the server a home of its own, where the private engine's socket is not
    jp_serverapp.web_app.settings["jupyter_containers"].engine_url = root_engine.url

    async def call(method: str, *path: str, body=None, expect: int = 200, **params):
        response = await jp_fetch(API, *path, method=method, params=params or None, raise_error=False,
                                  body=None if body is None and method in ("GET", "DELETE") else json.dumps(body or {}))
        assert response.code == expect, response.body[:500]
        text = response.body.decode()
        return json.loads(text) if response.headers.get("Content-Type", "").startswith("application/json") and text \
            else text
    return call


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
    error_of(await api("POST", "containers", name, "explode", expect=404), "http")
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


def test_allowed_actions_limit_the_magics(ip, kernel_policy, engine, name):
    kernel_policy(profile="personal", allowed_actions={"list", "inspect"})
    assert "name" in ip.run_line_magic("container", "ps").columns  # reads are still allowed
    message = usage_error(ip, f"%container run -d --name {name} {BUSYBOX} sleep 300")
    assert message == "container run: the 'run' action is not allowed here (ContainersPolicy.allowed_actions)"
    assert "'remove' action" in usage_error(ip, "%container rm whatever")
    assert not engine.containers.exists(name)


def test_default_policy_allows_what_the_cli_allows():
    policy = ContainersPolicy(profile="personal")
    policy.check_create(privileged=True, network="host", volumes=["/:/host"], cap_add=["NET_ADMIN"])
