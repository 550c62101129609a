"""The whole specification's composition: ``extends``, ``include``, several ``-f`` files, ``!reset`` and
``!override``. Pure loader tests (no engine), and where Debian's docker-compose 1.29 does the same job
(``extends`` in a file and from another, several ``-f`` files), its ``config`` compared with ours."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jupyter_containers.compose import ComposeFileError, load, load_project, merge

IMAGE = "jupyter-containers/busybox:test"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def project(text: str, tmp_path: Path, **kwargs):
    return load_project(text=text, name="p", working_dir=tmp_path, env=kwargs.pop("env", {}), **kwargs)


def refused(*args, **kwargs) -> str:
    with pytest.raises(ComposeFileError) as info:
        load_project(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# -- extends within a file -----------------------------------------------------------------------------
BASE = f"""
services:
  base:
    image: {IMAGE}
    command: ["echo", "base"]
    entrypoint: ["/bin/sh", "-c"]
    environment: [A=1, B=2]
    labels: {{l1: a}}
    ports: ["8080:80", "9090:90"]
    expose: ["1000"]
    volumes: ["data:/data", "./src:/src"]
    dns: 1.1.1.1
    cap_add: [NET_ADMIN]
    sysctls: {{net.core.somaxconn: "1024"}}
    ulimits: {{nofile: {{soft: 10, hard: 20}}, nproc: 50}}
    healthcheck: {{test: ["CMD", "true"], interval: 5s}}
    depends_on: [db]
    networks: {{front: {{aliases: [b]}}}}
  db:
    image: {IMAGE}
  web:
    extends: {{service: base}}
    command: echo web
    environment: {{B: "3", C: "4"}}
    labels: [l2=b]
    ports: ["8081:81", {{target: 80, published: "8080"}}]
    expose: [1000, "2000"]
    volumes: ["other:/data"]
    dns: [8.8.8.8]
    cap_add: [NET_ADMIN, SYS_TIME]
    sysctls: [net.ipv4.tcp_syncookies=0]
    ulimits: {{nofile: 30}}
    healthcheck: {{test: ["CMD", "false"]}}
    depends_on: {{cache: {{condition: service_started}}}}
    networks: {{front: {{aliases: [w]}}, back: null}}
  cache:
    image: {IMAGE}
networks: {{front: {{}}, back: {{}}}}
volumes: {{data: {{}}, other: {{}}}}
"""


def test_extends_in_the_same_file_follows_the_merge_rules(tmp_path):
    p = project(BASE, tmp_path)
    web, base = p.services["web"], p.services["base"]
    assert web.image == IMAGE and web.command == ["echo", "web"] and web.entrypoint == ["/bin/sh", "-c"]
    assert web.environment == {"A": "1", "B": "3", "C": "4"}
    assert web.labels == {"l1": "a", "l2": "b"}
    # ports: appended, the same port (whatever its syntax) once
    assert [(x.published, x.target) for x in web.ports] == [("8080", 80), ("9090", 90), ("8081", 81)]
    assert web.expose == ["1000", "2000"]
    # volumes: by target, the extending service's at the base's place
    assert [(m.source, m.target) for m in web.volumes] == [("other", "/data"), (str(tmp_path / "src"), "/src")]
    assert web.dns == ["1.1.1.1", "8.8.8.8"] and web.cap_add == ["NET_ADMIN", "SYS_TIME"]
    assert web.sysctls == {"net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0"}
    assert {k: (v.soft, v.hard) for k, v in web.ulimits.items()} == {"nofile": (30, 30), "nproc": (50, 50)}
    assert web.healthcheck.test == ["CMD", "false"] and web.healthcheck.interval == 5
    assert set(web.depends_on) == {"db", "cache"}  # Compose v2 inherits depends_on (1.29 refused it)
    assert web.networks["front"].aliases == ["b", "w"] and set(web.networks) == {"front", "back"}
    assert base.command == ["echo", "base"] and base.environment == {"A": "1", "B": "2"}  # the base is unchanged
    assert all("extends" not in service for service in p.config()["services"].values())


def test_depends_on_links_and_volumes_from_are_inherited_as_compose_v2_does(tmp_path):
    # the specification and compose-go merge them like any key (docker-compose 1.29 refused to extend such a
    # service); what they name must exist in the extending project
    text = f"""
