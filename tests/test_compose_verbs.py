"""The verbs and flags of ``docker compose`` beyond up/down/ps/logs/exec (run, create, kill, rm, pause,
unpause, top, port, images, cp, events, wait, version; up's --abort-on-container-exit, --exit-code-from,
--pull, --no-start, --wait-timeout; logs' --since/--until/-t/--no-log-prefix/--index; build's --no-cache
and --build-arg; down's --rmi), through %compose against the real engine. Where Debian's docker-compose
1.29 does the same job (run, port, top, images) it is the reference."""

from __future__ import annotations

import json
import re
import shlex
import socket
import sys
import threading
import time

import pytest

from differential import docker_compose
from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error, wait_for
from differential import differences, state
from jupyter_containers.compose.project import NUMBER, ONEOFF, PROJECT
from jupyter_containers.engine.records import Container
from jupyter_containers.engine.containers import Containers
from jupyter_containers.policy import action_of

pytestmark = pytest.mark.usefixtures("busybox")

LABELS = f'labels: {{{TEST_LABEL}: "{RUN_ID}"}}'  # what docker-compose 1.29 makes is cleaned up too
STACK = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sh -c 'mkdir -p /tmp && touch /tmp/ready && exec sleep 3600'
    healthcheck: {{test: test -f /tmp/ready, interval: 100ms, retries: 50}}
    {LABELS}
  web:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    restart: always
    environment: {{A: from-file}}
    ports: ["127.0.0.1::80"]
    expose: ["90"]
    links: [db]
    depends_on: {{db: {{condition: service_healthy}}}}
    {LABELS}
  tool:
    image: {BUSYBOX}
    profiles: [tools]
    command: echo tool-ok
    {LABELS}
