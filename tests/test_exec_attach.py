"""exec and attach with stdin: the engine's hijacked connections, and %container exec / attach
against the docker CLI on the same engine."""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import shlex
import signal
import subprocess
import threading

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error, wait_for
from jupyter_containers.engine import ExecResult

pytestmark = pytest.mark.usefixtures("busybox")

PROBE = "env | sort; pwd; id; grep CapEff /proc/self/status"


def magic(ip, line: str, cell: str | None = None):
    name, _, rest = line.partition(" ")
    return ip.run_cell_magic(name, rest, cell) if cell is not None else ip.run_line_magic(name, rest)


def docker(engine, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The docker CLI on the same engine."""
    return subprocess.run(["/usr/bin/docker", *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DOCKER_HOST": engine.url})


@pytest.fixture
def box(engine, name):
    """A running busybox container named ``name``."""
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    return name


@contextlib.contextmanager
def screen():
    """What the magics print to stdout, readable from another thread while they run."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out


def once_printed(out: io.StringIO, text: str, action) -> list:
    """In a thread: wait until ``text`` was printed, then ``action()`` (also after a timeout,
    so a failing test ends); the list gets the timeout's error."""
    errors = []

    def run():
        try:
            wait_for(lambda: text in out.getvalue(), timeout=20, message=f"{text!r} to be printed")
        except AssertionError as exc:
            errors.append(exc)
        finally:
            action()
    threading.Thread(target=run, daemon=True).start()
    return errors


def create_stdin_once(engine, command: list[str], name: str | None = None):
    """A created container with stdin open and ``StdinOnce`` (what ``docker run -i`` in the foreground
    creates); through the low-level API where ``Containers.create`` does not set StdinOnce."""
    if "stdin_once" in inspect.signature(engine.containers.create).parameters:
        return engine.containers.create(BUSYBOX, command, name=name, stdin_open=True, stdin_once=True).id
    created = engine.api.create_container(BUSYBOX, command, name=name, stdin_open=True,  # docker-py: StdinOnce
                                          labels=dict(engine.labels))
    return created["Id"]


def interrupt() -> None:
    """A kernel interrupt: SIGINT to this process (its main thread runs the magic)."""
    os.kill(os.getpid(), signal.SIGINT)


# -- the engine layer -------------------------------------------------------------------------
def test_run_interactive_sequence_at_the_engine_level(engine):
    """What %%container run -i does: create with stdin open (StdinOnce), attach with stdin BEFORE
    start, start; the body goes in, EOF closes the container's stdin, the output comes out."""
    container = create_stdin_once(engine, ["sh", "-c", "wc -l"])
    config = engine.containers.inspect(container)["Config"]
    assert config["OpenStdin"] and config["StdinOnce"]
    with engine.containers.attach_stream(container, stdin=b"a\nb\nc\n") as stream:
        engine.containers.start(container)
        lines = [(line.stream, line.text) for line in stream]
    assert lines == [("stdout", "3")]
    assert engine.containers.wait(container, timeout=10) == 0


def test_exec_with_stdin_at_the_engine_level(engine, box):
    assert engine.containers.exec(box, "wc -l", stdin=b"a\nb\n") == ExecResult(0, "2\n", "")
    big = b"x" * 2_000_000 + b"\n"  # more than the sockets buffer: written while the output is read
    assert len(engine.containers.exec(box, "cat", stdin=big).output) == len(big)
    with engine.containers.exec_stream(box, ["sh", "-c", "cat; echo done >&2; exit 7"], stdin=b"in\n") as stream:
        # (the engine copies the two pipes on their own: their order against each other is not kept)
        assert sorted((line.stream, line.text) for line in stream) == [("stderr", "done"), ("stdout", "in")]
    assert stream.exit_code == 7


# -- %container exec ----------------------------------------------------------------------------
def test_exec_flags_match_the_docker_cli(ip, engine, box, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JC_FROM_HOST", "from the kernel")
    env_file = tmp_path / "app.env"
    env_file.write_text("# a comment\n\nFROM_FILE=one two\nQUOTED=\"kept as is\"\nJC_FROM_HOST\nEMPTY=\n")
    cases = [
        [],
        ["-e", "A=1", "-e", "B=two words", "-e", "JC_FROM_HOST", "-e", "JC_NOT_SET_ANYWHERE"],
        ["--env-file", str(env_file)],
        ["--env-file", str(env_file), "-e", "FROM_FILE=overridden"],
        ["-w", "/bin"],
        ["--workdir=/etc", "-u", "65534:65534"],
        ["--user", "1000"],
        ["--privileged"],
        ["-t"],
    ]
    capsys.readouterr()
    outputs = []
    for flags in cases:
        expected = docker(engine, "exec", *flags, box, "sh", "-c", PROBE)
        line = f"container exec {shlex.join(flags)} {box} sh -c {shlex.quote(PROBE)}"
        if expected.returncode == 126:  # could not start (a sandboxed engine may refuse --privileged)
            assert usage_error(ip, "%" + line) == f"container exec: {expected.stdout.strip()}", flags
            capsys.readouterr()
            outputs.append(None)
            continue
        assert expected.returncode == 0, (flags, expected.stdout, expected.stderr)
        result = magic(ip, line)
        shown = capsys.readouterr()
        assert shown.out == expected.stdout.replace("\r\n", "\n"), flags
        assert result.exit_code == 0 and result.output == shown.out and shown.err == ""
        outputs.append(shown.out.splitlines())
    # and the flags did something: the table is not the same output nine times
    assert {"A=1", "B=two words", "JC_FROM_HOST=from the kernel"} <= set(outputs[1])
    assert {"FROM_FILE=one two", 'QUOTED="kept as is"', "EMPTY="} <= set(outputs[2])
    assert "FROM_FILE=overridden" in outputs[3] and "FROM_FILE=one two" not in outputs[3]
    assert outputs[4][-3] == "/bin" and outputs[5][-3] == "/etc" and outputs[5][-2].startswith("uid=65534 gid=65534")
    assert outputs[7] is None or outputs[7][-1] != outputs[0][-1]  # CapEff
    assert "TERM=xterm" in outputs[8]  # a TTY


def test_exec_stdin_matches_the_docker_cli(ip, engine, box, capsys):
    script = 'read first; echo "first=$first"; wc -l; echo to-stderr >&2'
    body = "a\nb\nc\n"
    expected = docker(engine, "exec", "-i", box, "sh", "-c", script, stdin=body)
    result = magic(ip, f"container exec -i {box} sh -c {shlex.quote(script)}", body)
    shown = capsys.readouterr()
    assert (shown.out, shown.err) == (expected.stdout, expected.stderr) == ("first=a\n2\n", "to-stderr\n")
    assert (result.exit_code, result.output, result.stderr) == (0, "first=a\n2\n", "to-stderr\n")
    # -i on a line: stdin is empty, the command sees EOF at once (docker exec -i ... </dev/null)
    assert magic(ip, f"container exec -i {box} wc -c").output == "0\n"


def test_exec_streams_lines_as_they_come(ip, engine, box):
    wait = "i=0; while [ ! -f /go ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done"
    script = f"echo 1; {wait}; [ -f /go ] && echo released || echo gave up"
    with screen() as out:
        errors = once_printed(out, "1\n", lambda: engine.containers.exec(box, "touch /go"))
        magic(ip, f"container exec {box} sh -c {shlex.quote(script)}")
    assert not errors, "the first line was not printed while the command still ran"
    assert out.getvalue() == "1\nreleased\n"


def test_exec_exit_code_stderr_and_display(ip, box, capsys):
    result = magic(ip, f"container exec {box} sh -c 'echo out; echo err >&2; exit 4'")
    shown = capsys.readouterr()
    assert (shown.out, shown.err) == ("out\n[exit code 4]\n", "err\n")
    assert isinstance(result, ExecResult) and (result.exit_code, result.output, result.stderr) == (4, "out\n", "err\n")
    ip.run_cell(f"r = %container exec {box} echo streamed", store_history=True)
    ip.run_cell(f"%container exec {box} echo streamed", store_history=True)
    # printed as it came, not shown again by the cell (a terminal still writes its "Out[n]: " prompt)
    assert capsys.readouterr().out.count("streamed") == 2
    ip.run_cell("r", store_history=True)
    assert "streamed" in capsys.readouterr().out  # a later cell shows the result


def test_exec_detached_returns_its_id(ip, engine, box):
    exec_id = magic(ip, f"container exec -d {box} sh -c 'sleep 0.2; echo hi > /done'")
    assert len(exec_id) == 64 and str(exec_id).isalnum()
    wait_for(lambda: engine.containers.exec_exit_code(exec_id) == 0, message="the detached exec to end")
    assert engine.containers.exec(box, "cat /done").output == "hi\n"


def test_one_interrupt_ends_an_exec(ip, box):
    with screen() as out:
        errors = once_printed(out, "started", interrupt)
        assert magic(ip, f"container exec {box} sh -c 'echo started; exec sleep 600'") is None
    assert not errors
    assert out.getvalue().splitlines()[-1] == \
        f"container exec: interrupted; stopped following the output (the command may still run in {box})"


def test_exec_errors_are_one_line(ip, engine, box, name, tmp_path):
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nBAD KEY=2\n")
    engine.containers.create(BUSYBOX, "true", name=f"{name}-created")
    for code, expected in [
        (f"%container exec {name}-created true", "is not running"),
        ("%container exec jc-test-no-such-container true", "jc-test-no-such-container"),
        (f"%container exec {box}", "say which command to run"),
        (f"%container exec --env-file {tmp_path}/missing.env {box} true", "cannot read the env file"),
        (f"%container exec --env-file {bad} {box} true", "contains whitespace"),
        (f"%%container exec {box} cat\nbody", "add -i"),
        (f"%%container exec -d -i {box} cat\nbody", "takes no stdin"),
        (f"%%container exec -it {box} cat\nbody", "drop -t"),
        (f"%container exec -u nobody {box} true", "unable to find user nobody"),
        (f"%container exec {box} no-such-command", '"no-such-command": executable file not found'),
    ]:
        message = usage_error(ip, code)
        assert message.startswith("container exec: ") and expected in message, (code, message)


def test_exec_help_has_the_docker_cli_wording(ip, capsys):
    magic(ip, "container exec --help")
    text = " ".join(capsys.readouterr().out.split())
    for wording in ("Detached mode: run command in the background", "Set environment variables",
                    "Read in a file of environment variables", "Keep STDIN open even if not attached",
                    "Give extended privileges to the command", "Allocate a pseudo-TTY",
                    'Username or UID (format: "<name|uid>[:<group|gid>]")', "Working directory inside the container",
                    "Override the key sequence for detaching a container"):
        assert wording in text, wording


# -- %container attach --------------------------------------------------------------------------
TICKS = "trap 'echo got SIGINT; exit 130' INT; while :; do echo tick; sleep 0.1; done"


def test_attach_interrupt_sends_sigint(ip, engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", TICKS], name=name)
    with screen() as out:
        errors = once_printed(out, "tick", interrupt)
        assert magic(ip, f"container attach {name}") is None
    assert not errors and f"container attach: interrupted; sent SIGINT to {name}" in out.getvalue()
    assert engine.containers.wait(name, timeout=10) == 130


def test_attach_without_sig_proxy_only_detaches(ip, engine, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", TICKS], name=name)
    with screen() as out:
        errors = once_printed(out, "tick", interrupt)
        magic(ip, f"container attach --sig-proxy=false --detach-keys ctrl-x {name}")
    assert not errors and f"detached from {name}, which keeps running" in out.getvalue()
    assert engine.containers.get(name).state == "running"


def test_attach_follows_until_the_container_exits(ip, engine, name, capsys):
    script = "while [ ! -f /go ]; do echo tick; sleep 0.1; done; echo bye; echo bye-err >&2; exit 3"
    engine.containers.run(BUSYBOX, ["sh", "-c", script], name=name)
    with screen() as out:
        errors = once_printed(out, "tick", lambda: engine.containers.exec(name, "touch /go"))
        magic(ip, f"container attach --no-stdin {name}")
    assert not errors and out.getvalue().endswith("bye\n[exit code 3]\n")
    assert capsys.readouterr().err == "bye-err\n"


def test_attach_sends_the_cell_body_as_stdin(ip, engine, name, capsys):
    # created as `docker run -i` in the foreground does: StdinOnce, so the body's end closes stdin
    engine.containers.start(create_stdin_once(engine, ["sh", "-c", "wc -l"], name=name))
    magic(ip, f"container attach {name}", "a\nb\nc\n")
    assert capsys.readouterr().out == "3\n"
    assert engine.containers.wait(name, timeout=10) == 0


def test_attach_keeps_an_open_stdin_open(ip, engine, name):
    # `docker run -d -i`: stdin open, not StdinOnce; the body goes in and the container's stdin stays open
    started = docker(engine, "run", "-d", "-i", "--name", name, "--label", f"{TEST_LABEL}={RUN_ID}", BUSYBOX,
                     "sh", "-c", 'while read line; do echo "got $line"; done; echo "stdin closed"')
    assert started.returncode == 0, started.stderr
    with screen() as out:
        errors = once_printed(out, "got world", interrupt)
        magic(ip, f"container attach --sig-proxy=false {name}", "hello\nworld\n")
    assert not errors and out.getvalue().startswith("got hello\ngot world\n")
    assert engine.containers.get(name).state == "running" and "stdin closed" not in engine.containers.logs(name)


def test_attach_errors_are_one_line(ip, engine, box, name):
    engine.containers.create(BUSYBOX, "true", name=f"{name}-created")
    assert usage_error(ip, f"%container attach {name}-created") == \
        f"container attach: you cannot attach to a stopped container ({name}-created); start it first"
    assert usage_error(ip, f"%%container attach {box}\nbody") == \
        f"container attach: {box} has no stdin open for the cell body; create it with -i"
    assert "--no-stdin and a cell body" in usage_error(ip, f"%%container attach --no-stdin {box}\nbody")
    engine.containers.run(BUSYBOX, "sleep 300", name=f"{name}-tty", tty=True, stdin_open=True)
    assert "has a TTY (-t)" in usage_error(ip, f"%%container attach {name}-tty\nbody")
    assert "'maybe' is not true or false" in usage_error(ip, f"%container attach --sig-proxy=maybe {box}")
    assert "jc-test-no-such-container" in usage_error(ip, "%container attach jc-test-no-such-container")


def test_attach_help(ip, capsys):
    magic(ip, "container attach --help")
    text = " ".join(capsys.readouterr().out.split())
    for wording in ("Attach local standard input, output, and error streams to a running container",
                    "Do not attach STDIN", "Proxy all received signals to the process (default true)",
                    "Override the key sequence for detaching a container",
                    "in a notebook the kernel's interrupt button detaches"):
        assert wording in text, wording