services:
  base: {{image: {IMAGE}, depends_on: [db], links: [db], volumes_from: [db], ipc: "service:db"}}
  web: {{extends: base}}
  db: {{image: {IMAGE}}}
"""
    web = project(text, tmp_path).services["web"]
    assert (list(web.depends_on), web.links, web.volumes_from, web.ipc) == (["db"], ["db"], ["db"], "service:db")
    write(tmp_path / "base.yaml", text)
    message = refused(text="services:\n  web:\n    extends: {file: base.yaml, service: base}\n", name="p",
                      working_dir=tmp_path, env={})
    assert message == "services.web.depends_on: 'db' is not a service of this file"


def test_extends_short_form_and_chains(tmp_path):
    p = project(f"""
services:
  a: {{extends: b, environment: [FROM_A=1]}}
  b: {{extends: {{service: c}}, environment: [FROM_B=1], user: nobody}}
  c: {{image: {IMAGE}, environment: [FROM_C=1], command: c}}
""", tmp_path)
    a = p.services["a"]
    assert a.environment == {"FROM_C": "1", "FROM_B": "1", "FROM_A": "1"}
    assert (a.image, a.user, a.command) == (IMAGE, "nobody", ["c"])
    assert p.services["b"].environment == {"FROM_C": "1", "FROM_B": "1"}


@pytest.mark.parametrize("services, expected", [
    ("  a: {extends: b}\n  b: {extends: c}\n  c: {extends: a, image: x}\n",
     "<cell>: services.a.extends: circular extends: a -> b -> c -> a"),
    ("  a: {extends: a, image: x}\n", "<cell>: services.a.extends: circular extends: a -> a"),
    ("  a: {extends: nope, image: x}\n", "<cell>: services.a.extends: service 'nope' not found"),
    ("  a: {extends: {file: missing.yaml, service: b}, image: x}\n",
     "<cell>: services.a.extends.file: compose file {tmp}/missing.yaml not found"),
    ("  a: {extends: {file: x.yaml}, image: x}\n", "<cell>: services.a.extends.service: required"),
    ("  a: {extends: {service: b, path: x}, image: x}\n", "<cell>: services.a.extends: unknown key 'path'"),
    ("  a: {extends: [b], image: x}\n", "<cell>: services.a.extends: expected a service name or a mapping"),
    ("  a: {extends: b, ports: {x: 1}}\n  b: {image: x, ports: ['80']}\n",
     "<cell>: services.a.ports: cannot merge a mapping into a list"),
])
def test_extends_refusals_are_one_line(tmp_path, services, expected):
    message = refused(text="services:\n" + services, name="p", working_dir=tmp_path, env={})
    assert message.startswith(expected.format(tmp=tmp_path)), message


def test_extends_cycle_across_files_names_the_files(tmp_path):
    write(tmp_path / "other.yaml", "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n")
    main = write(tmp_path / "compose.yaml", "services:\n  a:\n    extends: {file: other.yaml, service: b}\n")
    assert refused([main], env={}).endswith("circular extends: a -> b (other.yaml) -> a")


def test_extends_from_another_file_resolves_its_paths_against_that_file(tmp_path):
    common = tmp_path / "common"
    write(common / "services.yaml", f"""
services:
  app:
    build: {{context: ./app, args: {{V: "1"}}}}
    image: {IMAGE}
    env_file: ./app.env
    label_file: [./app.labels]
    volumes: ["./conf:/conf:ro", {{type: bind, source: ./data, target: /data}}, "cache:/cache"]
    extends: {{file: ../deeper/base.yaml, service: root}}
""")
    write(common / "app.env", "FROM_ENV_FILE=common\n")
    write(common / "app.labels", "from.label.file=yes\n")
    write(tmp_path / "deeper" / "base.yaml", "services:\n  root:\n    working_dir: /srv\n    env_file: [root.env]\n")
    write(tmp_path / "deeper" / "root.env", "FROM_ROOT=deeper\n")
    main = write(tmp_path / "compose.yaml", """
services:
  web:
    extends: {file: common/services.yaml, service: app}
    volumes: ["./local:/local"]
