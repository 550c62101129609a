"""The replay engine: a session recorded on the real engine and registry, then run
again against its replay with no engine reachable; the recording's format and
secrets; streams with their timing; what a replay says about what it never saw.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import BUSYBOX, RUN_ID, short_tmp, usage_error, wait_for
from jupyter_containers.engine import Engine, NotRecorded
from jupyter_containers.replay import FORMAT_VERSION, load
from jupyter_containers.replay.recording import Recording, key
from jupyter_containers.replay.server import Timeline

PASSWORD = "pw-never-stored-7Qz"
CLI = [sys.executable, "-m", "jupyter_containers.cli", "replay"]

SESSION = '''
"""A small session, recorded against the real engine, then run again against its replay."""
import sys, threading

from jupyter_containers.engine import Engine
from jupyter_containers.engine.registry_api import Registries
from jupyter_containers.stats import snapshot

name, registry, run_id, password, busybox = sys.argv[1:6]
engine = Engine.connect(labels={"io.jupyter.containers.test": run_id})
print("engine.replay:", engine.replay, file=sys.stderr)
mine = {"name": [name]}


def say(title, *values):
    print(f"== {title}")
    print(*values)


def show(title, frame):
    print(f"== {title}: {list(frame.columns)}")
    print(frame.to_csv(index=False, header=False), end="")


events, seen, both_gone = engine.system.events(filters={"container": [name, name + "-f"]}), [], threading.Event()
def collect():
    for event in events:
        seen.append((event.name, event.action))
        if sum(action == "destroy" for _, action in seen) >= 2:
            both_gone.set()
watcher = threading.Thread(target=collect, daemon=True)
watcher.start()

say("info", engine.system.info()["OperatingSystem"])
show("ps before", engine.containers.frame(all=True, filters=mine))
c = engine.containers.run(busybox, ["sh", "-c", "echo hello; exec sleep 60"], name=name)
say("run", c.id, c.name, c.state)
show("ps after", engine.containers.frame(all=True, filters=mine))
print("== logs"); print(engine.containers.logs(name), end="")
r = engine.containers.exec(name, ["sh", "-c", "echo out; echo err >&2; exit 3"])
say("exec", r.exit_code, repr(r.output), repr(r.stderr))
f = engine.containers.run(busybox, ["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done"],
                          name=name + "-f")
print("== follow:", f.name)
with engine.containers.follow_logs(f.name) as lines:
    for line in lines:
        print(line.stream, line.text)
show("stats", snapshot(engine, [name]))
engine.credentials.login(registry, "alice", password)
image = f"{registry}/jc-replay/{name}:1"
engine.images.tag(busybox, image)
say("push", engine.images.push(image))
engine.images.remove(image)
pulled = engine.images.pull(image)
say("pull", pulled.id, image in pulled.tags)
registries = Registries.of(engine)
say("catalog", f"jc-replay/{name}" in registries.catalog(registry))
show("tags", registries.tags_frame(f"{registry}/jc-replay/{name}"))
engine.images.remove(image)
engine.containers.remove(name, force=True)
engine.containers.remove(f.name, force=True)
show("ps end", engine.containers.frame(all=True, filters=mine))
both_gone.wait(10)
events.close()
say("events", *seen)
'''


def run(args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def sections(out: str) -> dict[str, list[str]]:
    found, current = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            current = found.setdefault(line[3:].split(":")[0], [])
        elif current is not None:
            current.append(line)
    return found


def offline_env(sock: Path, home: Path) -> dict:
    """A process environment that can reach the replay and nothing else: DOCKER_HOST is
    the replay, no default socket or private engine is findable, and any direct HTTP
    (to the registry) goes to a proxy that refuses."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DOCKER_") and k.lower() not in ("xdg_runtime_dir", "no_proxy")}
    dead = "http://127.0.0.1:9"
    env.update(DOCKER_HOST=f"unix://{sock}", HOME=str(home), JUPYTER_CONTAINERS_STATE_DIR=str(home / "state"),
               HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead)
    return env


@contextmanager
def serving(folder: Path, sock: Path):
    """``replay serve`` on ``sock``; yields the process once it answers."""
    process = subprocess.Popen([*CLI, "serve", "--socket", str(sock), str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: sock.exists() or process.poll() is not None, message="the replay socket")
        assert process.poll() is None, process.stderr.read()
        assert process.stdout.readline().strip() == f"DOCKER_HOST=unix://{sock}"
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not sock.exists()
    assert process.stdout.read() == "" and process.stderr.read() == ""  # it writes nothing else


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float = 10.0):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def open_sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass
    return count


