"""%container and %%container in-process, through IPython's InteractiveShell."""

from __future__ import annotations

import os
import re
import signal
import threading
import uuid

import pandas as pd
import pytest
import requests

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port, usage_error, wait_for
from jupyter_containers.engine import Container, ExecResult, Image
from jupyter_containers.engine.records import CLEANUP_LABEL, SESSION_LABEL
from jupyter_containers.magics.container import container_commands
from jupyter_containers.magics.display import JSONView, Text

pytestmark = pytest.mark.usefixtures("busybox")




def magic(ip, line: str, cell: str | None = None):
    if cell is not None:
        name, _, rest = line.partition(" ")
        return ip.run_cell_magic(name, rest, cell)
    name, _, rest = line.partition(" ")
    return ip.run_line_magic(name, rest)




def test_help_lists_every_subcommand(ip, capsys):
    assert magic(ip, "container --help") is None
    out = capsys.readouterr().out
    for name in ("run", "create", "start", "stop", "restart", "kill", "pause", "unpause", "rm", "rename", "ps",
                 "logs", "exec", "inspect", "top", "port", "wait", "pull", "push", "build", "images", "rmi",
                 "tag", "history", "login", "logout", "volume ls", "volume create", "volume rm", "volume inspect",
                 "volume prune", "network ls", "network create", "network rm", "network inspect", "network prune",
                 "info", "version", "df", "events", "prune"):
        assert f"  {name} " in out, name
    assert magic(ip, "container run --help") is None
    out = capsys.readouterr().out
    assert "usage: container run" in out and "--publish" in out and "127.0.0.1:8080:80" in out


@pytest.mark.parametrize("line, expected", [
    ("%container frobnicate", "container: unknown command 'frobnicate'"),
    ("%container ps --bogus", "container ps: unrecognized arguments: --bogus"),
    ("%container rename onlyone", "container rename: the following arguments are required: new_name"),
    ("%container volume", "container volume: say one of"),
    ("%container stop jc-test-no-such-container", "container stop: No such container"),
    ("%container run -p 99999:80 jupyter-containers/busybox:test", "container run: invalid port spec"),
    ("%container run Bad/Image", "container run: invalid image reference 'Bad/Image'"),
    ("%container exec", "container exec: the following arguments are required: container"),
    ("%container logs 'unclosed", "container: No closing quotation"),
    ("%container logs --tail abc x", "container logs: argument -n/--tail: 'abc' is not a number of lines (or 'all')"),
    ("%container stats --retention -1", "container stats: argument --retention: '-1' is not a positive float"),
    ("%container stats --window nan", "container stats: argument --window: 'nan' is not a positive float"),
    ("%container registry tags 127.0.0.1:1/x -n 0", "container registry tags: argument -n/--page-size: '0' is not"),
    ("%compose logs -p x --tail -3", "compose logs: argument -n/--tail: '-3' is not a number of lines"),
    ("%compose exec -p x --index 0 web ls", "compose exec: argument --index: '0' is not a positive int"),
])
def test_bad_input_is_one_line(ip, line, expected):
    assert expected in usage_error(ip, line)


def test_run_detached_with_interpolation(ip, name):
    port = free_port()
    ip.user_ns.update(cname=name, port=port)
    result = ip.run_cell("c = %container run -d --name {cname} -p 127.0.0.1:$port:80 -e K=V "
                         f"{BUSYBOX} httpd -f -p 80 -h /etc")
    assert result.success
    c = ip.user_ns["c"]
    assert isinstance(c, Container) and c.name == name and c.state == "running"
    assert f'href="http://127.0.0.1:{port}"' in c._repr_html_()
    assert requests.get(f"http://127.0.0.1:{port}/hostname", timeout=5).status_code == 200
    labels = c.labels
    assert labels[SESSION_LABEL] and labels[TEST_LABEL] == RUN_ID and CLEANUP_LABEL not in labels


def test_run_foreground_prints_and_removes(ip, name, capsys):
    result = magic(ip, f"container run --rm --name {name} {BUSYBOX} sh -c 'echo hello from $HOSTNAME; exit 3'")
    out = capsys.readouterr().out
    assert "hello from" in out and "[exit code 3]" in out and result is None
    assert not magic(ip, f"container ps -a -q --filter name={name}")