volumes: {cache: {}}
""")
    p = load_project([main], env={})
    web = p.services["web"]
    assert web.build.context == str(common / "app") and web.build.args == {"V": "1"}
    assert web.working_dir == "/srv"
    assert web.environment == {"FROM_ROOT": "deeper", "FROM_ENV_FILE": "common"}
    assert web.label_file == [str(common / "app.labels")]
    assert [(m.source, m.target) for m in web.volumes] == [
        (str(common / "conf"), "/conf"), (str(common / "data"), "/data"), ("cache", "/cache"),
        (str(tmp_path / "local"), "/local")]  # the extending service's own paths: the project's
    assert p.create_spec("web", 1).labels["from.label.file"] == "yes"


def test_extends_file_is_interpolated_with_the_project_variables(tmp_path):
    write(tmp_path / "base.yaml", "services:\n  b:\n    image: ${IMG}\n    environment: [\"X=${X:-dflt}\"]\n")
    main = write(tmp_path / "compose.yaml", "services:\n  a:\n    extends: {file: base.yaml, service: b}\n")
    a = load_project([main], env={"IMG": IMAGE}).services["a"]
    assert (a.image, a.environment) == (IMAGE, {"X": "dflt"})


def test_reset_and_override_in_an_extending_service(tmp_path):
    p = project(f"""
services:
  base:
    image: {IMAGE}
    command: sleep infinity
    ports: ["8080:80"]
    environment: [KEEP=1, DROP=2]
    depends_on: [db]
  db:
    image: {IMAGE}
  web:
    extends: base
    command: !reset
    ports: !override ["8443:443"]
    environment: {{DROP: !reset null}}
    depends_on: !override [cache]
  cache:
    image: {IMAGE}
""", tmp_path)
    web = p.services["web"]
    assert web.command is None
    assert [(x.published, x.target) for x in web.ports] == [("8443", 443)]
    assert web.environment == {"KEEP": "1"}
    assert list(web.depends_on) == ["cache"]
    assert p.services["base"].command == ["sleep", "infinity"]


# -- several -f files -----------------------------------------------------------------------------------
def test_override_file_reset_and_override_tags(tmp_path):
    base = write(tmp_path / "compose.yaml", f"""
services:
  app:
    image: {IMAGE}
    ports: ["8080:80"]
    environment: [FOO=BAR, KEEP=1]
    dns: [1.1.1.1]
    labels: {{a: "1"}}
  gone:
    image: {IMAGE}
""")
    over = write(tmp_path / "compose.override.yaml", """
services:
  app:
    ports: !reset []
    environment:
      FOO: !reset null
    dns: !override [9.9.9.9]
    labels: !override {b: "2"}
  gone: !reset
""")
    p = load_project([base, over], env={})
    app = p.services["app"]
    assert app.ports == [] and app.environment == {"KEEP": "1"} and app.dns == ["9.9.9.9"]
    assert app.labels == {"b": "2"}
    assert set(p.model.services) == {"app"}


def test_merge_of_files_uses_the_same_rules(tmp_path):
    base = write(tmp_path / "a.yaml", f"""
services:
  web:
    image: {IMAGE}
    build: ./ctx
    command: ["a"]
    ports: ["8080:80"]
    extra_hosts: ["h1=10.0.0.1"]
    depends_on: {{db: {{condition: service_healthy}}}}
    logging: {{driver: json-file, options: {{max-size: 1m}}}}
  db:
    image: {IMAGE}
""")
    over = write(tmp_path / "b.yaml", """
services:
  web:
    build: {dockerfile: Other.Dockerfile}
    command: b
    ports: [{target: 80, published: "8080"}, "8081:81"]
    extra_hosts: {h1: 10.0.0.1, h2: 10.0.0.2}
    depends_on: [db]
    logging: {driver: syslog, options: {tag: x}}
""")
    web = load_project([base, over], env={}).services["web"]
    assert (web.build.context, web.build.dockerfile) == (str(tmp_path / "ctx"), "Other.Dockerfile")
    assert web.command == ["b"]
    assert [(x.published, x.target) for x in web.ports] == [("8080", 80), ("8081", 81)]
    assert web.extra_hosts == ["h1:10.0.0.1", "h2:10.0.0.2"]
    assert web.depends_on["db"].condition == "service_started"  # a listed name is the long form's default
    assert (web.logging.driver, web.logging.options) == ("syslog", {"tag": "x"})  # another driver: replaced


def test_merge_refusal_names_the_file_and_the_key(tmp_path):
    base = write(tmp_path / "a.yaml", f"services:\n  web:\n    image: {IMAGE}\n    gpus: all\n")
    over = write(tmp_path / "b.yaml", "services:\n  web:\n    gpus: [{driver: nvidia, count: 1}]\n")
    assert refused([base, over], env={}) == f"{over}: services.web.gpus: cannot merge a list into a value"


def test_parse_tagged_reports_the_tagged_paths():
    data, tagged = load.parse_tagged(load.Source("x.yaml", """
