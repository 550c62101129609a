"""Compose service keys against Debian's docker-compose 1.29: the same file, brought up by both
(different project names), gives containers, networks and volumes the engine sees as the same,
after removing ids, names and the project name (tests/differential.py). The file exercises every
service key 1.29 supports that a container can start with here."""

from __future__ import annotations


import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port
from differential import TOOL_LABELS, differences, docker_compose, state
from jupyter_containers.compose import Stack, load_project
from jupyter_containers.compose.project import PROJECT
from jupyter_containers.engine.networks import HOST_BINDING

pytestmark = pytest.mark.usefixtures("busybox")

SUBNET = "172.31.251"
SERVICES = ("db", "web", "side", "solo")
FILE = """
services:
  db:
    image: {image}
    command: sleep 600
    init: true
    labels: {{{label}: "{run}", tier: data}}
    volumes: ["data:/data", "{tmp}:/host:ro", /anon, "{tmp}:/rw"]
    tmpfs: [/run/x]
    environment: {{A: "1", B: two words}}
    env_file: [{tmp}/env]
    healthcheck: {{test: ["CMD", "true"], interval: 1m30s, timeout: 500ms, retries: 3, start_period: 2s}}
    stop_signal: SIGUSR1
    stop_grace_period: 5s
    networks: {{back: {{ipv4_address: {subnet}.10, aliases: [database]}}}}
  web:
    image: {image}
    command: ["sleep", "600"]
    entrypoint: ["/bin/sh", "-c", "exec \\"$$@\\"", "--"]
    working_dir: /tmp
    user: "1000:1000"
    hostname: web1
    domainname: example.org
    labels: [{label}={run}]
    ports: ["127.0.0.1:{port}:80", "127.0.0.1::81/udp"]
    expose: ["90", "7000-7001/udp"]
    extra_hosts: ["a:1.2.3.4"]
    dns: 192.0.2.53
    dns_search: [example.org]
    dns_opt: ["ndots:2"]
    cap_add: [NET_ADMIN]
    cap_drop: [CHOWN]
    security_opt: [no-new-privileges]
    read_only: true
    tty: true
    stdin_open: true
    ulimits: {{nofile: {{soft: 100, hard: 200}}, nproc: 50}}
    sysctls: {{net.ipv4.ip_unprivileged_port_start: "80"}}
    shm_size: 32m
    mem_limit: 64m
    mem_reservation: 32m
    memswap_limit: 128m
    cpus: 0.5
    cpu_shares: 512
    cpuset: "0"
    pids_limit: 50
    oom_score_adj: 100
    group_add: ["100"]
    logging: {{driver: json-file, options: {{max-size: 1m, max-file: "2"}}}}
    restart: on-failure:3
    devices: ["/dev/null:/dev/n2:r"]
    device_cgroup_rules: ["c 1:3 mr"]
    links: ["db:database"]
    depends_on: [db]
    networks: {{front: {{aliases: [www]}}, back: {{priority: 10}}}}
  side:
    image: {image}
    command: sleep 600
    labels: {{{label}: "{run}"}}
    network_mode: "service:web"
    ipc: shareable
    volumes_from: ["db:ro"]
    depends_on: [web]
  solo:
    image: {image}
    command: sleep 600
    labels: {{{label}: "{run}"}}
    pid: host
    cpu_period: 100000
    cpu_quota: 50000
    network_mode: none
    stop_grace_period: 1m30s
    healthcheck: {{disable: true}}
networks:
  front: {{attachable: true, labels: {{k: v}}, driver_opts: {{com.docker.network.bridge.enable_icc: "true"}}}}
  back: {{internal: true, ipam: {{config: [{{subnet: {subnet}.0/24, gateway: {subnet}.1}}]}}}}
volumes:
  data: {{labels: {{k: v}}}}
"""


def _names(engine, theirs: str, ours: str) -> dict[str, str]:
    """Container names and ids of both projects, and the project names, to one placeholder each
    (1.29 names containers PROJECT_SERVICE_N and links SERVICE_N, Compose v2 uses '-')."""
    names = {}
    for project, sep in ((theirs, "_"), (ours, "-")):
        for service in SERVICES:
            container = f"{project}{sep}{service}{sep}1"
            if engine.containers.exists(container):
                names[engine.containers.inspect(container)["Id"]] = f"NAME-{service}"
            names[container] = f"NAME-{service}"
    for service in SERVICES:
        names[f"{service}_1"] = names[f"{service}-1"] = f"{service}-N"
    return {**names, theirs: "PROJECT", ours: "PROJECT"}


def _state(engine, container: str, names: dict[str, str]) -> dict:
    """``differential.state``, with named volumes compared as the mounts they make: 1.29 writes them as
    Binds, Compose v2 (and we) as Mounts, which the engine shows with another Mode."""
    found = state(engine, container, names)
    found["HostConfig"].pop("Binds", None)
    found["HostConfig"].pop("Mounts", None)
    for mount in found["Mounts"]:
        if mount["Type"] == "volume":
            mount.pop("Mode", None)
    return found