def interrupt_when_running(engine, name: str, to_this_thread: bool = False) -> threading.Thread:
    """Send this process one SIGINT (a kernel interrupt) once ``name`` runs and has printed; with
    ``to_this_thread`` the signal lands on the sender's thread, not the main one (the kernel may do that)."""
    def send():
        wait_for(lambda: engine.containers.exists(name) and "started" in engine.containers.logs(name),
                 timeout=20, message="the foreground container to start")
        if to_this_thread:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        else:
            os.kill(os.getpid(), signal.SIGINT)
    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("script, exit_code", [
    ("trap 'echo got SIGINT; exit 130' INT; echo started; while :; do sleep 0.1; done", 130),  # ends on SIGINT
    ("echo started; exec sleep 600", 137),  # PID 1 ignores SIGINT and SIGTERM: stopped, then killed
])
def test_one_interrupt_ends_a_foreground_run(ip, engine, name, capsys, script, exit_code):
    sender = interrupt_when_running(engine, name)
    result = magic(ip, f"container run --name {name} {BUSYBOX} sh -c {script!r}")
    sender.join(timeout=1)
    out = capsys.readouterr().out
    assert f"interrupted; {name} stopped" in out and f"[exit code {exit_code}]" in out
    assert result.state == "exited" and engine.containers.get(name).state == "exited"  # nothing left running


def test_an_interrupt_that_lands_on_another_thread_still_ends_a_quiet_run(ip, engine, name, capsys):
    """The main thread waits for output it will never get (sleep prints nothing): the interrupt must
    reach it anyway, though the signal was handled in another thread."""
    sender = interrupt_when_running(engine, name, to_this_thread=True)
    result = magic(ip, f"container run --name {name} {BUSYBOX} sh -c 'echo started; exec sleep 600'")
    sender.join(timeout=1)
    assert f"interrupted; {name} stopped" in capsys.readouterr().out and result.state == "exited"


def test_one_interrupt_ends_a_foreground_run_and_removes_it(ip, engine, name, capsys):
    sender = interrupt_when_running(engine, name)
    assert magic(ip, f"container run --rm --name {name} {BUSYBOX} sh -c 'echo started; exec sleep 600'") is None
    sender.join(timeout=1)
    assert f"interrupted; {name} stopped" in capsys.readouterr().out and not engine.containers.exists(name)


def test_ps_and_lifecycle(ip, name, capsys):
    magic(ip, f"container run -d --name {name} {BUSYBOX} sleep 300")
    frame = magic(ip, f"container ps --filter name={name}")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["id", "name", "image", "command", "created", "status", "state", "ports"]
    assert frame["name"].tolist() == [name]
    state = lambda: magic(ip, f"container ps -a --filter name={name}")["state"].iloc[0]  # noqa: E731
    magic(ip, f"container pause {name}")
    assert state() == "paused"
    magic(ip, f"container unpause {name}")
    magic(ip, f"container stop -t 0 {name}")
    assert state() == "exited"
    assert isinstance(magic(ip, f"container start {name}"), Container)
    magic(ip, f"container kill {name}")
    assert magic(ip, f"container wait {name}") == 137
    magic(ip, f"container rename {name} {name}-x")
    magic(ip, f"container rm {name}-x")
    assert "removed: " in capsys.readouterr().out
    assert magic(ip, f"container ps -a -q --filter name={name}") == ""


def test_logs_exec_top_port_inspect(ip, name, capsys):
    port = free_port()
    magic(ip, f"container run -d --name {name} -p 127.0.0.1:{port}:80 {BUSYBOX} "
              "sh -c 'echo one; echo two; exec httpd -f -p 80 -h /etc'")
    wait_for(lambda: "two" in magic(ip, f"container logs {name}"), message="the container's output")
    text = magic(ip, f"container logs --tail 1 {name}")
    assert isinstance(text, Text) and text == "two\n"
    result = magic(ip, f"container exec {name} sh -c 'echo out; exit 5'")
    assert isinstance(result, ExecResult) and (result.exit_code, result.output) == (5, "out\n")
    ip.run_cell(f"%container exec {name} sh -c 'exit 5'")
    assert "[exit code 5]" in capsys.readouterr().out
    top = magic(ip, f"container top {name}")
    assert isinstance(top, pd.DataFrame) and top.apply(lambda r: "httpd" in " ".join(map(str, r)), axis=1).any()
    assert magic(ip, f"container port {name}") == f"80/tcp -> 127.0.0.1:{port}"
    data = magic(ip, f"container inspect {name}")
    assert isinstance(data, JSONView) and data["Name"] == f"/{name}"
    assert data._repr_json_()[1]["root"] == name
    assert BUSYBOX in magic(ip, f"container inspect {BUSYBOX}")["RepoTags"]
    assert "no container, image, volume or network named" in usage_error(ip, "%container inspect jc-nothing-at-all")


