"""--format and the docker CLI's listing flags, inspect -f, logs --since/--until/--details, and
templates in a magic's line ({{...}} kept while {var} and $var expand), against the real engine.

Most tests are differential: the docker CLI (/usr/bin/docker, DOCKER_HOST set to the same engine)
renders the same template over the same objects and the text must be the same, byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pandas as pd
import pytest
from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error

from jupyter_containers.engine.specs import api_time

pytestmark = pytest.mark.usefixtures("busybox")


@pytest.fixture
def docker(engine, tmp_path):
    """The docker CLI on the test engine (with an empty config: no psFormat of the machine's)."""
    env = {**os.environ, "DOCKER_HOST": engine.url, "DOCKER_CONFIG": str(tmp_path)}
    env.pop("DOCKER_CONTEXT", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["/usr/bin/docker", *args], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0 or not check, result.stderr
        return result
    return run


def line(ip, rest: str):
    return ip.run_line_magic("container", rest)


LABELS = re.compile(r"[\w.-]+=[^,\s\"]*(?:,[\w.-]+=[^,\s\"]*)+")


def sorted_labels(text: str) -> str:
    """Comma-joined labels in order: the reference CLI (20.10) joins them in Go's random map order,
    docker 23 and later sort them, as we do."""
    return LABELS.sub(lambda m: ",".join(sorted(m[0].split(","))), text)


def differences(ip, docker, cases: list[tuple[list[str], str]]) -> list:
    """(cli args, magic line) pairs whose outputs differ. Relative times ("2 seconds ago", "Up 3
    seconds") may tick between two runs: the CLI runs before and after ours, and ours must be one."""
    found = []
    for cli_args, magic_line in cases:
        before = sorted_labels(docker(*cli_args).stdout)
        ours = str(line(ip, magic_line))
        if ours != before and ours != sorted_labels(docker(*cli_args).stdout):
            found.append((magic_line, before, ours))
    return found


@pytest.fixture
def trio(engine, name):
    """Three containers with a label of their own: one up with published ports, a volume and labels,
    one up with exposed ports only, one exited. The label filter that lists just them."""
    group = f"jc.format={name}"
    engine.volumes.create(f"{name}-data")
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo hi"], name=f"{name}-done", labels=[group], detach=False)
    engine.containers.run(BUSYBOX, ["sleep", "300"], name=f"{name}-idle", labels=[group], expose=[90, 91])
    engine.containers.run(BUSYBOX, ["sh", "-c", "while true; do sleep 1; done"], name=f"{name}-up",
                          labels=[group, "team=nb"], ports=["127.0.0.1::80", "127.0.0.1::81"],
                          volumes=[f"{name}-data:/data"])
    return group


PS_TEMPLATES = [  # the first four from docs.docker.com/reference/cli/docker/container/ls/#format
    "{{.ID}}: {{.Command}}",
    "table {{.ID}}\\t{{.Labels}}",
    "table {{.ID}}\\t{{.Mounts}}",
    '{{.Label "team"}}',
    "{{.ID}} {{.Image}} {{.Command}} {{.CreatedAt}} {{.Ports}} {{.State}} {{.Names}} {{.Networks}} {{.LocalVolumes}}",
    "{{.RunningFor}} | {{.Status}}",
    "table", "raw", "{{json .}}",
    "table {{.Names}}\\t{{.Size}}",
    '{{upper .Names}} {{len .Labels}} {{if eq .State "running"}}up{{else}}down{{end}}',
]


def test_ps_format_is_the_clis(ip, docker, trio):
    cases = [(["ps", "-a", "--filter", f"label={trio}", "--format", t], f"ps -a --filter label={trio} --format '{t}'")
             for t in PS_TEMPLATES]
    t = "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.Size}}"
    for flags in (["-n", "2"], ["-l"], ["--no-trunc"], ["-s"], ["-a", "--no-trunc", "-s"]):
        cases.append((["ps", *flags, "--filter", f"label={trio}", "--format", t],
                      f"ps {' '.join(flags)} --filter label={trio} --format '{t}'"))
    cases += [(["ps", "-a", "-q", "--filter", f"label={trio}"], f"ps -a -q --filter label={trio}"),
              (["ps", "-a", "-s", "--filter", f"label={trio}", "--format", "raw"], f"ps -a -s --filter label={trio} "
                                                                                   "--format raw")]
    assert differences(ip, docker, cases) == []


def test_ps_format_json_is_one_object_a_line(ip, docker, trio):
    """--format json is {{json .}} (docker 23 and later; the reference CLI here is 20.10, so it is
    compared with that CLI's {{json .}}), without asking the engine for sizes. The relative times
    may tick between the two runs and are left out."""
    ours = [json.loads(text) for text in str(line(ip, f"ps -a --filter label={trio} --format json")).splitlines()]
    cli = [json.loads(text) for text in docker("ps", "-a", "--filter", f"label={trio}", "--format",
                                               "{{json .}}").stdout.splitlines()]
    assert len(ours) == 3 and all(mine["Size"] == "0B" for mine in ours)
    for mine, theirs in zip(ours, cli):
        theirs["Labels"] = sorted_labels(theirs["Labels"])
        assert {k: v for k, v in mine.items() if k not in ("Size", "RunningFor", "Status")} == \
            {k: v for k, v in theirs.items() if k not in ("Size", "RunningFor", "Status")}


def test_ps_flags_keep_the_dataframe(ip, name, trio):
    frame = line(ip, f"ps -a -s --no-trunc --filter label={trio}")
    assert isinstance(frame, pd.DataFrame) and sorted(frame["name"]) == [f"{name}-{s}" for s in ("done", "idle", "up")]
    assert list(frame.columns)[-2:] == ["size_rw", "size_root_fs"] and (frame["size_root_fs"] > 0).all()
    assert frame["id"].str.len().eq(64).all()
    latest = line(ip, f"ps -l --filter label={trio}")  # the newest of any state
    assert latest["name"].tolist() == [f"{name}-up"]
    assert line(ip, f"ps -n 2 -q --filter label={trio}").split() == frame["id"].str[:12].tolist()[:2]
    assert len(line(ip, f"ps --filter label={trio}")) == 2  # without -a, -n or -l: running ones


def test_ps_template_errors_are_the_clis_one_line(ip, docker, trio):
    for template, cli_prefix in (("{{.Foo}}", "failed to execute template: "), ("{{foo}}", "failed to parse template: "),
                                 ("{{.Names", "failed to parse template: ")):
        ours = usage_error(ip, f"%container ps --format '{template}'")
        cli = docker("ps", "--format", template, check=False).stderr.strip()
        assert ours.startswith("container ps: template: :1") and cli.endswith(cli_prefix + ours.split(": ", 1)[1])
    assert "can't evaluate field Foo in type *formatter.ContainerContext" in usage_error(
        ip, "%container ps --format '{{.Foo}}'")


INSPECT_TEMPLATES = [  # from docs.docker.com/reference/cli/docker/inspect/#examples, and a few more
    "{{.NetworkSettings.IPAddress}}",
    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
    "{{.LogPath}}",
    "{{.Config.Image}}",
    "{{json .Config}}",
    "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.RestartCount}}",
    "{{json .Mounts}} {{json .NetworkSettings.Ports}} {{json .State}}",
    "{{.Name}} {{.Id}}",  # .Id is the JSON's spelling: the CLI renders the raw JSON then, maps with sorted keys
    '{{join .Config.Cmd " "}} {{index .Config.Labels "team"}} {{len .Config.Labels}}',
    "{{json .}}",  # the engine's own JSON: the reference CLI (20.10) shares the engine's structs
]


def test_inspect_format_is_the_clis(ip, docker, name, trio):
    names = [f"{name}-up", f"{name}-done", f"{name}-idle"]
    cases = [(["inspect", "-f", t, *names], f"inspect -f '{t}' {' '.join(names)}") for t in INSPECT_TEMPLATES]
    for t in ('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}',  # published ports only
              "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}"):
        cases.append((["inspect", "--format", t, f"{name}-up"], f"inspect --format '{t}' {name}-up"))
    cases.append((["inspect", "-f", "{{.Id}} {{.RepoTags}} {{.Os}}", BUSYBOX], f"inspect -f '{{{{.Id}}}} "
                  f"{{{{.RepoTags}}}} {{{{.Os}}}}' {BUSYBOX}"))
    cases.append((["volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mountpoint}}", f"{name}-data"],
                  f"inspect --type volume -f '{{{{.Name}}}} {{{{.Driver}}}} {{{{.Mountpoint}}}}' {name}-data"))
    assert differences(ip, docker, cases) == []
    # -f json (docker 23 and later): the array `docker inspect` prints, compact
    assert json.loads(str(line(ip, f"inspect -f json {' '.join(names)}"))) == json.loads(docker("inspect", *names).stdout)
    ours = usage_error(ip, f"%container inspect -f '{{{{.Name.X}}}}' {name}-up")
    assert ours == ('container inspect: template: :1:7: executing "" at <.Name.X>: '
                    "can't evaluate field X in type interface {}")
    assert "no container, image, volume or network named 'jc-nothing-at-all'" in usage_error(
        ip, f"%container inspect -f '{{{{.Name}}}}' {name}-up jc-nothing-at-all")


def test_images_volume_and_network_ls_format_are_the_clis(ip, docker, engine, name):
    engine.volumes.create(name, labels={"team": "nb"})
    engine.networks.create(name, labels={"team": "nb"})
    templates = ["{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}",
                 "table", "raw", "{{json .}}", "table {{.Repository}}:{{.Tag}}\\t{{.ID}}\\t{{.Containers}}\\t{{.SharedSize}}"]
    cases = [(["images", "--format", t, BUSYBOX], f"images --format '{t}' {BUSYBOX}") for t in templates]
    # `--format json` is docker 23's name for {{json .}}; the reference CLI (20.10) only knows the latter
    cases.append((["images", "--format", "{{json .}}", BUSYBOX], f"images --format json {BUSYBOX}"))
    cases += [(["images", *f, BUSYBOX], f"images {' '.join(f)} {BUSYBOX}")
              for f in (["--digests", "--format", "table"], ["--no-trunc", "--format", "{{.ID}}"], ["-q"])]
    for kind, template in (("volume", "{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Label \"team\"}} "
                                      "{{.Links}} {{.Size}}"),
                           ("network", "{{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}} "
                                       "{{.Label \"team\"}} {{.CreatedAt}}")):
        for t in (template, "table", "raw", "{{json .}}", "json"):  # one label: Go's map order is random
            cli_format = "{{json .}}" if t == "json" else t
            cases.append(([kind, "ls", "--filter", f"name={name}", "--filter", "label=team", "--format", cli_format],
                          f"{kind} ls --filter name={name} --filter label=team --format '{t}'"))
        cases.append(([kind, "ls", "-q", "--filter", f"name={name}"], f"{kind} ls -q --filter name={name}"))
    assert differences(ip, docker, cases) == []


def test_templates_survive_ipython_expansion_and_variables_still_expand(ip, docker, name, trio):
    assert ip.var_expand("--format '{{.Names}}'") == "--format '{.Names}'"  # what IPython alone would pass
    ip.user_ns.update(jc_group=trio, jc_done=f"{name}-done", jc_name=name)
    result = ip.run_cell("jc_out = %container ps -a --filter label={jc_group} --format '{{.Names}} {{json .State}}'")
    assert result.success
    assert ip.user_ns["jc_out"] == docker("ps", "-a", "--filter", f"label={trio}", "--format",
                                          "{{.Names}} {{json .State}}").stdout
    assert ip.run_cell("jc_logs = %container logs {jc_done}").success and ip.user_ns["jc_logs"] == "hi\n"
    assert ip.run_cell("jc_logs = %container logs $jc_name-done").success and ip.user_ns["jc_logs"] == "hi\n"
    assert ip.run_cell("jc_n = %container ps -a -q --filter label={jc_group} --filter name={jc_name[:-2]}"
                       "").success and len(ip.user_ns["jc_n"].split()) == 3  # {expr} too
    assert usage_error(ip, "%compose ls --bogus {{.Name}} {jc_name}").endswith(
        f"unrecognized arguments: --bogus {{{{.Name}}}} {name}; see %compose ls --help")


def test_logs_since_and_until_to_the_nanosecond(ip, docker, engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "for i in $(seq 1 40); do echo line$i; done"], name=name,
                          detach=False)
    stamped = str(line(ip, f"logs -t {name}"))
    assert stamped == docker("logs", "-t", name).stdout  # the engine's own stamps, nanoseconds and all
    stamps = [text.partition(" ")[0] for text in stamped.splitlines()]
    # two neighbouring lines written within the same second (at different nanoseconds)
    same_second = [i for i in range(1, len(stamps)) if stamps[i][:19] == stamps[i - 1][:19] != stamps[i]]
    i = same_second[len(same_second) // 2]
    since = "".join(f"line{k}\n" for k in range(i + 1, 41))  # stamps[i] is line i+1's
    for value in (stamps[i], stamps[i].replace("Z", "+00:00"), api_time(stamps[i])):
        assert str(line(ip, f"logs --since {value} {name}")) == since == docker("logs", "--since", value, name).stdout
    until = "".join(f"line{k}\n" for k in range(1, i + 1))
    assert str(line(ip, f"logs --until {stamps[i - 1]} {name}")) == until == docker(
        "logs", "--until", stamps[i - 1], name).stdout
    whole_second = stamps[i][:19] + "Z"  # what cutting to whole seconds asked for: the second's every line
    assert str(line(ip, f"logs --since {whole_second} {name}")) == docker("logs", "--since", whole_second, name).stdout
    assert len(str(line(ip, f"logs --since {whole_second} {name}")).splitlines()) > len(since.splitlines())
    assert str(line(ip, f"logs --since 1h30m --until=-1.5m -n 3 {name}")) == docker(  # -1.5m: from now on
        "logs", "--since", "1h30m", "--until=-1.5m", "-n", "3", name).stdout == "line38\nline39\nline40\n"


def test_logs_details_follow_and_bad_times(ip, docker, name, capsys):
    docker("run", "--name", name, "--label", f"{TEST_LABEL}={RUN_ID}", "--label", "team=nb",
           "--log-opt", "labels=team", BUSYBOX, "sh", "-c", "echo one; echo two")
    for flags in (["--details"], ["--details", "-t"]):
        assert str(line(ip, f"logs {' '.join(flags)} {name}")) == docker("logs", *flags, name).stdout
    assert str(line(ip, f"logs --details {name}")) == "team=nb one\nteam=nb two\n"
    capsys.readouterr()
    assert line(ip, f"logs -f -t {name}") is None  # follows until the (exited) container's output ends
    assert capsys.readouterr().out == docker("logs", "-t", name).stdout
    for flag, value in (("--since", "yesterday"), ("--until", "2024-13-01"), ("--since", "10x")):
        message = usage_error(ip, f"%container logs {flag} {value} {name}")
        assert message.startswith(f"container logs: argument {flag}: invalid time '{value}'")