services:
  a:
    ports: !reset []
    command: !override echo
    environment: {X: !reset null}
    healthcheck: !override {retries: 3}
    dns: [a, !reset b]
"""))
    assert data == {"services": {"a": {"command": "echo", "environment": {}, "healthcheck": {"retries": 3},
                                       "dns": ["a"]}}}
    assert set(tagged) == {("services", "a", "ports"), ("services", "a", "command"),
                           ("services", "a", "environment", "X"), ("services", "a", "healthcheck")}
    with pytest.raises(ComposeFileError, match=r"^x.yaml: line 1: invalid YAML: .*'!nope'"):
        load.parse(load.Source("x.yaml", "a: !nope 1\n"))


def test_merge_helpers():
    assert merge.merge_value(["8080:80"], [{"target": 80, "published": 8080}], ("services", "a", "ports")) == [
        {"target": 80, "published": 8080}]
    assert merge.merge_value(["a:/x", "/y"], [{"type": "bind", "source": "/b", "target": "/x"}],
                             ("services", "a", "volumes")) == [{"type": "bind", "source": "/b", "target": "/x"}, "/y"]
    assert merge.merge_value(["s1", {"source": "s2", "target": "/t"}], [{"source": "s3", "target": "/run/secrets/s1"}],
                             ("services", "a", "secrets")) == [{"source": "s3", "target": "/run/secrets/s1"},
                                                               {"source": "s2", "target": "/t"}]
    assert merge.remove({"environment": ["A=1", "B=2"]}, ("environment", "A")) == {"environment": ["B=2"]}
    assert merge.merge_value({"x": 1}, None, ("services", "a", "command")) is None  # command: null replaces


# -- include ---------------------------------------------------------------------------------------------
def test_include_short_form_paths_env_and_resources(tmp_path):
    lib = tmp_path / "lib"
    write(lib / ".env", "TAG=from-lib-env\nSHARED=lib\n")
    write(lib / "compose.yaml", f"""
services:
  db:
    image: {IMAGE}
    build: .
    environment: ["TAG=${{TAG}}", "SHARED=${{SHARED}}", FROM_INCLUDE_ENV]
    volumes: ["./init:/init", "dbdata:/var/lib/db"]
    env_file: db.env
volumes: {{dbdata: {{}}}}
secrets: {{pw: {{file: ./pw.txt}}}}
""")
    write(lib / "db.env", "FROM_DB_ENV=1\n")
    write(lib / "pw.txt", "secret\n")
    main = write(tmp_path / "compose.yaml", f"""
include:
  - lib/compose.yaml
services:
  web:
    image: {IMAGE}
    depends_on: [db]
    volumes: ["dbdata:/shared"]
""")
    write(tmp_path / ".env", "SHARED=main\n")
    p = load_project([main], env={"FROM_INCLUDE_ENV": "shell"})
    db = p.services["db"]
    assert db.build.context == str(lib)
    assert [(m.source, m.target) for m in db.volumes] == [(str(lib / "init"), "/init"), ("dbdata", "/var/lib/db")]
    # the included file's .env interpolates it; the including project's variables win
    assert db.environment == {"FROM_DB_ENV": "1", "TAG": "from-lib-env", "SHARED": "main",
                              "FROM_INCLUDE_ENV": "shell"}
    assert p.model.secrets["pw"].file == str(lib / "pw.txt")
    assert set(p.model.volumes) == {"dbdata"} and p.select(["web"]) == ["db", "web"]


def test_include_long_form_project_directory_env_file_and_several_paths(tmp_path):
    write(tmp_path / "third" / "compose.yaml", f"""
services:
  svc:
    image: {IMAGE}
    environment: ["MODE=${{MODE:-none}}"]
    volumes: ["./data:/data"]
""")
    write(tmp_path / "local" / "override.yaml", "services:\n  svc:\n    command: overridden\n")
    write(tmp_path / "envs" / "third.env", "MODE=from-env-file\n")
    main = write(tmp_path / "compose.yaml", """