def test_logs_follow_until_exit(ip, name, capsys):
    magic(ip, f"container run -d --name {name} {BUSYBOX} sh -c 'for i in 1 2 3; do echo tick$i; done'")
    assert magic(ip, f"container logs -f {name}") is None
    assert capsys.readouterr().out.split() == ["tick1", "tick2", "tick3"]


def test_build_cell_tag_history_rmi(ip, name, capsys):
    tag = f"jc-test/{name}:1"
    try:
        image = magic(ip, f"container build -t {tag} --build-arg WORD=built",
                      f"FROM {BUSYBOX}\nARG WORD\nRUN echo $WORD > /word\n")
        assert isinstance(image, Image) and tag in image.tags
        assert ": RUN echo $WORD > /word" in capsys.readouterr().out
        other = magic(ip, f"container tag {tag} jc-test/{name}:2")
        assert f"jc-test/{name}:2" in other.tags
        frame = magic(ip, f"container images jc-test/{name}")
        assert sorted(frame["tag"]) == ["1", "2"]
        history = magic(ip, f"container history {tag}")
        assert "echo $WORD" in " ".join(history["created_by"])
        run = magic(ip, f"container run --rm {tag} cat /word")
        assert run is None and "built" in capsys.readouterr().out
        message = usage_error(ip, f"%%container build -t {tag}\nFROM {BUSYBOX}\nRUN sh -c 'echo kaboom; exit 2'\n")
        assert message.startswith("container build: build failed at") and "kaboom" in message
    finally:
        for t in ("1", "2"):
            ip.run_cell(f"%container rmi -f jc-test/{name}:{t}")
    assert magic(ip, f"container images jc-test/{name}").empty


def test_push_pull_with_text_progress(ip, registry, name, capsys):
    ref = f"{registry}/jc-test/{name}:1"
    try:
        magic(ip, f"container tag {BUSYBOX} {ref}")
        pushed = magic(ip, f"container push {ref}")
        assert isinstance(pushed, Image)
        out = capsys.readouterr().out
        assert f"pushed {ref} (sha256:" in out and "layers" in out
        magic(ip, f"container rmi {ref}")
        pulled = magic(ip, f"container pull {ref}")
        assert ref in pulled.tags and f"pulled {ref}" in capsys.readouterr().out
        assert "container pull:" in usage_error(ip, f"%container pull {registry}/jc-test/{name}:missing")
    finally:
        ip.run_cell(f"%container rmi -f {ref}")


def test_progress_ends_full_when_the_pull_succeeded(ip, registry, name, capsys):
    """Layers that exist already, or whose last line carries no byte counts, end at 100 % too."""
    from jupyter_containers.engine import PullProgress
    from jupyter_containers.magics.display import LayerProgress

    progress = LayerProgress("pulling x", "widgets")
    for event in [PullProgress("aaa", "Already exists"), PullProgress("bbb", "Downloading", 50, 100),
                  PullProgress("bbb", "Verifying Checksum")]:
        progress(event)
    progress.finish("pulled x")
    assert progress._total.value == 1 and progress._total.bar_style == "success"
    assert [bar.value for bar, _ in progress._bars.values()] == [1, 1]
    assert progress.totals()[:2] == (2, 2)

    ref = f"{registry}/jc-test/{name}:run"
    magic(ip, f"container build -t {ref}", f"FROM {BUSYBOX}\nRUN echo {name} > /marker\n")
    magic(ip, f"container push {ref}")
    magic(ip, f"container rmi {ref}")
    capsys.readouterr()
    try:  # run pulls it (the base layer is here already, the new one is not) and says the pull ended
        magic(ip, f"container run --rm {ref} true")
        out = capsys.readouterr().out
        assert re.search(rf"pulling {re.escape(ref)}: (\d+)/\1 layers", out) and f"pulled {ref}" in out
    finally:
        ip.run_cell(f"%container rmi -f {ref}")


