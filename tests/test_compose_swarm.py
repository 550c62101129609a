"""%%compose up --swarm, %compose ps/down --swarm: a compose file as a Swarm stack, as docker stack deploy
makes one, and interop with the docker CLI's `docker stack` both ways."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid

import pandas as pd
import pytest

from conftest import BUSYBOX, usage_error, wait_for
from jupyter_containers.compose import ComposeFileError, load_project
from jupyter_containers.compose.swarm_stack import SwarmStack, deploy_stack, remove_stack, stack_plan
from jupyter_containers.engine.swarm import NAMESPACE_LABEL

pytestmark = pytest.mark.usefixtures("busybox")

OURS = "io.jupyter.containers."  # the labels the engine object puts on what it creates


@pytest.fixture
def stack():
    """A stack name unique to this test (no '-': the docker CLI's stack names are any, ours a project's)."""
    return f"jcsw{uuid.uuid4().hex[:8]}"


@functools.cache
def docker_clis() -> tuple[str, ...]:
    """The docker CLIs that have `docker stack` (28 in /usr/local/bin, Debian's 20.10 in /usr/bin)."""
    found = []
    for binary in ("/usr/local/bin/docker", "/usr/bin/docker", shutil.which("docker")):
        if binary and os.path.exists(binary) and os.path.realpath(binary) not in map(os.path.realpath, found) \
                and subprocess.run([binary, "stack", "--help"], capture_output=True).returncode == 0:
            found.append(binary)
    return tuple(found)


def docker(engine, *args: str, cwd=None, cli: str | None = None) -> str:
    if cli is None and not docker_clis():
        pytest.fail("no docker CLI with `docker stack`; `make test` installs Debian's docker.io")
    done = subprocess.run([cli or docker_clis()[0], *args], env={**os.environ, "DOCKER_HOST": engine.url}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def of_stack(engine, name: str) -> dict[str, list[str]]:
    """Everything on the engine labelled as stack ``name``'s."""
    label = {"label": [f"{NAMESPACE_LABEL}={name}"]}
    return {"services": sorted(s["Spec"]["Name"] for s in engine.services.list(filters=label)),
            "networks": sorted(n.name for n in engine.networks.list(filters=label)),
            "configs": sorted(c["Spec"]["Name"] for c in engine.api.configs(filters=label)),
            "secrets": sorted(s["Spec"]["Name"] for s in engine.api.secrets(filters=label)),
            "containers": sorted(c.name for c in engine.containers.list(all=True, filters=label))}


NOTHING = {"services": [], "networks": [], "configs": [], "secrets": [], "containers": []}


def cell(ip, line: str, body: str):
    return ip.run_cell_magic("compose", line, body)


def line(ip, text: str):
    return ip.run_line_magic("compose", text)


def stack_file(env: str = "one", shared: str = "shared") -> str:
    return f"""
services:
  web:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    environment: {{STAGE: {env}}}
    labels: {{tier: front}}
    volumes: [data:/data]
    networks: {{front: {{aliases: [www]}}}}
    configs: [{{source: motd, target: /etc/motd}}]
    secrets: [token]
    deploy:
      replicas: 2
      labels: {{owner: notebook}}
      update_config: {{parallelism: 2, order: start-first, monitor: 200ms}}
  worker:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    networks: [default, shared]
    deploy: {{mode: global}}
networks:
  front: {{attachable: true}}
  shared: {{external: true, name: {shared}}}
volumes:
  data: {{}}
configs:
  motd: {{file: ./motd.txt}}
secrets:
  token: {{file: ./token.txt}}
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    (tmp_path / "motd.txt").write_text("welcome\n")
    (tmp_path / "token.txt").write_text("s3cr3t\n")
    monkeypatch.chdir(tmp_path)  # a cell's relative paths are the working directory's
    return tmp_path


def test_up_ps_update_down_from_cells(ip, swarm, engine, stack, files, capsys):
    shared = engine.networks.create(f"{stack}-shared", driver="overlay", attachable=True).name  # not the stack's
    engine = swarm
    try:
        message = usage_error(ip, f"%%compose up --swarm -p {stack}\n{stack_file(shared='nowhere')}")
        assert message == "compose up: network nowhere is declared as external, but could not be found; create a " \
                          "swarm-scoped network before the stack is deployed"
        assert of_stack(engine, stack) == NOTHING
        frame = cell(ip, f"up --swarm -p {stack}", stack_file(shared=shared))
        out = capsys.readouterr().out
        assert f"{stack}_web" in out and "2/2 running" in out and f"{stack}_worker" in out  # progress per service
        assert isinstance(frame, pd.DataFrame)
        assert sorted(frame["service"]) == ["web", "web", "worker"] and set(frame["current_state"]) == {"running"}
        assert list(frame.columns) == ["name", "service", "slot", "node", "image", "desired_state", "current_state",
                                       "since", "error"]
        assert of_stack(engine, stack) | {"containers": []} == {
            "services": [f"{stack}_web", f"{stack}_worker"], "networks": [f"{stack}_default", f"{stack}_front"],
            "configs": [f"{stack}_motd"], "secrets": [f"{stack}_token"], "containers": []}
        web = engine.services.inspect(f"{stack}_web")
        assert web["Spec"]["Labels"]["owner"] == "notebook" and web["Spec"]["Labels"][NAMESPACE_LABEL] == stack
        assert web["Spec"]["TaskTemplate"]["ContainerSpec"]["Labels"] == {"tier": "front", NAMESPACE_LABEL: stack}
        assert "Global" in engine.services.inspect(f"{stack}_worker")["Spec"]["Mode"]
        front = engine.networks.inspect(f"{stack}_front")
        assert (front["Driver"], front["Scope"], front["Attachable"]) == ("overlay", "swarm", True)
        assert engine.networks.inspect(f"{stack}_default")["Attachable"] is False
        task = engine.containers.list(filters={"label": [f"com.docker.swarm.service.name={stack}_web"]})[0]
        shown = engine.containers.exec(task.id, ["sh", "-c", "cat /etc/motd /run/secrets/token; echo $STAGE; "
                                                             "nslookup www 127.0.0.11 >/dev/null && echo dns"])
        assert shown.output == "welcome\ns3cr3t\none\ndns\n"
        worker = engine.containers.list(filters={"label": [f"com.docker.swarm.service.name={stack}_worker"]})[0]
        assert set(engine.containers.inspect(worker.id)["NetworkSettings"]["Networks"]) == {f"{stack}_default", shared}
        mount = next(m for m in engine.containers.inspect(task.id)["Mounts"] if m["Destination"] == "/data")
        assert mount["Name"] == f"{stack}_data"
        assert engine.volumes.inspect(f"{stack}_data")["Labels"][NAMESPACE_LABEL] == stack

        versions = {s["Spec"]["Name"]: s["Version"]["Index"] for s in engine.services.list(
            filters={"label": [f"{NAMESPACE_LABEL}={stack}"]})}
        cell(ip, f"up --swarm -p {stack}", stack_file(shared=shared))  # the same file: nothing is touched
        again = SwarmStack(engine, load_project(text=stack_file(shared=shared), name=stack, working_dir=files))
        assert again.deploy(detach=True) == {f"{stack}_web": "unchanged", f"{stack}_worker": "unchanged"}
        assert {s["Spec"]["Name"]: s["Version"]["Index"] for s in again.services()} == versions

        capsys.readouterr()
        # one service changed: a rolling update of it alone
        cell(ip, f"up --swarm -p {stack}", stack_file(env="two", shared=shared))
        assert "updated" in capsys.readouterr().out
        after = {s["Spec"]["Name"]: s for s in again.services()}
        assert after[f"{stack}_worker"]["Version"]["Index"] == versions[f"{stack}_worker"]
        assert after[f"{stack}_web"]["Version"]["Index"] > versions[f"{stack}_web"]
        assert after[f"{stack}_web"]["UpdateStatus"]["State"] == "completed"
        tasks = line(ip, f"ps --swarm -p {stack} web")
        assert set(tasks["service"]) == {"web"} and len(tasks) == 4  # two running, two shut down
        assert sorted(tasks["desired_state"]) == ["running", "running", "shutdown", "shutdown"]
        task = engine.containers.list(filters={"label": [f"com.docker.swarm.service.name={stack}_web"]})[0]
        assert engine.containers.exec(task.id, ["sh", "-c", "echo $STAGE"]).output == "two\n"

        line(ip, f"down --swarm -p {stack} -v")
        out = capsys.readouterr().out.splitlines()
        assert f"{stack}_web                 removed" in out
        assert out[-1] == "removed 2 service(s), 2 network(s), 1 config(s), 1 secret(s), 1 volume(s)"
        assert of_stack(engine, stack) == NOTHING  # the tasks' containers too: down waits for them
        assert engine.networks.inspect(shared)["Name"] == shared  # an external network is not the stack's
        line(ip, f"down --swarm -p {stack}")
        assert capsys.readouterr().out.strip() == f"Nothing found in stack: {stack}"
        assert line(ip, f"ps --swarm -p {stack}").empty
    finally:
        remove_stack(engine, stack, volumes=True)


SMALL = f"""
services:
  web:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
"""


def test_docker_stack_sees_ours_and_we_see_theirs(ip, swarm, stack, tmp_path):
    engine, theirs = swarm, stack + "cli"
    (tmp_path / "compose.yaml").write_text(SMALL)
    try:
        deploy_stack(engine, SMALL, stack, detach=True)
        assert f"{stack} 1" in docker(engine, "stack", "ls", "--format", "{{.Name}} {{.Services}}").splitlines()
        assert docker(engine, "stack", "services", stack, "--format", "{{.Name}} {{.Mode}}").strip() == \
            f"{stack}_web replicated"
        assert docker(engine, "stack", "ps", stack, "--format", "{{.Name}} {{.DesiredState}}").strip() == \
            f"{stack}_web.1 Running"
        assert f"Removing service {stack}_web" in docker(engine, "stack", "rm", stack)
        assert of_stack(engine, stack) | {"containers": []} == NOTHING  # its containers go in the background

        docker(engine, "stack", "deploy", "--resolve-image", "never", "-c", "compose.yaml", theirs, cwd=tmp_path)

        def running():
            frame = line(ip, f"ps --swarm -p {theirs}")
            return (frame,) if list(frame["current_state"]) == ["running"] else None

        frame, = wait_for(running, timeout=20, message="their task running")
        assert (frame["name"][0], frame["service"][0], frame["slot"][0]) == (f"{theirs}_web.1", "web", 1)
        line(ip, f"down --swarm -p {theirs}")
        assert of_stack(engine, theirs) == NOTHING
    finally:
        remove_stack(engine, stack)
        remove_stack(engine, theirs)


DEPLOY_KEYS = f"""
version: "3.9"  # the docker CLI 20.10 needs one; ours and later CLIs ignore it
services:
  api:
    image: {BUSYBOX}
    command: [sleep, "3600"]
    entrypoint: [/bin/busybox]
    init: true
    environment: {{A: "1", B: two}}
    user: "1000"
    working_dir: /tmp
    hostname: api-host
    stop_grace_period: 3s
    labels: {{tier: back}}
    healthcheck: {{test: [CMD, "true"], interval: 2s, timeout: 1s, retries: 3, start_period: 1s}}
    volumes:
      - data:/data
      - type: tmpfs
        target: /scratch
      - {{type: volume, source: cache, target: /cache, read_only: true}}
    networks:
      back: {{aliases: [api-alias]}}
      default: {{}}
    configs: [{{source: conf, target: /etc/app.conf, mode: 288}}]
    secrets: [{{source: key, target: app.key, uid: "1000", gid: "1000", mode: 256}}]
    deploy:
      mode: replicated
      replicas: 1
      endpoint_mode: dnsrr
      labels: {{owner: team}}
      update_config: {{parallelism: 2, delay: 1s, failure_action: rollback, monitor: 2s, max_failure_ratio: 0.5,
                      order: start-first}}
      rollback_config: {{parallelism: 1, delay: 2s, failure_action: continue, monitor: 1s, order: stop-first}}
      restart_policy: {{condition: on-failure, delay: 1s, max_attempts: 3, window: 10s}}
      placement:
        constraints: [node.role == manager]
        preferences: [{{spread: node.labels.zone}}]
        max_replicas_per_node: 2
      resources:
        limits: {{cpus: "0.5", memory: 64M}}
        reservations: {{cpus: "0.1", memory: 8M}}
  agent:
    image: {BUSYBOX}
    command: sleep 3600
    init: true
    deploy:
      mode: global
      restart_policy: {{condition: any}}
networks:
  back: {{attachable: true, labels: {{purpose: test}}}}
volumes:
  data: {{labels: {{kept: "yes"}}}}
  cache: {{}}
configs:
  conf: {{file: ./conf.txt}}
secrets:
  key: {{file: ./key.txt}}
"""


def normalized(engine, spec: dict, stack: str) -> dict:
    """A service's Spec with the stack's name taken out of names and labels, network ids as names, the
    engine's ids of configs and secrets and our own labels left out, empty values pruned."""
    networks = {n.id: n.name for n in engine.networks.list()}

    def scrub(value):
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in ("ConfigID", "SecretID") or str(key).startswith(OURS):
                    continue
                item = networks.get(item, item) if key == "Target" else item
                item = scrub(item)
                if item not in (None, {}, []):
                    out[scrub(key)] = item
            return out
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value.replace(stack, "STACK") if isinstance(value, str) else value

    return scrub(spec)


@pytest.mark.parametrize("cli", docker_clis() or ["docker"])
def test_same_specs_as_docker_stack_deploy(swarm, tmp_path, cli):
    engine = swarm
    ours, theirs = f"jcsw{uuid.uuid4().hex[:6]}", f"jcsw{uuid.uuid4().hex[:6]}"
    (tmp_path / "compose.yaml").write_text(DEPLOY_KEYS)
    (tmp_path / "conf.txt").write_text("setting=1\n")
    (tmp_path / "key.txt").write_text("k3y\n")
    try:
        docker(engine, "stack", "deploy", "--resolve-image", "never", "-c", "compose.yaml", theirs, cwd=tmp_path,
               cli=cli)
        SwarmStack(engine, load_project([tmp_path / "compose.yaml"], name=ours)).deploy(detach=True)
        for service in ("api", "agent"):
            mine = normalized(engine, engine.services.inspect(f"{ours}_{service}")["Spec"], ours)
            docker_made = normalized(engine, engine.services.inspect(f"{theirs}_{service}")["Spec"], theirs)
            assert mine == docker_made, service
        for name in (f"{ours}_back", f"{theirs}_back"):
            network = engine.networks.inspect(name)
            labels = {k: v for k, v in network["Labels"].items() if not k.startswith(OURS)}
            assert (network["Driver"], network["Attachable"], labels) == (
                "overlay", True, {"purpose": "test", NAMESPACE_LABEL: name.removesuffix("_back")})
        assert {k: v for k, v in engine.api.inspect_config(f"{ours}_conf")["Spec"].items() if k != "Name"} | \
            {"Labels": None} == {k: v for k, v in engine.api.inspect_config(f"{theirs}_conf")["Spec"].items()
                                 if k != "Name"} | {"Labels": None}
    finally:
        remove_stack(engine, ours, volumes=True)
        remove_stack(engine, theirs, volumes=True)


def test_keys_a_swarm_cannot_do(ip, swarm, stack, capsys):
    body = f"""
services:
  web:
    image: {BUSYBOX}
    build: .
    init: true
    command: sleep 3600
    container_name: fixed
    depends_on: [db]
    links: [db]
    restart: always
    privileged: true
    devices: [/dev/null]
    deploy: {{replicas: 0, restart_policy: {{condition: none}}}}
  db:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    deploy: {{replicas: 0}}
"""
    try:
        cell(ip, f"up --swarm -p {stack} -d", body)
        warnings = [w for w in capsys.readouterr().err.splitlines() if w.startswith("warning:")]
        assert [w.split(" (")[0] for w in warnings] == [
            f"warning: Ignoring unsupported options: {key}" for key in
            ("build", "depends_on", "container_name", "links", "privileged", "devices", "restart")]
        assert "warning: Ignoring unsupported options: build (services.web: a swarm runs images; build and push " \
               "the image first)" in warnings
        assert of_stack(engine := swarm, stack)["services"] == [f"{stack}_db", f"{stack}_web"]
        spec = engine.services.inspect(f"{stack}_web")["Spec"]
        assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"  # deploy's, not restart: always

        only_db = f"services:\n  db:\n    image: {BUSYBOX}\n    deploy: {{replicas: 0}}\n    configs: [c]\n" \
                  "configs:\n  c: {content: one}\n"
        cell(ip, f"up --swarm -p {stack} -d --remove-orphans", only_db)  # web is no longer in the file
        assert of_stack(engine, stack)["services"] == [f"{stack}_db"]
        message = usage_error(ip, f"%%compose up --swarm -p {stack} -d\n" + only_db.replace("one", "two"))
        assert message == f"compose up: config {stack}_c exists with other content, and a config cannot change: " \
                          f"remove the stack first (%compose down --swarm -p {stack})"
    finally:
        remove_stack(swarm, stack)


@pytest.mark.parametrize("service, expected", [
    ("mem_limit: 64m", "services.web.mem_limit: unsupported by a swarm stack: set resource limits with "
                       "deploy.resources"),
    ("deploy: {mode: global, replicas: 2}", "services.web.deploy.replicas: replicas can only be used with "
                                            "replicated mode"),
    ("deploy: {mode: sometimes}", "services.web.deploy.mode: unknown mode 'sometimes': use replicated or global"),
    ("deploy: {update_config: {order: last}}", "services.web.deploy.update_config.order: 'last' is not stop-first "
                                               "or start-first"),
    ("deploy: {placement: {near: x}}", "services.web.deploy.placement: unknown key 'near'"),
    ("ports: ['127.0.0.1:8080:80']", "services.web.ports[0]: a swarm publishes a port on every interface of every "
                                     "node; it cannot publish on 127.0.0.1 only"),
    ("image: null\n    build: .", "services.web: a swarm service needs an image"),
])
def test_a_bad_file_makes_nothing(ip, swarm, stack, service, expected):
    body = f"services:\n  web:\n    image: {BUSYBOX}\n    {service}\nnetworks: {{extra: {{}}}}\n" \
           "configs: {c: {content: x}}\n"
    body = body.replace(f"image: {BUSYBOX}\n    image: null", "image: null")
    message = usage_error(ip, f"%%compose up --swarm -p {stack}\n{body}")
    assert message.startswith(f"compose up: {expected}")
    assert of_stack(swarm, stack) == NOTHING


@pytest.mark.parametrize("code, expected", [
    ("%%compose up --swarm --build -p x web\nservices: {web: {image: x}}",
     "compose up: --swarm deploys the whole file as docker stack deploy does; it does not take --build, SERVICE"),
    ("%compose down --swarm -p x --rmi all", "compose down: --swarm removes the whole stack, as docker stack rm "
                                             "does; it does not take --rmi"),
    ("%compose ps --swarm", "compose ps: no compose file in"),
])
def test_swarm_flags_that_do_not_go(ip, swarm, code, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert usage_error(ip, code).startswith(expected)


def test_plan_is_pure_and_names_everything(tmp_path):
    (tmp_path / "conf.txt").write_text("x")
    (tmp_path / "key.txt").write_text("y")
    plan = stack_plan(load_project(text=DEPLOY_KEYS, name="demo", working_dir=tmp_path))
    assert list(plan.services) == ["api", "agent"] and plan.warnings == []
    assert sorted(plan.networks) == ["demo_back", "demo_default"] and plan.external_networks == []
    assert plan.networks["demo_back"]["attachable"] and plan.networks["demo_back"]["driver"] == "overlay"
    assert plan.configs == {"demo_conf": (b"x", {NAMESPACE_LABEL: "demo"})}
    api = plan.services["api"]
    assert api["Name"] == "demo_api" and api["EndpointSpec"] == {"Mode": "dnsrr"}
    assert [n["Target"] for n in api["TaskTemplate"]["Networks"]] == ["demo_back", "demo_default"]
    with pytest.raises(ComposeFileError, match="a swarm publishes one port per target"):  # (a plan publishes nothing)
        stack_plan(load_project(text=f"services: {{a: {{image: {BUSYBOX}, ports: ['8000-8001:80']}}}}", name="d"))


def test_plan_of_ports_restart_resources_networks_and_volumes():
    text = f"""
services:
  web:
    image: {BUSYBOX}
    restart: on-failure:3
    oom_score_adj: 10
    ports: ["8080:80", {{target: 53, published: 5353, protocol: udp, mode: host, name: dns}}]
    networks: {{default: {{ipv4_address: 10.9.0.9}}}}
    volumes: [cache:/cache]
    deploy:
      resources: {{reservations: {{generic_resources: [{{discrete_resource_spec: {{kind: gpu, value: 2}}}}]}}}}
networks:
  default: {{ipam: {{config: [{{subnet: 10.9.0.0/24}}]}}, driver_opts: {{encrypted: ""}}}}
volumes:
  cache: {{driver: local, driver_opts: {{type: tmpfs, device: tmpfs}}}}
"""
    plan = stack_plan(load_project(text=text, name="d"))  # a plan creates (and publishes) nothing
    web = plan.services["web"]
    assert web["EndpointSpec"] == {"Ports": [
        {"Protocol": "udp", "TargetPort": 53, "Name": "dns", "PublishedPort": 5353, "PublishMode": "host"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"}]}
    assert web["TaskTemplate"]["RestartPolicy"] == {"Condition": "on-failure", "MaxAttempts": 3}
    assert web["TaskTemplate"]["Resources"]["Reservations"] == {
        "GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}]}
    mount, = web["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert mount["VolumeOptions"]["DriverConfig"] == {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}
    assert plan.networks["d_default"]["ipam"] == {"Config": [{"Subnet": "10.9.0.0/24"}]}
    assert plan.networks["d_default"]["options"] == {"encrypted": ""}
    assert [w.split(" (")[0] for w in plan.warnings] == ["Ignoring unsupported options: oom_score_adj",
                                                         "Ignoring unsupported options: networks.default addresses"]


def test_an_image_that_cannot_be_had_ends_with_the_tasks_errors(ip, swarm, stack):
    body = "services:\n  web:\n    image: 127.0.0.1:1/nowhere/missing:1\n    command: sleep 3600\n"
    try:  # a registry on 127.0.0.1:1 refuses at once: no public registry is contacted
        message = usage_error(ip, f"%%compose up --swarm -p {stack} --timeout 3\n{body}")
        assert message.startswith(f"compose up: service {stack}_web did not converge in 3 s: 0/1 running; tasks: ")
        assert "127.0.0.1:1/nowhere/missing:1" in message or "No such image" in message
        frame = line(ip, f"ps --swarm -p {stack}")
        assert (frame["error"] != "").any()
    finally:
        remove_stack(swarm, stack)
    assert of_stack(swarm, stack) == NOTHING


def test_not_a_swarm_manager_is_one_line(ip, second_engine, stack):
    private, other = second_engine
    ip.run_line_magic("config", f"ContainerMagics.engine_url = {private.url!r}")
    try:
        for code in (f"%%compose up --swarm -p {stack}\n{SMALL}", f"%compose ps --swarm -p {stack}",
                     f"%compose down --swarm -p {stack}"):
            message = usage_error(ip, code)
            assert message.endswith("this engine is not in a swarm: `%container swarm init` makes it a one-node "
                                    "swarm's manager"), message
        assert other.networks.list(filters={"label": [f"{NAMESPACE_LABEL}={stack}"]}) == []
    finally:
        ip.run_line_magic("config", "ContainerMagics.engine_url = None")