include:
  - path: [third/compose.yaml, local/override.yaml]
    project_directory: proj
    env_file: envs/third.env
""")
    svc = load_project([main], env={}).services["svc"]
    assert svc.environment == {"MODE": "from-env-file"} and svc.command == ["overridden"]
    assert svc.volumes[0].source == str(tmp_path / "proj" / "data")


def test_includes_nest_and_a_later_file_may_override_an_included_service(tmp_path):
    write(tmp_path / "a" / "compose.yaml", "include: [../b/compose.yaml]\nservices:\n  a:\n    image: x\n")
    write(tmp_path / "b" / "compose.yaml", f"services:\n  b:\n    image: {IMAGE}\n    volumes: [./bdata:/d]\n")
    main = write(tmp_path / "compose.yaml", "include: [a/compose.yaml]\n")
    over = write(tmp_path / "over.yaml", "services:\n  b:\n    command: from-override\n")
    p = load_project([main, over], env={})
    assert set(p.services) == {"a", "b"} and p.services["b"].command == ["from-override"]
    assert p.services["b"].volumes[0].source == str(tmp_path / "b" / "bdata")


def test_include_refusals_are_one_line(tmp_path):
    write(tmp_path / "inc.yaml", f"services:\n  web:\n    image: {IMAGE}\n")
    main = write(tmp_path / "compose.yaml", "include: [inc.yaml]\nservices:\n  web:\n    image: other\n")
    assert refused([main], env={}) == (f"{main}: services.web: also defined by the included file "
                                       f"{tmp_path / 'inc.yaml'}; a resource is defined once (override it in "
                                       "another -f file)")
    write(main, f"include: [inc.yaml]\nservices:\n  web:\n    image: {IMAGE}\n")
    assert set(load_project([main], env={}).services) == {"web"}  # the same definition twice is no conflict
    write(main, "include: [missing.yaml]\n")
    assert refused([main], env={}) == f"{main}: include[0].path: compose file {tmp_path / 'missing.yaml'} not found"
    write(main, "include: [{path: inc.yaml, env_file: nope.env}]\n")
    assert refused([main], env={}).endswith(f"include[0].env_file: env file {tmp_path / 'nope.env'} not found")
    write(main, "include: [{path: inc.yaml, project: x}]\n")
    assert "include[0]: unknown key 'project'" in refused([main], env={})
    write(main, "include: inc.yaml\n")
    assert "include: expected a list" in refused([main], env={})
    write(tmp_path / "inc.yaml", "include: [compose.yaml]\n")
    write(main, "include: [inc.yaml]\n")
    assert refused([main], env={}).endswith(f"include cycle: {main} -> {tmp_path / 'inc.yaml'} -> {main}")
    write(tmp_path / "inc.yaml", "services:\n  web:\n    image: a\n    ports: ['99999:80']\n")
    assert refused([main], env={}).startswith(f"{tmp_path / 'inc.yaml'}: services.web.ports[0]: invalid port")


def test_include_and_extends_combined(tmp_path):
    write(tmp_path / "dir" / "extended.yaml", "services:\n  service:\n    build: .\n")
    write(tmp_path / "dir" / "included.yaml",
          "services:\n  service:\n    extends: {file: extended.yaml, service: service}\n")
    p = project("include:\n  - path: [dir/included.yaml]\n", tmp_path)
    assert p.services["service"].build.context == str(tmp_path / "dir")


# -- docker-compose 1.29 as the reference --------------------------------------------------------------
def docker_compose_config(directory: Path, *files: Path) -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose (Compose 1.29, Debian's package docker-compose) is not on PATH; "
                    "`make test` installs it", pytrace=False)
    args = [exe, *[a for f in files for a in ("-f", str(f))], "--project-directory", str(directory), "config"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
    out = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def _ports(items) -> set:
    out = set()
    for p in items or []:
        if isinstance(p, dict):
            out.add((p.get("host_ip") or "", str(p.get("published") or ""), int(p["target"]), p.get("protocol", "tcp")))
        else:
            spec, _, protocol = str(p).partition("/")
            *host, published, target = ["", "", *spec.split(":")]
            out.add((host[-1], published, int(target), protocol or "tcp"))
    return out


def _volumes(items) -> set:
    out = set()
    for v in items or []:
        if isinstance(v, dict):
            out.add((v.get("source"), v["target"], bool(v.get("read_only"))))
        else:
            parts = v.split(":")
            source, target = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
            out.add((source, target, len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def comparable(service: dict) -> dict:
    """One service of a ``config`` output, in a form both tools' outputs share."""
    command = service.get("command")
    build = service.get("build")
    return {
        "image": service.get("image"),
        "build": (build if isinstance(build, str) else build.get("context")) if build else None,
        "command": shlex.split(command) if isinstance(command, str) else command,
        "environment": {k: str(v) for k, v in (service.get("environment") or {}).items()},
        "labels": dict(service.get("labels") or {}),
        "ports": _ports(service.get("ports")),
        "volumes": _volumes(service.get("volumes")),
        "expose": {str(x) for x in service.get("expose") or []},
        **{key: set(service.get(key) or []) for key in ("dns", "cap_add", "security_opt")},
        "user": service.get("user"), "working_dir": service.get("working_dir"),
        "healthcheck": {k: v for k, v in (service.get("healthcheck") or {}).items() if k in ("test", "retries")},
    }