def test_volumes_networks_system(ip, name, capsys):
    assert magic(ip, f"container volume create {name}") == name
    assert name in magic(ip, f"container volume ls --filter name={name}")["name"].tolist()
    assert magic(ip, f"container volume inspect {name}")["Name"] == name
    magic(ip, f"container volume rm {name}")
    assert magic(ip, f"container volume ls --filter name={name}").empty
    magic(ip, f"container network create {name}")
    assert magic(ip, f"container network ls --filter name={name}")["name"].tolist() == [name]
    assert magic(ip, f"container network inspect {name}")["Name"] == name
    pruned = magic(ip, f"container network prune --filter label={TEST_LABEL}={RUN_ID}")
    assert name in pruned["deleted"]
    assert magic(ip, "container info")["ID"] and magic(ip, "container version")["ApiVersion"]
    assert "images" in magic(ip, "container df")["type"].tolist()
    magic(ip, f"container create --name {name} {BUSYBOX} true")
    result = magic(ip, f"container prune container --filter label={TEST_LABEL}={RUN_ID}")
    assert result["deleted"] and "deleted" in capsys.readouterr().out


def test_engine_says_which_engine_and_how_it_was_found(ip, engine):
    summary = magic(ip, "container engine")
    version = engine.system.version()
    assert summary.rows["engine"] == engine.url and summary.rows["found by"] == engine.source
    assert f"{version['Version']} (API {version['ApiVersion']})" in summary.rows["server"]
    assert "recorded session" not in repr(summary) + summary._repr_html_()  # a real engine, not a replay
    assert engine.url in summary._repr_html_()


def test_events_between_times(ip, name, capsys):
    import time

    start = time.time()
    magic(ip, f"container run --rm --name {name} {BUSYBOX} true")
    assert magic(ip, f"container events --since {start:.3f} --until {time.time() + 1:.3f} "
                     f"--filter container={name}") is None
    out = capsys.readouterr().out
    assert f"container start {name}" in out and f"container die {name}" in out


def test_session_flag_labels_for_cleanup(ip, name):
    c = magic(ip, f"container run -d --session --name {name} {BUSYBOX} sleep 300")
    assert c.labels[CLEANUP_LABEL] == "session"
    magics = ip.magics_manager.registry["ContainerMagics"]
    assert magics._watcher is not None and magics._watcher.poll() is None


def test_login_keeps_the_password_out_of_everything(ip, registry, capsys):
    ip.user_ns["secret_pw"] = "s3cret-Pa55word"
    ip.run_cell(f"%container login {registry} -u alice --password-variable secret_pw")
    out, err = capsys.readouterr()
    assert f"logged in to {registry} as alice" in out
    history = "\n".join(cell for _, _, cell in ip.history_manager.get_range())
    for text in (out, err, history, repr(ip.magics_manager.registry["ContainerMagics"].engine.credentials)):
        assert "s3cret-Pa55word" not in text
    assert "no variable named 'nope'" in usage_error(ip, f"%container login {registry} -u a --password-variable nope")
    ip.run_cell(f"%container logout {registry}")


@pytest.mark.parametrize("line", [
    "%container login 127.0.0.1:5000 -u alice -p {secret}",
    "%container login 127.0.0.1:5000 -u alice --password={secret}",
    "%container push -p {secret} x",
    "%container login -p {secret}",
])
def test_a_password_on_the_line_is_never_echoed_nor_kept(ip, line):
    secret = f"tok-{uuid.uuid4().hex[:10]}"
    result = ip.run_cell(line.format(secret=secret))
    message = str(result.error_in_exec)
    assert message.startswith("container ") and secret not in message
    history = "\n".join(cell for _, _, cell in ip.history_manager.get_range(raw=True))
    history += "\n".join(cell for _, _, cell in ip.history_manager.get_range(raw=False))
    kept = [v for k, v in ip.user_ns.items() if k in ("_i", "_ii", "_iii", "In", "_ih") or k.startswith("_i")]
    assert secret not in history and secret not in repr(kept)


def test_every_subcommand_has_help(ip, capsys):
    for name in container_commands.commands:
        assert magic(ip, f"container {name} --help") is None
        assert f"usage: container {name}" in capsys.readouterr().out
