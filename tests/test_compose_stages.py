"""The pure stages of compose, each alone: load/merge, interpolation, validation, graph, plan, project."""

from __future__ import annotations


import pytest
import yaml

from conftest import compose_schema
from jupyter_containers.compose import ComposeFileError, load_project
from jupyter_containers.compose import graph, load
from jupyter_containers.compose.interpolate import interpolate, substitute
from jupyter_containers.compose.models import parse_duration
from jupyter_containers.engine.spec_parse import parse_size
from jupyter_containers.compose.plan import make_plan
from jupyter_containers.compose.project import CONFIG_HASH, NUMBER, ONEOFF, PROJECT, SERVICE
from jupyter_containers.engine.records import Container

IMAGE = "jupyter-containers/busybox:test"


# -- interpolation ---------------------------------------------------------------------------------
ENV = {"NAME": "web", "EMPTY": "", "PORT": "8080"}


@pytest.mark.parametrize("text, expected", [
    ("$NAME", "web"), ("${NAME}", "web"), ("x${NAME}y", "xweby"),
    ("${MISSING:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"), ("${EMPTY-dflt}", ""),
    ("${MISSING-dflt}", "dflt"), ("${NAME:-dflt}", "web"), ("$$NAME", "$NAME"), ("a$$", "a$"),
    ("${MISSING:-${NAME}-x}", "web-x"), ("${NAME:+set}", "set"), ("${EMPTY:+set}", ""),
    ("${EMPTY+set}", "set"), ("${MISSING}", ""), ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
])
def test_substitute(text, expected):
    assert substitute(text, ENV) == expected


def test_required_variable_error_names_the_path():
    with pytest.raises(ComposeFileError) as info:
        interpolate({"services": {"web": {"image": "${TAG:?set TAG to the release}"}}}, ENV)
    assert str(info.value) == "services.web.image: required variable TAG is missing a value: set TAG to the release"
    with pytest.raises(ComposeFileError, match=r"services.web.ports\[0\]: required variable EMPTY"):
        interpolate({"services": {"web": {"ports": ["${EMPTY:?}"]}}}, ENV)
    assert interpolate({"x": "${EMPTY?}"}, ENV) == {"x": ""}  # only unset counts without the colon


@pytest.mark.parametrize("text", ["${", "${NAME", "$1", "${1A}", "${NAME!x}", "cost: 5$"])
def test_bad_interpolation_is_one_line(text):
    with pytest.raises(ComposeFileError, match=r"^services.a.command: invalid interpolation"):
        interpolate({"services": {"a": {"command": text}}}, ENV)


def test_missing_variable_warns_once_and_keys_are_left_alone():
    warnings = []
    out = interpolate({"$KEY": ["$NOPE", "$NOPE"], "n": 3}, ENV, warnings=warnings)
    assert out == {"$KEY": ["", ""], "n": 3}
    assert warnings == ['the "NOPE" variable is not set; using a blank string']


# -- loading and merging -------------------------------------------------------------------------------
def test_yaml_error_names_file_and_line():
    with pytest.raises(ComposeFileError) as info:
        load.parse(load.Source("a.yaml", "services:\n  web:\n    image: [unclosed\n"))
    assert str(info.value).startswith("a.yaml: line ") and "invalid YAML" in str(info.value)
    with pytest.raises(ComposeFileError, match="a compose file is a mapping"):
        load.parse(load.Source("<cell>", "- a\n- b\n"))