def exchanges(folder: Path) -> list[dict]:
    return load(folder)[0].exchanges


def target(exchange: dict) -> str:
    query = exchange.get("query") or {}
    return "/v1.41" + exchange["path"] + (f"?{urlencode(query)}" if query else "")


@pytest.fixture(scope="module")
def session(engine, busybox, registry):
    """The session recorded once through ``replay record`` (in a dir of recordings,
    as binder/ keeps them): its folders, printed output and arguments."""
    root = short_tmp()
    name = f"jc-replay-{RUN_ID}"
    script = root / "session.py"
    script.write_text(SESSION)
    recordings = root / "recordings"
    args = [sys.executable, str(script), name, registry, RUN_ID, PASSWORD, BUSYBOX]
    result = run([*CLI, "record", "--out", str(recordings / "01-session"), "--engine", engine.url, "--", *args])
    assert result.returncode == 0, result.stderr
    yield {"root": root, "recordings": recordings, "folder": recordings / "01-session", "args": args,
           "out": result.stdout, "err": result.stderr, "name": name, "registry": registry}
    for ref in (name, f"{name}-f"):
        engine.containers.remove(ref, force=True, missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)


def test_the_replay_prints_what_the_engine_did(session):
    out = session["out"]
    parts = sections(out)
    assert "engine.replay: recording" in session["err"]
    assert parts["ps before"] == [] and len(parts["ps after"]) == 1 and parts["ps end"] == []
    assert parts["exec"] == ["3 'out\\n' 'err\\n'"]
    assert parts["follow"] == ["stdout line 1", "stdout line 2", "stdout line 3"]
    assert parts["catalog"] == ["True"] and parts["tags"][0].endswith(f"/jc-replay/{session['name']}:1")
    assert "'destroy')" in parts["events"][0] and session["name"] in parts["stats"][0]

    sock = session["root"] / "replay.sock"
    home = session["root"] / "home"
    home.mkdir()
    with serving(session["recordings"], sock):
        for _ in range(2):  # twice: the cursor wraps around to the start
            replayed = run(session["args"], env=offline_env(sock, home))
            assert replayed.returncode == 0, replayed.stderr
            # ids, names, frames; and the same ps request answered with no row before the create,
            # one row after it and none after the removal, as the cursor moved along
            assert replayed.stdout == out
            assert "engine.replay: replay" in replayed.stderr


def test_the_recording_format(session):
    file = session["folder"] / "recording.json"
    text = file.read_text()
    assert len(text) < 200_000
    lines = text.splitlines()
    header = json.loads(lines[0].removesuffix('"exchanges":[') + '"x":0}')
    assert header["version"] == FORMAT_VERSION and isinstance(header["version"], int)
    assert header["recorded"][:4].isdigit() and header["engine"]["ApiVersion"]
    found = exchanges(session["folder"])
    assert len(lines) == len(found) + 2  # one exchange per line
    assert all(not e["path"].startswith("/v1.") for e in found)
    assert all("Date" not in e["headers"] for e in found) and "Api-Version" in found[-1]["headers"]
    assert [e["t"] for e in found] == sorted(e["t"] for e in found)

    hijack = next(e for e in found if "hijack" in e)
    assert hijack["path"].startswith("/exec/") and hijack["status"] == 101
    assert {row[1] for row in hijack["hijack"]["frames"]} == {"server"}
    follow = next(e for e in found if e["path"].endswith("-f/logs") and e["query"]["follow"] == "True")
    chunks = follow["stream"]["chunks"]
    assert follow["stream"]["ended"] == "server" and chunks[-1][0] - chunks[0][0] > 0.4
    stats = next(e for e in found if e["path"].endswith("/stats"))
    assert stats["stream"]["ended"] == "client"
    events = next(e for e in found if e["path"] == "/events")
    assert events["stream"]["ended"] == "client"
    # the events stream stayed open while everything else happened (other pooled connections)
    assert sum(1 for e in found if e["t"] > events["t"]) > 20
    push = next(e for e in found if e["path"].endswith("/push"))
    assert "stream" in push and "X-Registry-Auth" not in push.get("request_headers", {})
    gateway = [e for e in found if e["path"].startswith("/_registry/")]
    assert {e["status"] for e in gateway} >= {200, 599}  # HTTPS refused, then plain HTTP (loopback)
    assert any(e["path"].endswith("/v2/_catalog") for e in gateway)


