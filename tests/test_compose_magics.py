"""%compose and %%compose in-process, through IPython's InteractiveShell."""

from __future__ import annotations


import pandas as pd
import pytest
import requests
import yaml
from IPython.core.error import UsageError

from conftest import BUSYBOX, compose_schema, free_port, wait_for
from jupyter_containers.compose.project import PROJECT
from jupyter_containers.engine import ExecResult

pytestmark = pytest.mark.usefixtures("busybox")


def fails(ip, code: str) -> str:
    result = ip.run_cell(code)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message and "Traceback" not in message
    return message


def cell(ip, line: str, body: str):
    return ip.run_cell_magic("compose", line, body)


def line(ip, text: str):
    return ip.run_line_magic("compose", text)


STACK = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sh -c 'mkdir -p /tmp && touch /tmp/ready && echo db-ready && exec sleep 3600'
    healthcheck: {{test: test -f /tmp/ready, interval: 200ms, retries: 20}}
  web:
    image: {BUSYBOX}
    init: true
    command: httpd -f -p 80 -h /etc
    ports: ["127.0.0.1:${{WEB_PORT:-8080}}:80"]
    depends_on: {{db: {{condition: service_healthy}}}}
"""


def test_up_ps_logs_exec_scale_down_from_cells(ip, name, engine, capsys, monkeypatch):
    port = free_port()
    monkeypatch.setenv("WEB_PORT", str(port))
    frame = cell(ip, f"up -p {name} --wait", STACK)
    out = capsys.readouterr().out
    assert f"{name}-db-1" in out and "healthy" in out and f"{name}-web-1" in out  # per-service progress
    assert isinstance(frame, pd.DataFrame) and list(frame.columns[:4]) == ["name", "service", "state", "health"]
    assert list(frame["state"]) == ["running", "running"] and frame["health"][0] == "healthy"
    def answers():
        try:
            return requests.get(f"http://127.0.0.1:{port}/hostname", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    assert wait_for(answers)  # published on loopback

    assert list(line(ip, f"ps -p {name}")["service"]) == ["db", "web"]
    assert wait_for(lambda: "db-ready" in line(ip, f"logs -p {name} db"))
    assert str(line(ip, f"logs -p {name} --tail 1 db")).strip() == f"{name}-db-1 | db-ready"
    result = line(ip, f"exec -p {name} db cat /tmp/ready")
    assert isinstance(result, ExecResult) and result.exit_code == 0
    assert line(ip, "ls").set_index("name").loc[name, "status"] == "running(2)"

    assert list(cell(ip, f"scale -p {name} db=2", STACK)["name"]) == [f"{name}-db-1", f"{name}-db-2", f"{name}-web-1"]
    line(ip, f"stop -p {name} web")
    assert dict(zip(*line(ip, f"ps -p {name}")[["name", "state"]].values.T))[f"{name}-web-1"] == "exited"
    line(ip, f"down -p {name}")
    assert "removed 3 container(s)" in capsys.readouterr().out
    assert engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]}) == []


def test_config_prints_the_resolved_file(ip, name, monkeypatch):
    monkeypatch.setenv("WEB_PORT", "9999")
    text = str(cell(ip, f"config -p {name}", STACK))
    config = yaml.safe_load(text)
    assert config["name"] == name and config["services"]["web"]["ports"][0]["published"] == "9999"
    assert config["networks"]["default"]["name"] == f"{name}_default"
    import jsonschema

    jsonschema.Draft7Validator(compose_schema()).validate(config)


def test_config_masks_what_looks_secret(ip, name, tmp_path, monkeypatch):
    (tmp_path / "db_password.txt").write_text("file-secret-42\n")
    monkeypatch.setenv("FROM_THE_KERNEL", "file-secret-42")
    body = f"""
services:
  web:
    image: {BUSYBOX}
    environment:
      DB_PASSWORD: hunter2
      api_token: tok-123
      AWS_SECRET_ACCESS_KEY: abc/xyz
      COPIED: ${{FROM_THE_KERNEL}}
      MODE: production
    build: {{context: ., args: {{SIGNING_KEY: k-789, VERSION: "2"}}}}
    secrets: [db]
secrets:
  db: {{file: {tmp_path / "db_password.txt"}}}
