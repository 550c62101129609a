"""Fuzzing ``%container run`` with Hypothesis: lines built from docker run's real flags, good values and
junk give a container or one usage line, never another exception; a refused line leaves nothing behind.

The first test needs no engine (parse, spec, create body); the second runs the lines on the real engine.
The command is always ``true`` and ports are published on 127.0.0.1 only, so nothing reaches the network.
"""

from __future__ import annotations

import shlex
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import jupyter_containers.magics  # noqa: F401 - registers every subcommand
from conftest import BUSYBOX, wait_for
from jupyter_containers.engine import Conflict, ContainersError
from jupyter_containers.magics.container import container_commands
from jupyter_containers.magics.run_flags import to_spec

RUN = container_commands.commands["run"]
FLAGS = sorted({flag for action in RUN.parser("container")._actions for flag in action.option_strings
                if flag not in ("--help", "--cidfile", "--name", "-P", "--publish-all")})
VALUES = ["", "0", "-1", "1", "3.5", "nan", "1e309", "99999", "abc", "a=b", "=", "k=", "'", "é", "x" * 200,
          "64m", "1g", "lots", "0.5", "/tmp:/x", "/tmp:/x:ro", "/anon", "a:b", "type=tmpfs,dst=/t",
          "type=bind,src=/tmp,dst=/b,readonly", "type=volume,dst=/v,volume-nocopy", "type=nope", "nofile=1:2",
          "nofile=2:1", "/dev/null", "/dev/null:/dev/n:r", "host", "none", "private", "bridge", "container:x",
          "always", "no", "on-failure:2", "always:3", "127.0.0.1::80", "127.0.0.1:0:80/udp", "80-81",
          "1s", "1m30s", "10", "true", "false", "stdout", "stdin", "seccomp=unconfined", "no-new-privileges",
          "net.ipv4.ip_forward=1", "CAP_KILL", "all", "device=0", "a:1.2.3.4", "b:host-gateway", "1.2.3.4",
          "json-file", "max-size=1m", "runc", "linux/amd64", "name=bridge,alias=x", "1000:1000", "/tmp"]
PUBLISH_OK = {"127.0.0.1::80", "127.0.0.1:0:80/udp"}  # the only ports a line may publish on the engine
NOT_ON_THE_ENGINE = {"--pull", "--platform"}  # either could make the engine ask a public registry


def _line(draw, flags=FLAGS) -> list[str]:
    words = []
    for flag in draw(st.lists(st.sampled_from(flags), max_size=5)):
        action = RUN.parser("container")._option_string_actions[flag]
        if action.nargs == 0:
            words.append(flag if draw(st.booleans()) else f"{flag}={draw(st.sampled_from(['true', 'false', 'x']))}")
        else:
            words += [flag, draw(st.one_of(st.sampled_from(VALUES), st.text(max_size=8)))]
    return words


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_flags_give_a_spec_or_one_usage_line(data):
    words = _line(data.draw) + [BUSYBOX, "true"]
    try:
        args = RUN.parser("container").parse_args(words)
        spec = to_spec(args, "1.41")
        body = spec.create_body("1.41")
    except UsageError as exc:
        assert "\n" not in str(exc).strip() and str(exc).startswith("container run")
        return
    except ContainersError as exc:  # the magic shows these as "container run: ..."
        assert "\n" not in exc.message
        return
    assert body["Image"] == BUSYBOX and body["HostConfig"].get("NetworkMode")


@pytest.mark.usefixtures("busybox")
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_run_line_on_the_engine_runs_or_leaves_nothing(ip, engine, data):
    words = _line(data.draw, [f for f in FLAGS if f not in NOT_ON_THE_ENGINE])
    ports = [w for before, w in zip([""] + words, words) if before in ("-p", "--publish")]
    if any(p not in PUBLISH_OK for p in ports):
        words = [w for before, w in zip([""] + words, words) if before not in ("-p", "--publish")
                 and w not in ("-p", "--publish")]
    name = f"jc-test-fuzz-{uuid.uuid4().hex[:8]}"
    line = f"run -d --name {name} {shlex.join(words)} {BUSYBOX} true"
    try:
        ip.run_line_magic("container", line)
    except UsageError as exc:
        assert "\n" not in str(exc).strip() and str(exc).startswith("container"), line
        assert not engine.containers.exists(name), f"refused but left behind: {line}"
    finally:
        try:
            engine.containers.remove(name, force=True, volumes=True, missing_ok=True)
        except Conflict:  # --rm: the engine is removing it already
            wait_for(lambda: not engine.containers.exists(name), 10, message=f"{name} to go")


def test_unreadable_env_files_are_one_line(tmp_path):
    """What the fuzz test found: a NUL in the path, and (next to it) a file that is not UTF-8."""
    from jupyter_containers.engine import InvalidArgument
    from jupyter_containers.engine.spec_parse import read_env_file

    with pytest.raises(InvalidArgument, match="cannot read the env file 'a\\\\x00b': embedded null byte"):
        read_env_file("a\x00b")
    (tmp_path / "latin1.env").write_bytes(b"NAME=caf\xe9\n")
    with pytest.raises(InvalidArgument, match="cannot read the env file .*latin1.env.*codec can't decode"):
        read_env_file(tmp_path / "latin1.env")