def test_secrets_never_reach_the_recording(session):
    text = (session["folder"] / "recording.json").read_text()
    assert PASSWORD not in text
    assert base64.b64encode(PASSWORD.encode()).decode()[:12] not in text
    found = exchanges(session["folder"])
    secret = {"x-registry-auth", "x-registry-config", "authorization"}
    assert not [e for e in found if secret & {h.lower() for h in e.get("request_headers", {})}]
    auth = next(e for e in found if e["path"] == "/auth")
    assert auth["request"]["json"]["password"] == "***" and auth["request"]["json"]["username"] == "alice"


def test_streams_keep_their_timing_and_a_client_ended_one_stays_open(session, short_dir):
    found = exchanges(session["folder"])
    follow = next(e for e in found if e["path"].endswith("-f/logs") and e["query"]["follow"] == "True")
    stats = next(e for e in found if e["path"].endswith("/stats"))
    sock = short_dir / "r.sock"
    with serving(session["folder"], sock) as server:
        idle = open_sockets(server.pid)
        conn = UnixConnection(sock)
        conn.request("GET", target(follow))
        response = conn.getresponse()
        started, arrivals = time.monotonic(), []
        while data := response.read1(65536):
            arrivals.append((time.monotonic() - started, data))
        recorded = follow["stream"]["chunks"]
        expected = b"".join(row[1].encode() for row in recorded)
        assert b"".join(d for _, d in arrivals) == expected
        assert arrivals[-1][0] >= recorded[-1][0] - recorded[0][0] - 0.05  # spread as recorded
        assert response.getheader("X-Jupyter-Containers-Replay") == "replay"
        conn.close()
        wait_for(lambda: open_sockets(server.pid) == idle, message="the replay to close the ended stream")

        conn = UnixConnection(sock)
        conn.request("GET", target(stats))
        response = conn.getresponse()
        total = sum(len(row[1].encode()) for row in stats["stream"]["chunks"])
        got = b""
        while len(got) < total:
            got += response.read1(65536)
        conn.sock.settimeout(1.0)
        with pytest.raises(TimeoutError):  # every chunk came, and the stream is still open
            response.read1(65536)
        assert open_sockets(server.pid) == idle + 1  # the replay holds its end open too
        conn.close()
        wait_for(lambda: open_sockets(server.pid) == idle, message="the replay to let the stream go")


def test_ping_version_info_and_what_was_never_recorded(session, ip, short_dir):
    sock = short_dir / "r.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))  # a socket file nobody listens on, as a killed server leaves it
    stale.close()
    with serving(session["recordings"], sock):
        conn = UnixConnection(sock)
        for _ in range(2):  # one kept-alive connection
            conn.request("GET", "/_ping")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b"OK"
            assert response.getheader("Api-Version") == "1.41"
        conn.close()

        engine = Engine.connect(f"unix://{sock}")
        assert engine.replay == "replay" and engine.with_labels({"a": "b"}).replay == "replay"
        assert engine.system.version()["ApiVersion"] == "1.41"
        assert engine.system.version()["Platform"]["Name"].startswith("replay of a session recorded on ")
        assert engine.system.info()["Name"].startswith("replay of a session recorded on 20")
        with pytest.raises(NotRecorded) as caught:
            engine.containers.inspect("nosuch")
        assert caught.value.kind == "not-recorded" and caught.value.status == 501
        engine.close()

        ip.run_line_magic("config", f"ContainerMagics.engine_url = 'unix://{sock}'")
        try:
            started = time.monotonic()
            message = usage_error(ip, "%container inspect nosuch")
            assert time.monotonic() - started < 5
        finally:
            ip.run_line_magic("config", "ContainerMagics.engine_url = None")
    assert message == ("container inspect: not in the recorded session: GET /containers/nosuch/json; "
                       "this notebook runs against a replay (see binder/)")


def test_serve_refuses_what_it_cannot_replay(short_dir):
    sock = short_dir / "r.sock"
    missing = short_dir / "missing"
    result = run([*CLI, "serve", "--socket", str(sock), str(missing)])
    assert result.returncode == 1 and str(missing) in one_line(result.stderr)
    empty = short_dir / "empty"
    (empty / "sub").mkdir(parents=True)
    result = run([*CLI, "serve", "--socket", str(sock), str(empty)])
    assert result.returncode == 1 and "no recording" in one_line(result.stderr)
    old = short_dir / "old"
    old.mkdir()
    (old / "recording.json").write_text(json.dumps({"format": "jupyter-containers replay", "version": 0,
                                                    "exchanges": []}))
    result = run([*CLI, "serve", "--socket", str(sock), str(old)])
    line = one_line(result.stderr)
    assert result.returncode == 1 and str(old / "recording.json") in line and "version 0" in line
    assert not sock.exists()