"""


def cell(ip, line: str, body: str):
    return ip.run_cell_magic("compose", line, body)


def line(ip, text: str):
    return ip.run_line_magic("compose", text)


def mine(engine, name: str) -> list:
    return engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]})


@pytest.fixture
def compose_1_29(engine, tmp_path):
    """Debian's docker-compose 1.29 in tmp_path (where compose.yaml is), on the same engine."""
    (tmp_path / "compose.yaml").write_text(STACK)

    def run(*args: str) -> str:
        done = docker_compose(engine, tmp_path, *args, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


# -- run ------------------------------------------------------------------------------------------
def test_run_in_the_foreground_starts_dependencies_and_returns_the_exit_code(ip, name, engine, capfd):
    try:
        code = cell(ip, f"run --project-name {name} --rm -e B=bee web sh -c 'echo $A $B; cat; echo err >&2; exit 3'",
                    STACK)  # cat ends at once: a notebook has no stdin to give, it is closed
        assert code == 3
        out, err = capfd.readouterr()
        assert "from-file bee" in out.splitlines() and "err" in err.splitlines()
        left = {c.name: c for c in mine(engine, name)}
        assert list(left) == [f"{name}-db-1"] and left[f"{name}-db-1"].health == "healthy"  # --rm: no one-off
        assert cell(ip, f"run --project-name {name} --rm tool", STACK) == 0  # its profile is not active: as v2,
        assert "tool-ok" in capfd.readouterr().out.splitlines()  # run enables it
        handle = cell(ip, f"run --project-name {name} -d --no-deps -l team=nb web sleep 300", STACK)
        assert isinstance(handle, Container) and handle.state == "running"
        assert re.fullmatch(rf"{name}-web-run-[0-9a-f]{{12}}", handle.name)
        raw = engine.containers.inspect(handle.id)
        labels = raw["Config"]["Labels"]
        assert labels[ONEOFF] == "True" and re.fullmatch("[0-9a-f]{64}", labels["com.docker.compose.slug"])
        assert NUMBER not in labels and labels["team"] == "nb" and labels[f"{PROJECT}"] == name
        assert raw["HostConfig"]["RestartPolicy"]["Name"] in ("", "no") and not raw["HostConfig"]["PortBindings"]
        assert raw["Config"]["OpenStdin"] and not raw["Config"]["Tty"]
        assert list(line(ip, f"ps -p {name}")["name"]) == [f"{name}-db-1"]  # one-offs are not the service's
        line(ip, f"down -p {name} --remove-orphans")  # as v2: one-offs are removed with the orphans
        assert mine(engine, name) == []
    finally:
        line(ip, f"down -p {name} --remove-orphans")


def test_run_makes_what_docker_compose_run_makes(ip, name, engine, tmp_path, compose_1_29):
    theirs, ours = f"{name}a", f"{name}b"
    flags = "-d -T -e K=V --entrypoint 'sh -c' -u 1000:1000 -w /tmp -p 127.0.0.1::81 -l x=y"
    try:
        made = compose_1_29("-p", theirs, "run", *shlex.split(flags), "web", "echo hi; sleep 100").split()[-1]
        assert re.fullmatch(rf"{theirs}_web_run_[0-9a-f]{{12}}", made)
        handle = line(ip, f"run --project-name {ours} -f {tmp_path / 'compose.yaml'} {flags} web 'echo hi; sleep 100'")
        names = {made: "ONEOFF", handle.name: "ONEOFF", f"{theirs}_db_1": "DB", f"{ours}-db-1": "DB",
                 "db_1": "db-N", "db-1": "db-N", theirs: "P", ours: "P"}
        for db in (f"{theirs}_db_1", f"{ours}-db-1"):
            names[engine.containers.inspect(db)["Id"]] = "DB-ID"
        problems = differences(state(engine, made, names), state(engine, handle.name, names))
        # v2 creates every container with AttachStdout/AttachStderr and a one-off with AttachStdin/StdinOnce
        # (its -i default); 1.29 sets them only for a foreground run: the one place we follow v2, not 1.29
        attach = {f".Config.{k}" for k in ("AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce")}
        assert {p.split(":")[0] for p in problems} <= attach, "\n".join(problems)
        assert len(problems) == 4  # and they are as v2 makes them (see above): the comparison sees them
    finally:
        compose_1_29("-p", theirs, "down", "--remove-orphans", "-t", "0")
        line(ip, f"down -p {ours} --remove-orphans -t 0")


def test_bad_runs_say_what_is_wrong_and_leave_nothing(ip, name, engine):
    for flags, expected in (
            ("nope true", "compose run: no such service: 'nope' (services: db, web)"),
            ("--service-ports -p 81 web true", "compose run: --service-ports and --publish are incompatible"),
            ("--no-deps -e =x web true", "compose run: invalid environment variable '=x': use KEY=VALUE or KEY"),
            ("--no-deps --pull never web true", "compose run: image jc-test/missing:1 is not on this engine and "
                                                "--pull never forbids pulling it")):
        body = STACK.replace(f"image: {BUSYBOX}\n    init: true\n    command: sleep 3600",
                             "image: jc-test/missing:1\n    init: true\n    command: sleep 3600")
        assert usage_error(ip, f"%%compose run --project-name {name} {flags}\n{body}") == expected
    assert mine(engine, name) == [] and engine.networks.list(filters={"label": [f"{PROJECT}={name}"]}) == []
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            message = usage_error(ip, f"%%compose run --project-name {name} --no-deps -p 127.0.0.1:{port}:80 web "
                                      f"true\n{STACK}")
        assert message == f"compose run: port 127.0.0.1:{port} is already allocated; choose another host port or " \
                          "stop what uses it"
        assert mine(engine, name) == []  # the one-off that could not start is gone
    finally:
        line(ip, f"down -p {name}")


# -- up: attached, --no-start, create, --pull, --wait-timeout ---------------------------------------------
ENDS = f"""
services:
  job:
    image: {BUSYBOX}
    command: sh -c 'echo working; exit 7'
  side:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
"""


def test_up_exit_code_from_follows_then_stops_the_others(ip, name, engine, capsys):
    assert usage_error(ip, f"%%compose up -p {name} --exit-code-from nope\n{ENDS}") == \
        "compose up: --exit-code-from nope: the service is not a service of this file (services: job, side)"
    assert usage_error(ip, f"%%compose up -p {name} -d --abort-on-container-exit\n{ENDS}") == \
        "compose up: --detach cannot be combined with --abort-on-container-exit or --exit-code-from"
    assert mine(engine, name) == []
    try:
        capsys.readouterr()
        assert cell(ip, f"up -p {name} --exit-code-from job -t 1", ENDS) == 7
        out = capsys.readouterr().out.splitlines()
        assert f"{name}-job-1  | working" in out and f"{name}-job-1 exited with code 7" in out
        assert "Aborting on container exit..." in out
        assert {c.name: c.state for c in mine(engine, name)} == {f"{name}-job-1": "exited", f"{name}-side-1": "exited"}
        assert cell(ip, f"up -p {name} --abort-on-container-exit", ENDS) == 7  # the first that stopped
        assert capsys.readouterr().out.count("working") == 2  # its output from the start, of both runs
    finally:
        line(ip, f"down -p {name} -t 0")


def test_create_no_start_and_pull_never(ip, name, engine):
    missing = ENDS.replace(f"image: {BUSYBOX}\n    init: true", "image: jc-test/missing:1\n    init: true")
    assert usage_error(ip, f"%%compose up -p {name} --pull never\n{missing}") == \
        "compose up: image jc-test/missing:1 is not on this engine and --pull never forbids pulling it"
    assert mine(engine, name) == []
    try:
        frame = cell(ip, f"create -p {name} --pull never", ENDS)
        assert set(frame["state"]) == {"created"}
        assert set(cell(ip, f"up -p {name} --no-start side", ENDS)["state"]) == {"created"}
        assert usage_error(ip, f"%%compose up -p {name} --scale nope=2\n{ENDS}").startswith(
            "compose up: no such service: 'nope'")
    finally:
        line(ip, f"down -p {name}")


def test_up_pull_always_takes_the_registry_s_image(ip, name, engine, registry):
    ref = f"{registry}/jc/verbs-{name}:1"
    newer = engine.images.build(dockerfile=f"FROM {BUSYBOX}\nLABEL jc.test.newer={name}", tag=ref)
    engine.images.push(ref)
    engine.images.tag(BUSYBOX, ref)  # here, the reference names an older image than the registry's
    body = f"services:\n  a:\n    image: {ref}\n    init: true\n    command: sleep 3600\n"
    try:
        cell(ip, f"up -p {name}", body)  # missing (the default): the image here
        assert engine.containers.inspect(f"{name}-a-1")["Image"] != newer.id
        cell(ip, f"up -p {name} --pull always", body)  # pulled: the container is recreated on it
        assert engine.containers.inspect(f"{name}-a-1")["Image"] == newer.id
    finally:
        line(ip, f"down -p {name} -t 0")
        for image in (ref, newer.id):
            if engine.images.exists(image):
                engine.images.remove(image, force=True)


def test_wait_timeout_bounds_the_wait_for_a_dependency(ip, name, engine):
    slow = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    healthcheck: {{test: 'true', interval: 60s, start_period: 60s}}
  web:
    image: {BUSYBOX}
    command: 'true'
    depends_on: {{db: {{condition: service_healthy}}}}
"""
    started = time.monotonic()
    try:
        message = usage_error(ip, f"%%compose up -p {name} --wait-timeout 1\n{slow}")
        assert time.monotonic() - started < 30  # not the 300 s that a dependency may take without it
        assert message.startswith("compose up: service web: db did not become healthy within 1 s")
    finally:
        line(ip, f"down -p {name} -t 0")


# -- kill, pause, rm, top, port, images ---------------------------------------------------------------
def _top_1_29(text: str) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for block in text.strip().split("\n\n"):
        rows = block.splitlines()
        titles = rows[1].split()
        out[rows[0]] = [(cells[titles.index("PID")], cells[-1].strip()) for cells in
                        (row.split(None, len(titles) - 1) for row in rows[3:])]
    return out


def test_port_top_images_as_docker_compose_shows_them_then_pause_kill_rm(ip, name, engine, tmp_path, compose_1_29,
                                                                      capsys):
    file = tmp_path / "compose.yaml"
    line(ip, f"up -p {name} -f {file}")
    try:
        assert str(line(ip, f"port -p {name} web 80")) == compose_1_29("-p", name, "port", "web", "80").strip()
        assert usage_error(ip, f"%compose port -p {name} web 81") == \
            f"compose port: no port 81/tcp for container {name}-web-1: published: 80/tcp"
        assert usage_error(ip, f"%compose port -p {name} -f {file} nope 80").startswith(
            "compose port: no such service: 'nope'")
        tops = line(ip, f"top -p {name}")
        assert list(tops) == [f"{name}-db-1", f"{name}-web-1"] and "<h4>" in tops._repr_html_()
        assert {n: list(zip(f["PID"], f["CMD"])) for n, f in tops.items()} == \
            _top_1_29(compose_1_29("-p", name, "top"))
        frame = line(ip, f"images -p {name}")
        assert list(frame.columns) == ["container", "repository", "tag", "image_id", "size"]
        theirs = [row.split() for row in compose_1_29("-p", name, "images").splitlines()[2:]]
        assert [list(r[:4]) + [round(r[4] / 1e6, 3)] for r in frame.itertuples(index=False)] == \
            [[*cells[:4], float(cells[4])] for cells in theirs]  # 1.29: MB with 3 decimals

        line(ip, f"pause -p {name} web")
        assert engine.containers.get(f"{name}-web-1").state == "paused"
        line(ip, f"unpause -p {name}")
        assert engine.containers.get(f"{name}-web-1").state == "running"
        assert usage_error(ip, f"%compose kill -p {name} -s SIGFOO") == \
            "compose kill: invalid signal 'SIGFOO': give a name (SIGTERM, HUP, ...) or a number from 1 to 64"
        capsys.readouterr()
        line(ip, f"rm -p {name} -f")
        assert "No stopped containers" in capsys.readouterr().out
        line(ip, f"kill -p {name} -s TERM db")
        assert wait_for(lambda: engine.containers.get(f"{name}-db-1").state == "exited")
        assert engine.containers.inspect(f"{name}-db-1")["State"]["ExitCode"] == 143  # TERM, not KILL
        line(ip, f"rm -p {name} -f")
        assert f"removed: {name}-db-1" in capsys.readouterr().out and not engine.containers.exists(f"{name}-db-1")
        line(ip, f"rm -p {name} -s -f web")  # -s: stopped first
        assert f"removed: {name}-web-1" in capsys.readouterr().out and mine(engine, name) == []
    finally:
        line(ip, f"down -p {name} -t 0")


# -- logs, build, down --rmi, cp ------------------------------------------------------------------------
def test_logs_flags(ip, name):
    body = f"services:\n  a:\n    image: {BUSYBOX}\n    command: sh -c 'echo one; echo two; echo three'\n    scale: 2\n"
    cell(ip, f"up -p {name}", body)
    try:
        wait_for(lambda: str(line(ip, f"logs -p {name} --index 1")).count("\n") == 3)
        stamped = str(line(ip, f"logs -p {name} -t --no-log-prefix --index 1")).splitlines()
        stamps = [row.split()[0] for row in stamped]
        assert [row.split()[1] for row in stamped] == ["one", "two", "three"]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", s) for s in stamps)
        assert str(line(ip, f"logs -p {name} --index 1 --since {stamps[1]} --until {stamps[1]}")) == \
            f"{name}-a-1 | two\n"
        assert str(line(ip, f"logs -p {name} -n 1 --index 1 --no-log-prefix")) == "three\n"
        assert usage_error(ip, f"%compose logs -p {name} --since yesterday").startswith(
            "compose logs: argument --since: ")
    finally:
        line(ip, f"down -p {name}")


def test_build_flags_and_down_rmi_local(ip, name, engine, capsys):
    body = f"""
services:
  b:
    build:
      dockerfile_inline: |
        FROM {BUSYBOX}
        ARG GREETING=none
        RUN echo "$$GREETING" > /greeting
    command: cat /greeting
  plain:
    image: {BUSYBOX}
    command: 'true'
"""
    try:
        cell(ip, f"build -p {name} --build-arg GREETING=hello", body)
        built = engine.images.inspect(f"{name}-b")["Id"]
        capsys.readouterr()
        assert cell(ip, f"run --project-name {name} --rm b", body) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "hello"
        cell(ip, f"build -p {name} --build-arg GREETING=hello", body)
        assert engine.images.inspect(f"{name}-b")["Id"] == built  # the cache
        cell(ip, f"build -p {name} --build-arg GREETING=hello --no-cache -q", body)
        assert engine.images.inspect(f"{name}-b")["Id"] != built
        cell(ip, f"up -p {name}", body)
        cell(ip, f"down -p {name} --rmi local", body)
        assert not engine.images.exists(f"{name}-b") and engine.images.exists(BUSYBOX)  # only the built one
        assert "removed 1 image(s)" in capsys.readouterr().out
    finally:
        line(ip, f"down -p {name}")
        if engine.images.exists(f"{name}-b"):
            engine.images.remove(f"{name}-b", force=True)


def test_cp_both_ways(ip, name, tmp_path, engine, capsys):
    body = f"services:\n  a:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n    scale: 2\n"
    (tmp_path / "note.txt").write_text("hello\n")
    cell(ip, f"up -p {name}", body)
    try:
        line(ip, f"cp -p {name} {tmp_path / 'note.txt'} a:/note.txt")  # to every replica
        assert [line(ip, f"exec -p {name} --index {i} a cat /note.txt").output for i in (1, 2)] == ["hello\n"] * 2
        line(ip, f"exec -p {name} --index 2 a sh -c 'echo two > /note.txt'")
        line(ip, f"cp -p {name} --index 2 a:/note.txt {tmp_path / 'back.txt'}")
        assert (tmp_path / "back.txt").read_text() == "two\n"
        line(ip, f"cp -p {name} a:/note.txt {tmp_path / 'first.txt'}")  # from the first
        assert (tmp_path / "first.txt").read_text() == "hello\n"
        assert usage_error(ip, f"%compose cp -p {name} a:/x a:/y") == \
            "compose cp: copying between services is not supported; copy to the host and back"
        assert usage_error(ip, f"%compose cp -p {name} /x /y").startswith("compose cp: unknown copy direction")
        assert usage_error(ip, f"%compose cp -p {name} --index 3 a:/x /tmp/y") == \
            f"compose cp: service 'a' is not running container #3 in project {name}"
    finally:
        line(ip, f"down -p {name}")


# -- events, wait, version, help, policy ------------------------------------------------------------------
def test_events_between_two_times(ip, name, engine, capsys):
    body = f"services:\n  a:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n"
    cell(ip, f"up -p {name}", body)
    try:
        since = time.time()
        line(ip, f"pause -p {name}")
        line(ip, f"unpause -p {name}")
        once = cell(ip, f"run --project-name {name} -d --name {name}-once a true", body)  # a one-off's events
        assert once.name == f"{name}-once" and once.labels[ONEOFF] == "True"  # are not the project's
        until = time.time() + 0.5
        capsys.readouterr()
        line(ip, f"events -p {name} --since {since:.6f} --until {until:.6f}")  # ends by itself
        rows = capsys.readouterr().out.splitlines()
        actions = [row.split()[3] for row in rows]
        assert actions == ["pause", "unpause"], rows
        container = engine.containers.get(f"{name}-a-1")
        assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} container pause {container.id} \(.*"
                            rf"name={name}-a-1.*\)", rows[0])
        line(ip, f"events -p {name} --json --since {since:.6f} --until {until:.6f} a")
        first = json.loads(capsys.readouterr().out.splitlines()[0])
        assert first["action"] == "pause" and first["service"] == "a" and first["id"] == container.id
        assert first["attributes"]["name"] == f"{name}-a-1" and PROJECT not in first["attributes"]
    finally:
        line(ip, f"down -p {name} --remove-orphans")


def test_wait_returns_the_exit_codes_and_down_project(ip, name, engine):
    body = f"""
services:
  a:
    image: {BUSYBOX}
    command: sh -c 'while [ ! -f /go ]; do sleep 0.05; done; exit 3'
  b:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
"""
    cell(ip, f"up -p {name}", body)
    failures = []

    def release() -> None:  # once `wait` waits on the engine: the container ends
        try:
            def waiting():
                return any(frame.f_code is Containers.wait.__code__ for top in sys._current_frames().values()
                           for frame in _frames(top))
            wait_for(waiting, timeout=20, message="wait to call the engine")
            engine.containers.exec(f"{name}-a-1", "touch /go")
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    try:
        helper = threading.Thread(target=release)
        helper.start()
        codes = line(ip, f"wait -p {name} --down-project a b")
        helper.join()
        assert not failures, failures
        assert codes[f"{name}-a-1"] == 3 and codes[f"{name}-b-1"] in (137, 143)
        assert mine(engine, name) == []  # --down-project
        assert usage_error(ip, f"%compose wait -p {name} a") == f"compose wait: no containers for project {name} " \
                                                                "(services: a)"
    finally:
        line(ip, f"down -p {name} -t 0")


def _frames(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


def test_version_help_and_policy(ip, capsys):
    from jupyter_containers import __version__

    assert str(line(ip, "version --short")) == __version__
    assert json.loads(str(line(ip, "version -f json"))) == {"version": __version__, "compose": "v2.0.0"}
    assert str(line(ip, "version")) == f"jupyter-containers compose version {__version__}, following Docker " \
                                       "Compose v2.0.0"
    line(ip, "--help")
    out = capsys.readouterr().out
    for verb, short in (("run", "Run a one-off command on a service"), ("create", "Creates containers for a service"),
                        ("kill", "Force stop service containers"), ("rm", "Removes stopped service containers"),
                        ("pause", "Pause services"), ("unpause", "Unpause services"),
                        ("top", "Display the running processes"), ("port", "Print the public port for a port binding"),
                        ("images", "List images used by the created containers"),
                        ("cp", "Copy files/folders between a service container and the local filesystem"),
                        ("events", "Receive real time events from containers"),
                        ("wait", "Block until containers of all (or specified) services stop."),
                        ("version", "Show the Docker Compose version information"),
                        ("up", "Create and start containers"), ("logs", "View output from containers")):
        assert re.search(rf"^  {verb} +{re.escape(short)}$", out, re.M), verb
    for verb, flag, words in (("up", "--exit-code-from", "Return the exit code of the selected service container"),
                              ("up", "--no-start", "Don't start the services after creating them."),
                              ("logs", "--no-log-prefix", "Don't print prefix in logs"),
                              ("down", "--rmi", 'Remove images used by services. "local" remove only images'),
                              ("build", "--no-cache", "Do not use cache when building the image"),
                              ("run", "--service-ports", "Run command with all service's ports enabled")):
        line(ip, f"{verb} --help")
        text = " ".join(capsys.readouterr().out.split())
        assert flag in text and words in text, (verb, flag)
    for verb, action in (("run", "run"), ("create", "run"), ("kill", "kill"), ("rm", "remove"), ("pause", "pause"),
                         ("unpause", "unpause"), ("top", "inspect"), ("port", "inspect"), ("images", "inspect"),
                         ("cp", "exec"), ("events", "list"), ("wait", "list"), ("version", "list")):
        assert action_of("compose", verb) == ("compose", action)


def test_periodic_pull_policies_pull_an_image_older_than_their_period(ip, name, engine, registry):
    from datetime import datetime, timezone

    ref = f"{registry}/jc/verbs-{name}:2"
    newer = engine.images.build(dockerfile=f"FROM {BUSYBOX}\nLABEL jc.test.newer={name}-2", tag=ref)
    engine.images.push(ref)
    engine.images.tag(BUSYBOX, ref)  # tagged here just now: an older image than the registry's

    def tagged_seconds_ago() -> float:
        stamp = engine.images.inspect(ref)["Metadata"]["LastTagTime"]
        return (datetime.now(timezone.utc) - datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")).total_seconds()

    body = "services:\n  a:\n    image: {ref}\n    init: true\n    command: sleep 3600\n    pull_policy: {policy}\n"
    try:
        cell(ip, f"up -p {name}", body.format(ref=ref, policy="daily"))  # tagged today: not pulled
        assert engine.containers.inspect(f"{name}-a-1")["Image"] != newer.id
        wait_for(lambda: tagged_seconds_ago() > 1.5, 10, message="the tag to be older than every_1s")
        cell(ip, f"up -p {name}", body.format(ref=ref, policy="refresh\n    pull_refresh_after: 1d"))
        assert engine.containers.inspect(f"{name}-a-1")["Image"] != newer.id  # refreshed after a day: not yet
        cell(ip, f"up -p {name}", body.format(ref=ref, policy="every_1s"))  # older than its period: pulled
        assert engine.containers.inspect(f"{name}-a-1")["Image"] == newer.id
    finally:
        line(ip, f"down -p {name} -t 0")
        for image in (ref, newer.id):
            if engine.images.exists(image):
                engine.images.remove(image, force=True)


@pytest.mark.parametrize("policy", ["hourly", "every_", "every_5x"])
def test_a_bad_pull_policy_is_one_line(ip, policy):
    message = usage_error(ip, f"%%compose up -p x\nservices:\n  a:\n    image: {BUSYBOX}\n    pull_policy: {policy}\n")
    assert f"services.a.pull_policy: invalid pull_policy {policy!r}" in message