def assert_same_as_docker_compose(directory: Path, *files: Path, services: tuple[str, ...]):
    theirs = docker_compose_config(directory, *files)["services"]
    ours = load_project(list(files), working_dir=directory, env={}).config()["services"]
    for name in services:
        assert comparable(ours[name]) == comparable(theirs[name]), name


DIFF_BASE = f"""version: "3.8"
services:
  base:
    image: {IMAGE}
    command: ["echo", "base"]
    user: nobody
    environment: [A=1, B=2]
    labels: {{l1: a}}
    ports: ["8080:80", "127.0.0.1:9090:90/udp"]
    expose: ["1000"]
    volumes: ["./src:/src", "data:/data:ro"]
    dns: [1.1.1.1]
    cap_add: [NET_ADMIN]
    security_opt: [no-new-privileges]
    healthcheck: {{test: ["CMD", "true"], retries: 3}}
"""
DIFF_OVER = """
    command: echo web
    environment: {B: "3", C: "4"}
    labels: [l2=b]
    ports: ["8081:81", "8080:80"]
    expose: ["2000"]
    volumes: ["other:/data", "./logs:/logs:ro"]
    dns: [8.8.8.8]
    cap_add: [SYS_TIME]
    working_dir: /srv
    healthcheck: {test: ["CMD", "false"]}
"""
DIFF_VOLUMES = "volumes:\n  data: {}\n  other: {}\n"


def test_extends_in_a_file_as_docker_compose(tmp_path):
    main = write(tmp_path / "compose.yaml", DIFF_BASE + "  web:\n    extends: {service: base}" + DIFF_OVER
                 + "  deeper:\n    extends: {service: web}\n    user: root\n" + DIFF_VOLUMES)
    assert_same_as_docker_compose(tmp_path, main, services=("base", "web", "deeper"))


def test_extends_from_another_file_as_docker_compose(tmp_path):
    write(tmp_path / "common" / "base.yaml", DIFF_BASE.replace("    user: nobody\n", "    build: ./ctx\n"
                                                               "    env_file: ./base.env\n") + DIFF_VOLUMES)
    write(tmp_path / "common" / "ctx" / "Dockerfile", "FROM scratch\n")
    write(tmp_path / "common" / "base.env", "FROM_FILE=common\n")
    main = write(tmp_path / "compose.yaml", 'version: "3.8"\nservices:\n  web:\n'
                 "    extends: {file: common/base.yaml, service: base}" + DIFF_OVER + DIFF_VOLUMES)
    assert_same_as_docker_compose(tmp_path, main, services=("web",))


def test_several_files_as_docker_compose(tmp_path):
    base = write(tmp_path / "compose.yaml", DIFF_BASE.replace("  base:", "  web:") + DIFF_VOLUMES)
    over = write(tmp_path / "compose.override.yaml", 'version: "3.8"\nservices:\n  web:' + DIFF_OVER)
    third = write(tmp_path / "third.yaml", 'version: "3.8"\nservices:\n  web:\n    environment: [D=5]\n'
                  "    ports: ['7000:70']\n  extra:\n    image: busybox\n")
    assert_same_as_docker_compose(tmp_path, base, over, third, services=("web", "extra"))