def _network_state(engine, name: str, names: dict[str, str], ipam: bool) -> dict:
    raw = engine.networks.inspect(name)
    labels = {k: v for k, v in (raw.get("Labels") or {}).items() if not k.startswith(TOOL_LABELS)}
    # ours publish where the engine's default bridge does (the private engine: 127.0.0.1), on purpose
    options = {k: v for k, v in (raw.get("Options") or {}).items() if k != HOST_BINDING}
    # 1.29 makes every network attachable; v2 (and we) only when asked: it matters to Swarm overlays only
    return {"Driver": raw["Driver"], "Internal": raw["Internal"],
            "Attachable": raw["Attachable"] if raw["Driver"] == "overlay" else None,
            "EnableIPv6": raw["EnableIPv6"], "Options": options, "Labels": labels,
            "IPAM": raw["IPAM"]["Config"] if ipam else None}  # subnets the engine chose differ by nature


@pytest.fixture
def compose_dir(tmp_path):
    (tmp_path / "env").write_text("FROM_FILE=1\nA=overridden-by-environment\n")
    return tmp_path


def test_same_file_same_containers_as_docker_compose(engine, name, compose_dir):
    theirs, ours = f"{name}a", f"{name}b"
    text = FILE.format(image=BUSYBOX, label=TEST_LABEL, run=RUN_ID, tmp=compose_dir, port=free_port(),
                       subnet=SUBNET)
    (compose_dir / "compose.yaml").write_text(text)
    try:
        up = docker_compose(engine, compose_dir, "-p", theirs, "up", "-d")
        assert up.returncode == 0, up.stderr
        names = _names(engine, theirs, ours)
        expected = {service: _state(engine, f"{theirs}_{service}_1", names) for service in SERVICES}
        expected_networks = {key: _network_state(engine, f"{theirs}_{key}", names, key == "back")
                             for key in ("front", "back")}
        expected_volume = engine.volumes.inspect(f"{theirs}_data")
    finally:
        down = docker_compose(engine, compose_dir, "-p", theirs, "down", "-v")
    assert down.returncode == 0, down.stderr  # the subnet and the port are ours to take now
    stack = Stack(engine, load_project([compose_dir / "compose.yaml"], name=ours))
    try:
        stack.up()
        names = {**names, **_names(engine, theirs, ours)}
        problems = []
        for service, theirs_state in expected.items():
            problems += [f"{service}{d}" for d in differences(theirs_state, _state(engine, f"{ours}-{service}-1", names))]
        for key, theirs_network in expected_networks.items():
            problems += [f"network {key}{d}" for d in
                         differences(theirs_network, _network_state(engine, f"{ours}_{key}", names, key == "back"))]
        volume = engine.volumes.inspect(f"{ours}_data")
        labels = lambda v: {k: x for k, x in (v["Labels"] or {}).items() if not k.startswith(TOOL_LABELS)}  # noqa: E731
        problems += [f"volume{d}" for d in differences(
            {"Driver": expected_volume["Driver"], "Labels": labels(expected_volume)},
            {"Driver": volume["Driver"], "Labels": labels(volume)})]
        assert not problems, "\n".join(problems)
    finally:
        stack.down(volumes=True)
        assert not engine.containers.list(all=True, filters={"label": [f"{PROJECT}={ours}"]})


def test_lifecycle_hooks_run_in_the_container(engine, name, tmp_path):
    (tmp_path / "compose.yaml").write_text(f"""
services:
  app:
    image: {BUSYBOX}
    command: sleep 600
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
    stop_grace_period: 0s
    volumes: ["{tmp_path}:/out"]
    post_start: [{{command: "sh -c 'echo $$GREETING > /out/started'", environment: {{GREETING: hello}}}}]
    pre_stop: [{{command: ["sh", "-c", "id -u > /out/stopping"], user: "1000"}}]
""")
    tmp_path.chmod(0o777)  # the pre_stop hook writes as uid 1000
    stack = Stack(engine, load_project([tmp_path / "compose.yaml"], name=name))
    try:
        stack.up()
        assert (tmp_path / "started").read_text() == "hello\n"
        assert not (tmp_path / "stopping").exists()
        stack.stop()
        assert (tmp_path / "stopping").read_text() == "1000\n"
    finally:
        stack.down()


def test_a_failing_hook_is_one_line(engine, name, tmp_path):
    from jupyter_containers.compose import ComposeError

    (tmp_path / "compose.yaml").write_text(f"""
services:
  app:
    image: {BUSYBOX}
    command: sleep 600
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
    post_start: [{{command: "sh -c 'echo no >&2; exit 3'"}}]
""")
    stack = Stack(engine, load_project([tmp_path / "compose.yaml"], name=name))
    try:
        with pytest.raises(ComposeError, match=r"post_start\[0\] .* exited with code 3: no") as caught:
            stack.up()
        assert "\n" not in str(caught.value)
    finally:
        stack.down()