"""
    text = str(cell(ip, f"config -p {name}", body))
    for secret in ("hunter2", "tok-123", "abc/xyz", "file-secret-42", "k-789"):
        assert secret not in text, secret
    env = yaml.safe_load(text)["services"]["web"]["environment"]
    assert env == {"DB_PASSWORD": "***", "api_token": "***", "AWS_SECRET_ACCESS_KEY": "***", "COPIED": "***",
                   "MODE": "production"}
    assert yaml.safe_load(text)["services"]["web"]["build"]["args"] == {"SIGNING_KEY": "***", "VERSION": "2"}
    shown = yaml.safe_load(str(cell(ip, f"config -p {name} --show-secrets", body)))["services"]["web"]
    assert shown["environment"]["DB_PASSWORD"] == "hunter2" and shown["environment"]["COPIED"] == "file-secret-42"


def test_files_and_default_file(ip, name, tmp_path, engine, monkeypatch):
    (tmp_path / "compose.yaml").write_text(f"name: {name}\nservices:\n  a:\n    image: {BUSYBOX}\n"
                                           "    init: true\n    command: sleep 3600\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  a:\n    environment: {FROM: override}\n")
    monkeypatch.chdir(tmp_path)
    line(ip, "up")  # compose.yaml and its override, found in the working directory
    assert line(ip, "exec a sh -c 'echo $FROM'").output == "override\n"
    labels = engine.containers.get(f"{name}-a-1").labels
    assert labels["com.docker.compose.project.config_files"] == \
        f"{tmp_path / 'compose.yaml'},{tmp_path / 'compose.override.yaml'}"
    line(ip, f"down -f {tmp_path / 'compose.yaml'}")
    assert engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]}) == []


@pytest.mark.parametrize("code, expected", [
    ("%compose frobnicate", "compose: unknown command 'frobnicate'"),
    ("%%compose up -p jc-test-x\nservices:\n  web:\n    image: a\n    ports: ['1:2:3:4']\n",
     "compose up: <cell>: services.web.ports[0]: invalid port '1:2:3:4'"),
    ("%%compose up -p jc-test-x\nservices:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
     "compose up: dependency cycle: a -> b -> a"),
    ("%%compose up -p jc-test-x\nservices:\n  web:\n    image: ${NOPE:?set NOPE first}\n",
     "compose up: services.web.image: required variable NOPE is missing a value: set NOPE first"),
    ("%%compose up -p Bad\nservices: {}\n", "compose up: invalid project name 'Bad'"),
    ("%compose up -f /no/such/compose.yaml", "compose up: cannot read compose file /no/such/compose.yaml"),
    ("%compose scale -p jc-test-x -f /dev/null web", "compose scale: invalid scale 'web': use SERVICE=N"),
    ("%compose stop -p jc-test-nothing-here", "compose stop: no containers for project jc-test-nothing-here"),
    ("%compose ps --bogus", "compose ps: unrecognized arguments: --bogus"),
    ("%compose ls extra", "compose ls: unrecognized arguments: extra"),
])
def test_mistakes_end_the_cell_with_one_line(ip, code, expected, engine):
    assert expected in fails(ip, code)
    for project in ("jc-test-x", "jc-test-nothing-here"):  # nothing half-made
        label = {"label": [f"{PROJECT}={project}"]}
        assert engine.containers.list(all=True, filters=label) == [] and engine.networks.list(filters=label) == []


def test_help(ip, capsys):
    line(ip, "--help")
    out = capsys.readouterr().out
    for sub in ("up", "down", "ps", "logs", "start", "stop", "restart", "pull", "build", "config", "ls",
                "exec", "scale", "stats"):
        assert f"  {sub} " in out, sub
    line(ip, "up --help")
    assert "--wait-timeout" in capsys.readouterr().out


def test_logs_follow_ends_when_the_services_stop(ip, name, capsys):
    body = f"services:\n  a:\n    image: {BUSYBOX}\n    command: sh -c 'echo one; sleep 1; echo two'\n"
    cell(ip, f"up -p {name}", body)
    capsys.readouterr()
    assert line(ip, f"logs -p {name} -f") is None  # returns once the container exited
    assert capsys.readouterr().out.splitlines() == [f"{name}-a-1 | one", f"{name}-a-1 | two"]
    line(ip, f"down -p {name}")


def test_pull_and_build(ip, name, engine, registry, capsys):
    ref = f"{registry}/jc/compose-{name}:1"
    engine.images.tag(BUSYBOX, ref)
    engine.images.push(ref)
    engine.images.remove(ref)
    body = f"services:\n  a:\n    image: {ref}\n  b:\n    build:\n      dockerfile_inline: 'FROM {BUSYBOX}'\n"
    try:
        cell(ip, f"pull -p {name}", body)
        assert engine.images.exists(ref) and "pulled 1 image(s)" in capsys.readouterr().out
        cell(ip, f"build -p {name}", body)
        assert engine.images.exists(f"{name}-b")
    finally:
        for image in (ref, f"{name}-b"):
            if engine.images.exists(image):
                engine.images.remove(image, force=True)


def test_stats_of_the_stack(ip, name):
    body = (f"services:\n  a:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n"
            f"  b:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n")
    cell(ip, f"up -p {name}", body)
    try:
        frame = line(ip, f"stats -p {name} --no-stream")
        assert sorted(frame["name"]) == [f"{name}-a-1", f"{name}-b-1"] and (frame["pids"] >= 1).all()
        assert list(line(ip, f"stats -p {name} --no-stream b")["name"]) == [f"{name}-b-1"]
        assert line(ip, f"stats -p {name} --no-stream --source api b")["source"].tolist() == ["api"]
        chart = line(ip, f"stats -p {name} --interval 0.1")
        try:
            assert chart.sampler.filters == {"label": [f"com.docker.compose.project={name}"]}
            assert chart.sampler.interval == 0.1 and chart.sampler.source == "cgroup"
            wait_for(lambda: set(chart.frame()["name"]) == {f"{name}-a-1", f"{name}-b-1"}, timeout=20)
        finally:
            chart.stop()
    finally:
        line(ip, f"down -p {name}")
    assert "no running containers in project" in fails(ip, f"%compose stats -p {name} --no-stream")