def test_record_exits_with_the_command_code(short_dir):
    out = short_dir / "rec"
    code = "import os, sys; assert os.environ['JUPYTER_CONTAINERS_RECORDING'] == '1'; sys.exit(7)"
    result = run([*CLI, "record", "--out", str(out), "--", sys.executable, "-c", code])
    assert result.returncode == 7, result.stderr
    assert load(out)[0].header["version"] == FORMAT_VERSION
    result = run([*CLI, "record", "--out", str(out), "--engine", f"unix://{short_dir}/none.sock",
                  "--", sys.executable, "-c", "pass"])
    assert result.returncode == 1 and "no container engine answers" in one_line(result.stderr)
    result = run([*CLI, "record", "--out", str(out), "--", str(short_dir / "no-such-command")])
    assert result.returncode == 1 and "cannot run" in one_line(result.stderr)


def test_the_docker_cli_records_and_replays(engine, busybox, short_dir, name):
    """The docker CLI is a client too: its hijacked attach and exec close their stdin at
    once (or after piping some in), which must not end the engine's output."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("the docker CLI is not installed; `make test` installs docker.io")
    script = short_dir / "cli.sh"
    script.write_text(f"""set -e
docker run --rm --name {name}-r {BUSYBOX} sh -c 'echo from run; echo to stderr >&2'
docker run -d --name {name} --label io.jupyter.containers.test={RUN_ID} {BUSYBOX} sleep 60 >/dev/null
docker exec {name} sh -c 'echo from exec'
echo piped in | docker exec -i {name} cat
docker rm -f {name}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    recorded = run([*CLI, "record", "--out", str(short_dir / "rec"), "--engine", engine.url,
                    "--", "sh", str(script)], env=env)
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.splitlines() == ["from run", "from exec", "piped in", name]
    sock = short_dir / "r.sock"
    with serving(short_dir / "rec", sock):
        replayed = run(["sh", str(script)], env=offline_env(sock, short_dir))
    assert (replayed.returncode, replayed.stdout, replayed.stderr) == (0, recorded.stdout, recorded.stderr)


def test_the_cursor_takes_the_next_match_wraps_around_and_prefers_an_equal_body():
    def exchange(path, answer, body=None, method="GET", query=None):
        return {"method": method, "path": path, "query": query or {}, "status": 200, "headers": {},
                "body": {"json": answer}, **({"request": {"json": body}} if body else {})}

    first = Recording("01", {"recorded": "2025-06-01T10:00:00+00:00"}, [
        exchange("/containers/json", []),
        exchange("/containers/create", {"Id": "a"}, {"Image": "a"}, "POST"),
        exchange("/containers/json", ["a"])])
    second = Recording("02", {}, [exchange("/containers/create", {"Id": "b"}, {"Image": "b"}, "POST"),
                                  exchange("/containers/json", ["a", "b"])])
    timeline = Timeline([first, second])
    answer = lambda *request: timeline.take(*request)["body"]["json"]  # noqa: E731
    assert answer("GET", "/containers/json", {}, None) == []
    assert answer("POST", "/containers/create", {}, {"json": {"Image": "b"}}) == {"Id": "b"}  # the equal body
    assert answer("GET", "/containers/json", {}, None) == ["a", "b"]
    assert answer("GET", "/containers/json", {}, None) == []  # wrapped around: run it again
    assert answer("POST", "/containers/create", {}, {"json": {"Image": "c"}}) == {"Id": "a"}  # the next one
    assert answer("GET", "/containers/json", {}, None) == ["a"]
    assert timeline.take("GET", "/containers/x/json", {}, None) is None
    assert timeline.recorded_on == "2025-06-01"

    # three streams opened at once, asked for in another order than recorded: each gets its own
    streams = Recording("03", {}, [exchange("/containers/a/stats", "short a"), exchange("/containers/json", []),
                                   *(dict(exchange(f"/containers/{c}/stats", f"long {c}"), t=10 + n / 10)
                                     for n, c in enumerate("abc"))])
    timeline = Timeline([streams])
    assert answer("GET", "/containers/a/stats", {}, None) == "short a"
    assert answer("GET", "/containers/json", {}, None) == []
    assert [answer("GET", f"/containers/{c}/stats", {}, None) for c in "cba"] == ["long c", "long b", "long a"]
    assert answer("GET", "/containers/a/stats", {}, None) == "short a"  # served: the next run starts again
    # a query matches whatever order its keys and filters come in; a clock-made since does not matter
    assert key("GET", "/events", {"filters": '{"a":["1"],"b":["2"]}', "since": "1700000000.25"}) == \
        key("get", "/events", {"since": "1800000000", "filters": '{"b": ["2"], "a": ["1"]}'})