@pytest.mark.parametrize("key, value", [("cpu_count", "2"), ("cpu_percent", "50")])
def test_windows_only_keys_are_refused_by_name(engine, name, key, value):
    from jupyter_containers.compose import ComposeFileError

    project = load_project(text=f"services:\n  app:\n    image: {BUSYBOX}\n    {key}: {value}\n", name=name)
    with pytest.raises(ComposeFileError, match=f"services.app.{key}: a Windows engine's option"):
        Stack(engine, project).up()
    assert not engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]})
    assert not engine.networks.list(filters={"label": [f"{PROJECT}={name}"]})


def test_secrets_and_configs_copied_with_owner_mode_and_content(engine, name, tmp_path, monkeypatch):
    """Secrets from environment or content, or asking for uid/gid/mode, are copied into the container
    before it starts (as docker compose does); a plain file secret is bind-mounted read-only."""
    monkeypatch.setenv("JC_TEST_TOKEN", "from-the-environment")
    (tmp_path / "plain.txt").write_text("plain\n")
    (tmp_path / "compose.yaml").write_text(f"""
services:
  app:
    image: {BUSYBOX}
    command: sleep 600
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
    secrets:
      - plain
      - {{source: token, uid: "1000", gid: "100", mode: 0400}}
    configs:
      - {{source: settings, target: /etc/app.conf, mode: "0640"}}
secrets:
  plain: {{file: ./plain.txt}}
  token: {{environment: JC_TEST_TOKEN}}
configs:
  settings: {{content: "level: debug"}}
""")
    stack = Stack(engine, load_project([tmp_path / "compose.yaml"], name=name))
    try:
        stack.up()
        out = stack.exec("app", ["sh", "-c", "cat /run/secrets/plain; cat /run/secrets/token; echo; cat /etc/app.conf; "
                                 "echo; stat -c '%u %g %a' /run/secrets/token /etc/app.conf"]).output
        assert out.splitlines() == ["plain", "from-the-environment", "level: debug", "1000 100 400", "0 0 640"]
    finally:
        stack.down()


def test_a_secret_from_an_unset_variable_is_refused_when_it_is_needed(engine, name, tmp_path, monkeypatch):
    from jupyter_containers.compose import ComposeFileError

    monkeypatch.delenv("JC_TEST_UNSET", raising=False)
    project = load_project(text=f"""
services:
  app: {{image: {BUSYBOX}, command: sleep 600, secrets: [token]}}
secrets:
  token: {{environment: JC_TEST_UNSET}}
""", name=name)
    assert "token" in project.config()["secrets"]  # config works without it, as in docker compose
    with pytest.raises(ComposeFileError, match="token: its environment variable JC_TEST_UNSET is not set"):
        Stack(engine, project).up()
    assert not engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]})


def test_deploy_and_the_older_keys_make_the_same_limits():
    text = f"""
services:
  new:
    image: {BUSYBOX}
    deploy:
      resources:
        limits: {{cpus: "1.5", memory: 64m, pids: 20}}
        reservations: {{memory: 32m, devices: [{{capabilities: [gpu], count: 1}}]}}
      restart_policy: {{condition: on-failure, max_attempts: 3}}
  old:
    image: {BUSYBOX}
    cpus: 1.5
    mem_limit: 64m
    pids_limit: 20
    mem_reservation: 32m
    gpus: [{{capabilities: [gpu], count: 1}}]
    restart: on-failure:3
"""
    project = load_project(text=text, name="limits", env={})
    new, old = project.create_spec("new", 1), project.create_spec("old", 1)
    for key in ("nano_cpus", "memory", "pids_limit", "memory_reservation", "device_requests", "restart_policy"):
        assert getattr(new, key) == getattr(old, key), key
    assert new.nano_cpus == 1_500_000_000 and new.restart_policy == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert new.device_requests == [{"Driver": "", "Count": 1, "DeviceIDs": None, "Capabilities": [["gpu"]],
                                    "Options": {}}]


def test_swarm_only_deploy_keys_are_one_warning_each():
    project = load_project(text=f"""
services:
  app:
    image: {BUSYBOX}
    deploy: {{mode: global, placement: {{constraints: [node.role==manager]}}, update_config: {{parallelism: 2}}}}
    develop: {{watch: [{{path: ., action: sync, target: /app}}]}}
""", name="warn", env={})
    assert [w.split(":")[0] for w in project.warnings] == [
        "services.app.deploy.mode", "services.app.deploy.placement", "services.app.deploy.update_config",
        "services.app.develop"]