def test_merge_follows_the_compose_rules():
    base = {"services": {"web": {
        "image": "a", "command": ["sh", "-c", "x"], "environment": ["A=1", "B=2"], "ports": ["80"],
        "volumes": ["data:/data", "./src:/src"], "depends_on": ["db"], "labels": {"k": "v"},
        "healthcheck": {"test": ["CMD", "a"], "interval": "1s"}}}, "volumes": {"data": {}}}
    override = {"services": {"web": {
        "image": "b", "command": ["echo"], "environment": {"B": "3", "C": "4"}, "ports": ["81"],
        "volumes": ["other:/data"], "depends_on": {"cache": {"condition": "service_healthy"}},
        "healthcheck": {"test": ["CMD", "b"]}}, "cache": {"image": "c"}}, "volumes": {"other": {}}}
    web = load.merge([base, override])["services"]["web"]
    assert web["image"] == "b" and web["command"] == ["echo"]
    assert web["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert web["ports"] == ["80", "81"]
    assert web["volumes"] == ["other:/data", "./src:/src"]  # merged by target
    assert web["depends_on"] == {"db": None, "cache": {"condition": "service_healthy"}}
    assert web["healthcheck"] == {"test": ["CMD", "b"], "interval": "1s"}
    assert web["labels"] == {"k": "v"}


def test_default_files_and_override(tmp_path):
    with pytest.raises(ComposeFileError, match="no compose file in"):
        load.find_files(tmp_path)
    (tmp_path / "docker-compose.yml").write_text(f"services:\n  a:\n    image: {IMAGE}\n    command: one\n")
    (tmp_path / "docker-compose.override.yml").write_text("services:\n  a:\n    command: two\n")
    assert [p.name for p in load.find_files(tmp_path)] == ["docker-compose.yml", "docker-compose.override.yml"]
    project = load_project(working_dir=tmp_path, env={})
    assert project.services["a"].command == ["two"]
    assert project.name == load_project(working_dir=tmp_path, env={}).name  # from the directory


def test_env_file_and_dotenv(tmp_path):
    (tmp_path / ".env").write_text('# comment\nTAG=1.2\nexport GREETING="hi there" # c\nQ=\'$x\'\n')
    (tmp_path / "app.env").write_text("FROM_FILE=yes\nOVERRIDDEN=file\nTAG_COPY=${TAG}\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: jc-test/app:${TAG}\n    env_file: app.env\n"
        "    environment:\n      OVERRIDDEN: env\n      G: $GREETING\n      FROM_SHELL:\n")
    project = load_project(working_dir=tmp_path, env={"FROM_SHELL": "shell", "TAG": "9"})
    svc = project.services["a"]
    assert svc.image == "jc-test/app:9"  # the process environment wins over .env
    assert svc.environment == {"FROM_FILE": "yes", "OVERRIDDEN": "env", "TAG_COPY": "9", "G": "hi there",
                               "FROM_SHELL": "shell"}
    assert load.parse_env_text("Q='$x'\nBARE\n") == {"Q": "$x", "BARE": None}
    with pytest.raises(ComposeFileError, match=r"^\.env: line 1: expected KEY=VALUE"):
        load.parse_env_text("not a line\n")
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n    env_file: missing.env\n")
    with pytest.raises(ComposeFileError, match="env file .*missing.env not found"):
        load_project(working_dir=tmp_path, env={})


# -- validation ------------------------------------------------------------------------------------------
def bad(text: str) -> str:
    with pytest.raises(ComposeFileError) as info:
        load_project(text=text, name="p", env={})
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("body, expected", [
    ("services:\n  web:\n    image: a\n    ports: ['99999:80']\n",
     "<cell>: services.web.ports[0]: invalid port '99999:80': ports go from 1 to 65535"),
    ("services:\n  web:\n    image: a\n    ports: ['x:80']\n", "<cell>: services.web.ports[0]: invalid port 'x:80'"),
    ("services:\n  web:\n    image: a\n    imgae: b\n", "<cell>: services.web.imgae: unknown key 'imgae'"),
    ("services:\n  web:\n    image: a\n    credential_spec: {file: x}\n",
     "<cell>: services.web.credential_spec: 'credential_spec' is a Windows container feature"),
    ("services:\n  web:\n    image: a\n    network_mode: host\n    networks: [x]\n",
     "services.web: network_mode and networks cannot be combined"),
    ("services:\n  web:\n    image: a\n    restart: sometimes\n", "services.web.restart: invalid restart policy"),
    ("services:\n  web:\n    image: a\n    healthcheck: {test: 'true', interval: soon}\n",
     "services.web.healthcheck.interval: invalid duration 'soon'"),
    ("services:\n  web:\n    image: a\n    volumes: ['data:relative']\n",
     "services.web.volumes[0]: the target 'relative' must be an absolute path"),
    ("services:\n  web:\n    image: a\n    depends_on: {db: {condition: service_ready}}\n",
     "services.web.depends_on.db.condition: Input should be"),
    ("services:\n  web:\n    build: .\n    deploy: {replicas: -1}\n", "services.web.deploy.replicas:"),
    ("services:\n  web:\n    command: echo\n", "services.web: needs an image or a build"),
    ("services:\n  web:\n    image: a\n    depends_on: [db]\n", "services.web.depends_on: 'db' is not a service"),
    ("services:\n  web:\n    image: a\n    volumes: ['data:/d']\n",
     "services.web.volumes[0]: named volume 'data' is not declared"),
    ("services:\n  web:\n    image: a\n    networks: [back]\n", "services.web.networks: 'back' is not declared"),
    ("services:\n  web:\n    image: a\n    container_name: x\n    scale: 2\n", "allows one replica, not 2"),
    ("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n"
     "  c: {image: x, depends_on: [a]}\n", "dependency cycle: a -> b -> c -> a"),
    ("services:\n  web:\n    image: a\nsecrets:\n  s: {environment: X, file: y}\n",
     "secrets.s: give one of file:, environment: or content:"),
    ("services: [a]\n", "<cell>: services: Input should be a valid dictionary"),
])
def test_validation_messages_name_the_path(body, expected):
    assert expected in bad(body)


def test_validation_names_the_file_it_came_from(tmp_path):
    (tmp_path / "base.yaml").write_text("services:\n  web:\n    image: a\n")
    (tmp_path / "over.yaml").write_text("services:\n  web:\n    ports: ['1:2:3:4']\n")
    with pytest.raises(ComposeFileError, match=r"over.yaml: services.web.ports\[0\]: invalid port"):
        load_project([tmp_path / "base.yaml", tmp_path / "over.yaml"], env={})


def test_short_syntax_is_normalised():
    project = load_project(text=f"""
services:
  web:
    image: {IMAGE}
    command: sh -c 'echo "a b"'
    ports: ["8080:80", "127.0.0.1:9000-9001:90/udp", 7000, "[::1]:8443:443"]
    volumes: ["data:/data:ro", "./src:/src", "/anon", {{type: tmpfs, target: /t, tmpfs: {{size: 1m}}}}]
    environment: [A=1, B]
    extra_hosts: {{db: 10.0.0.2}}
    ulimits: {{nofile: 1024, nproc: {{soft: 10, hard: 20}}}}
    healthcheck: {{test: wget -q -O- http://127.0.0.1/, interval: 1m30s, timeout: 500ms}}
    deploy: {{replicas: 3, resources: {{limits: {{cpus: '0.5', memory: 64m}}}}}}
volumes:
  data:
""", name="p", env={"B": "from-env"}, working_dir="/tmp")
    web = project.services["web"]
    assert web.command == ["sh", "-c", 'echo "a b"']
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in web.ports] == [
        (None, "8080", 80, "tcp"), ("127.0.0.1", "9000-9001", 90, "udp"), (None, None, 7000, "tcp"),
        ("::1", "8443", 443, "tcp")]
    assert [(m.type, m.source, m.target, m.read_only) for m in web.volumes] == [
        ("volume", "data", "/data", True), ("bind", "/tmp/src", "/src", False), ("volume", None, "/anon", False),
        ("tmpfs", None, "/t", False)]
    assert web.volumes[3].tmpfs.size == 1024 * 1024
    assert web.environment == {"A": "1", "B": "from-env"}
    assert web.extra_hosts == ["db:10.0.0.2"]
    assert web.healthcheck.test == ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"]
    assert (web.healthcheck.interval, web.healthcheck.timeout) == (90, 0.5)
    assert web.replicas == 3 and web.deploy.resources.limits.memory == 64 * 1024 ** 2
    spec = project.create_spec("web", 2)
    assert spec.name == "p-web-2" and spec.nano_cpus == 500_000_000 and spec.memory == 64 * 1024 ** 2
    assert spec.port_bindings["90/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "9000-9001"}]
    assert spec.binds == ["/tmp/src:/src:rw"] and spec.volumes == {"/anon": {}}
    assert {"Type": "volume", "Source": "p_data", "Target": "/data", "ReadOnly": True} in spec.mounts
    assert spec.ulimits == [{"Name": "nofile", "Soft": 1024, "Hard": 1024}, {"Name": "nproc", "Soft": 10, "Hard": 20}]
    assert spec.healthcheck["Interval"] == 90 * 10 ** 9
    assert list(spec.endpoints) == ["p_default"] and spec.endpoints["p_default"].aliases == ["web"]


def test_durations_and_sizes():
    assert parse_duration("1h2m3s") == 3723 and parse_duration("250ms") == 0.25 and parse_duration(5) == 5
    assert parse_size("1g") == 1024 ** 3 and parse_size("512") == 512 and parse_size(7) == 7
    with pytest.raises(ValueError):
        parse_duration("1x")


# -- graph -----------------------------------------------------------------------------------------------
def test_levels_and_cycles():
    deps = {"web": {"api"}, "api": {"db", "cache"}, "db": set(), "cache": set(), "worker": {"db"}}
    assert graph.levels(deps) == [["cache", "db"], ["api", "worker"], ["web"]]
    assert graph.with_dependencies(deps, ["web"]) == {"web", "api", "db", "cache"}
    assert graph.reverse(deps)["db"] == {"api", "worker"}
    assert graph.find_cycle({"a": {"a"}}) == ["a", "a"]
    with pytest.raises(ComposeFileError, match="dependency cycle: api -> web -> api"):
        graph.levels({"web": {"api"}, "api": {"web"}, "db": set()})
    with pytest.raises(ComposeFileError, match="'nope' is not a service"):
        graph.check({"a": {"nope"}})


# -- project: names, labels, hash, profiles, plan -----------------------------------------------------------
STACK = f"""
name: shop
services:
  db:
    image: {IMAGE}
  web:
    image: {IMAGE}
    depends_on: {{db: {{condition: service_healthy}}}}
  debug:
    image: {IMAGE}
    profiles: [debug]
"""


def test_names_labels_and_profiles():
    project = load_project(text=STACK, env={}, working_dir="/tmp")
    assert project.name == "shop" and list(project.services) == ["db", "web"]
    assert project.select(["web"]) == ["db", "web"]
    labels = project.container_labels("web", 1)
    assert labels[PROJECT] == "shop" and labels[SERVICE] == "web" and labels[NUMBER] == "1"
    assert labels[ONEOFF] == "False" and labels["com.docker.compose.depends_on"] == "db:service_healthy:false"
    assert labels["com.docker.compose.project.working_dir"] == "/tmp"
    assert project.network_name("default") == "shop_default" and project.volume_name("data") == "shop_data"
    assert list(load_project(text=STACK, env={}, profiles=["debug"]).services) == ["db", "web", "debug"]
    assert list(load_project(text=STACK, env={"COMPOSE_PROFILES": "debug"}).services)[-1] == "debug"
    assert load_project(text=STACK, name="other", env={}).name == "other"
    with pytest.raises(ComposeFileError, match="invalid project name 'Bad Name'"):
        load_project(text=STACK, name="Bad Name", env={})
    with pytest.raises(ComposeFileError, match="no such service: 'debug'"):
        project.select(["debug"])


def test_config_hash_changes_only_with_the_service():
    one = load_project(text=STACK, env={})
    two = load_project(text=STACK.replace("  web:\n    image", "  web:\n    environment: [X=1]\n    image"), env={})
    assert one.config_hash("db") == two.config_hash("db")
    assert one.config_hash("web") != two.config_hash("web")
    scaled = load_project(text=STACK.replace("  db:\n", "  db:\n    scale: 3\n"), env={})
    assert scaled.config_hash("db") == one.config_hash("db")  # scaling is not a change of config


def record(project, service: str, n: int, state: str = "running", stale: bool = False, name: str = "shop"):
    labels = {PROJECT: name, SERVICE: service, NUMBER: str(n), ONEOFF: "False",
              CONFIG_HASH: "old" if stale or service not in project.services else project.config_hash(service)}
    return Container(id=f"{service}{n}", name=f"{name}-{service}-{n}", image=IMAGE, command="", created=None,
                     state=state, status="", ports=(), labels=labels)


def test_plan_converges():
    project = load_project(text=STACK, env={})
    plan = make_plan(project, [])
    assert plan.services["db"].create == [1] and plan.services["web"].create == [1] and not plan.orphans
    same = make_plan(project, [record(project, "db", 1), record(project, "web", 1)])
    assert not same.changes
    mixed = make_plan(project, [record(project, "db", 1, stale=True), record(project, "web", 1, "exited"),
                                record(project, "gone", 1), record(project, "db", 1, name="elsewhere")])
    assert [c.name for c in mixed.services["db"].recreate] == ["shop-db-1"]
    assert [c.name for c in mixed.services["web"].start] == ["shop-web-1"]
    assert [c.name for c in mixed.orphans] == ["shop-gone-1"]
    forced = make_plan(project, [record(project, "db", 1)], ["db"], force_recreate=True)
    assert list(forced.services) == ["db"] and forced.services["db"].recreate
    up = make_plan(project, [record(project, "db", 2)], ["db"], replicas={"db": 3})
    assert up.services["db"].create == [1, 3] and [c.name for c in up.services["db"].keep] == ["shop-db-2"]
    down = make_plan(project, [record(project, "db", n) for n in (1, 2, 3)], ["db"], replicas={"db": 1})
    assert [c.name for c in down.services["db"].remove] == ["shop-db-2", "shop-db-3"]
    image = make_plan(project, [record(project, "db", 1)], ["db"], image_ids={"db": "sha256:new"})
    assert not image.services["db"].recreate  # a listing row without ImageID says nothing


# -- the resolved file against the official schema ----------------------------------------------------------
def test_config_output_validates_against_the_compose_spec(tmp_path):
    import jsonschema

    (tmp_path / "s.txt").write_text("secret")
    text = STACK + f"""
  full:
    build: {{context: ., dockerfile_inline: "FROM {IMAGE}", args: {{A: 1}}, target: t}}
    entrypoint: [sh, -c]
    command: echo hi
    environment: {{A: 1, B: true}}
    ports: ["127.0.0.1:8080:80", 9000]
    expose: [90]
    volumes: ["data:/data", "./src:/src:ro", {{type: tmpfs, target: /t, tmpfs: {{size: 1m}}}}]
    networks: {{back: {{aliases: [api]}}}}
    healthcheck: {{test: [CMD, "true"], interval: 1s, timeout: 2s, retries: 3, start_period: 1s}}
    restart: on-failure:3
    labels: [a=b]
    working_dir: /w
    user: "1000"
    init: true
    hostname: h
    stop_signal: SIGINT
    stop_grace_period: 2s
    extra_hosts: ["db:10.0.0.2"]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    tmpfs: /run
    ulimits: {{nofile: 1024}}
    deploy: {{replicas: 2, resources: {{limits: {{cpus: 0.5, memory: 64m}}}}}}
    secrets: [s]
networks:
  back: {{internal: true}}
  outside: {{external: true, name: shared}}
volumes:
  data: {{labels: {{a: b}}}}
secrets:
  s: {{file: ./s.txt}}
"""
    project = load_project(text=text, env={}, working_dir=tmp_path)
    printed = yaml.safe_load(project.to_yaml())
    validator = jsonschema.Draft7Validator(compose_schema())
    validator.validate(printed)
    with pytest.raises(jsonschema.ValidationError):  # the schema does catch what is wrong
        validator.validate({**printed, "services": {"full": {"imgae": IMAGE}}})
    assert printed["name"] == "shop" and printed["networks"]["back"]["name"] == "shop_back"
    assert printed["services"]["full"]["volumes"][1]["source"] == str(tmp_path / "src")
    again = load_project(text=project.to_yaml(), env={}, working_dir=tmp_path)  # config's output loads back
    assert again.config_hash("full") == project.config_hash("full")


def test_a_raw_env_file_is_taken_as_written(tmp_path):
    (tmp_path / "app.env").write_text('# comment\nQUOTED="kept"\nDOLLAR=${HOME}\nBARE\n')
    (tmp_path / "plain.env").write_text('QUOTED2="unquoted"\n')
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  a:\n    image: {IMAGE}\n    env_file: [{{path: app.env, format: raw}}, plain.env]\n")
    env = load_project([tmp_path / "compose.yaml"], env={"HOME": "/root", "BARE": "b"}).services["a"].environment
    assert env == {"QUOTED": '"kept"', "DOLLAR": "${HOME}", "BARE": "b", "QUOTED2": "unquoted"}
