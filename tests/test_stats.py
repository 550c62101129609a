"""Resource usage: formulas, the bounded history, the sampler against the real
engine, the docker CLI as the reference, the live chart and ``%container stats``."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import socketserver
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, build_busybox, usage_error, wait_for
from jupyter_containers.engine import ContainerNotFound, ContainersError, Engine, EngineUnavailable, InvalidArgument
from jupyter_containers.stats import FRAME_COLUMNS, SNAPSHOT_COLUMNS, History, Sampler, export, snapshot
from jupyter_containers.stats import formulas
from jupyter_containers.stats.charts import POINTS, LiveChart, thin

MiB = 2**20


def frame_v1(**over) -> dict:
    raw = {
        "read": "2026-01-01T00:00:01.5Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000, "percpu_usage": [1, 2, 3, 4]},
                      "system_cpu_usage": 40_000_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 2_500_000_000}, "system_cpu_usage": 38_000_000_000},
        "memory_stats": {"usage": 100 * MiB, "limit": 1000 * MiB,
                         "stats": {"total_inactive_file": 30 * MiB, "inactive_file": 1 * MiB}},
        "networks": {"eth0": {"rx_bytes": 100, "tx_bytes": 10}, "eth1": {"rx_bytes": 5, "tx_bytes": 1}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 7}, {"major": 8, "minor": 0, "op": "Write", "value": 11},
            {"major": 8, "minor": 16, "op": "Write", "value": 4}, {"major": 8, "minor": 0, "op": "Total", "value": 18}]},
        "pids_stats": {"current": 3},
    }
    raw.update(over)
    return raw


def test_formulas_are_the_docker_clis():
    raw = frame_v1()
    # 0.5e9 / 2e9 x 2 online CPUs x 100 (online_cpus wins over len(percpu_usage))
    assert formulas.cpu_percent(raw) == pytest.approx(50.0)
    assert formulas.mem_usage(raw) == 70 * MiB  # cgroup v1: usage - total_inactive_file
    assert formulas.figures(raw) == pytest.approx((50.0, 70 * MiB, 1000 * MiB, 7.0, 105, 11, 7, 15, 3))
    # cgroup v2: no total_* keys, inactive_file; lower-case ops; no online_cpus -> len(percpu_usage)
    v2 = frame_v1(memory_stats={"usage": 100 * MiB, "limit": 0, "stats": {"inactive_file": 40 * MiB}},
                  blkio_stats={"io_service_bytes_recursive": [{"op": "read", "value": 1}, {"op": "write", "value": 2}]})
    v2["cpu_stats"]["online_cpus"] = 0
    assert formulas.mem_usage(v2) == 60 * MiB
    assert formulas.mem_percent(60 * MiB, 0) == 0.0
    assert formulas.block_io(v2) == (1, 2)
    assert formulas.cpu_percent(v2) == pytest.approx(100.0)  # 0.25 x 4 CPUs x 100
    # a stream's first frame: empty precpu_stats -> the system delta is everything since boot; the
    # sampler drops such frames, and a non-positive delta gives 0 as in the CLI
    assert formulas.cpu_percent(frame_v1(precpu_stats={}, cpu_stats={})) == 0.0
    assert formulas.network({"networks": None}) == (0, 0)


def test_history_is_bounded_oldest_first_with_rates():
    history = History(capacity=5)
    for second in range(8):
        rx = 1000 * second if second != 6 else 10  # the counter goes back at 6 (a restart)
        history.append("a" * 64, "web", 100.0 + second, (1.0, 2, 3, 4.0, rx, 0, 0, 512 * second, 1))
    history.append("b" * 64, "db", 100.0, (0, 0, 0, 0, 0, 0, 0, 0, 1))
    frame = history.frame()
    assert list(frame.columns) == list(FRAME_COLUMNS)
    web = frame[frame["name"] == "web"]
    assert len(web) == 5 and len(frame) == 6  # ring of 5: rows 3..7 kept
    assert list(web["time"]) == list(pd.to_datetime([103, 104, 105, 106, 107], unit="s", utc=True))
    assert web["id"].iloc[0] == "a" * 12 and web["net_rx"].dtype == np.int64
    rates = list(web["net_rx_rate"])
    assert math.isnan(rates[0]) and rates[1:3] == [1000.0, 1000.0] and math.isnan(rates[3]) and rates[4] == 6990.0
    assert list(web["block_write_rate"])[1:] == [512.0] * 4
    latest = history.latest()
    assert sorted(latest["name"]) == ["db", "web"] and latest.set_index("name").loc["web", "net_rx"] == 7000
    row_bytes = len(("time", *formulas.FIGURES)) * 8
    assert history.nbytes == 2 * 5 * row_bytes
    big = History(capacity=3600)
    for second in range(100):
        big.append("a", "web", second, (0,) * len(formulas.FIGURES))
    assert big.nbytes == 128 * row_bytes  # rings grow by need, not to their capacity at once
    with pytest.raises(InvalidArgument):
        History(capacity=0)


def test_export_csv_and_parquet(tmp_path):
    history = History()
    for second in range(3):
        history.append("c" * 64, "app", 1_700_000_000.25 + second, (12.5, 1 * MiB, 2 * MiB, 50.0, second, 0, 0, 0, 2))
    frame = history.frame()
    back = pd.read_csv(export(frame, tmp_path / "usage.csv"), parse_dates=["time"])
    assert list(back.columns) == list(FRAME_COLUMNS) and len(back) == 3
    assert back["mem_usage"].tolist() == [MiB] * 3 and back["time"].iloc[2] == frame["time"].iloc[2]
    pytest.importorskip("pyarrow")
    back = pd.read_parquet(export(frame, tmp_path / "usage.parquet"))
    pd.testing.assert_frame_equal(back, frame)
    with pytest.raises(InvalidArgument, match="use a .csv or .parquet"):
        export(frame, tmp_path / "usage.xlsx")


# -- against the real engine ------------------------------------------------------

def tagged(engine, tag: str, command: str, **options):
    return engine.containers.run(BUSYBOX, ["sh", "-c", command], labels={"jc.stats": tag}, **options)


def parse_size(text: str) -> float:
    """The docker CLI's sizes: "48.52MiB" (binary), "33.6MB" / "1.2kB" (decimal)."""
    number, unit = re.fullmatch(r"([\d.]+)\s*([a-zA-Z]*)", text.strip()).groups()
    scale = {"": 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
             "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]
    return float(number) * scale


def docker_cli_stats(engine, ids: list[str]) -> dict[str, dict]:
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{json .}}", *ids],
                         env={**os.environ, "DOCKER_HOST": engine.url}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return {row["ID"][:12]: row for row in rows}


def data_root_device(engine) -> str:
    """The block device under the engine's data root (the engine runs on this machine)."""
    root = engine.system.info()["DockerRootDir"]
    if not os.path.exists(root):
        pytest.fail(f"the engine's data root {root} is not on this machine; `make test` runs the engine here")
    st = os.stat(root)
    uevent = open(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/uevent").read()
    return "/dev/" + dict(line.split("=", 1) for line in uevent.split())["DEVNAME"]


def send_to(port: int, size: int) -> None:
    """``size`` bytes to 127.0.0.1:``port`` (a published port), then close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"x" * size)


@pytest.mark.parametrize("source", ["cgroup", "api"])
def test_figures_match_docker_stats(engine, busybox, name, source):
    """A busy loop, 60 MiB held in tmpfs, 32 MiB written with O_DIRECT, 2 MiB fetched over an engine
    network and 3 MiB received on a published port: ours, read from the kernel's cgroup files or
    from the engine's stats API, and ``docker stats --no-stream`` taken at the same time agree."""
    busy = tagged(engine, name, "while :; do :; done", network="none")
    memory = tagged(engine, name, "dd if=/dev/zero of=/hold/it bs=1M count=60 && echo held; sleep 3600",
                    network="none", tmpfs={"/hold": "size=80m"})
    server = tagged(engine, name, "mkdir /www && head -c 2097152 /dev/zero > /www/f && httpd -f -p 80 -h /www")
    # cgroup v1 block IO is counted only on devices with a throttle rule on recent kernels: set a huge one
    host_config = engine.api.create_host_config(
        network_mode="none", device_write_bps=[{"Path": data_root_device(engine), "Rate": 1 << 40}])
    writer = engine.api.create_container(
        BUSYBOX, ["sh", "-c", "dd if=/dev/zero of=/written bs=1M count=32 oflag=direct && echo wrote; sleep 3600"],
        labels={**engine.labels, "jc.stats": name}, host_config=host_config)["Id"]
    engine.containers.start(writer)
    address = engine.containers.inspect(server.id)["NetworkSettings"]["IPAddress"]
    client = tagged(engine, name, f"sleep 1; wget -q -O /dev/null http://{address}/f && echo fetched; sleep 3600")
    receiver = tagged(engine, name, "nc -l -p 9000 > /dev/null; echo received; sleep 3600",
                      ports={"9000/tcp": ("127.0.0.1", None)})
    port = int(engine.containers.inspect(receiver.id)["NetworkSettings"]["Ports"]["9000/tcp"][0]["HostPort"])
    wait_for(lambda: listening(engine, receiver.id, 9000), timeout=10, message="the receiver to listen")
    send_to(port, 3 * MiB)
    for ref, word in ((memory.id, "held"), (writer, "wrote"), (client.id, "fetched"), (receiver.id, "received")):
        wait_for(lambda: word in engine.containers.logs(ref), timeout=30, message=f"{word} in the logs")

    ids = [busy.id, memory.id, writer, client.id, receiver.id]
    reference: dict = {}
    cli = threading.Thread(target=lambda: reference.update(docker_cli_stats(engine, ids)))
    cli.start()
    ours = snapshot(engine, ids, source=source).set_index("id")
    cli.join()
    assert sorted(ours.index) == sorted(reference) == sorted(i[:12] for i in ids)
    assert ours.attrs["source"] == source and (ours["source"] == source).all()

    for cid in ids:
        mine, theirs = ours.loc[cid[:12]], reference[cid[:12]]
        assert mine["cpu_percent"] == pytest.approx(float(theirs["CPUPerc"].rstrip("%")), abs=10)
        used, limit = (parse_size(x) for x in theirs["MemUsage"].split("/"))
        assert mine["mem_usage"] == pytest.approx(used, rel=0.05, abs=256 * 1024)  # a small one's pages move
        assert mine["mem_limit"] == pytest.approx(limit, rel=0.01)
        assert mine["pids"] == int(theirs["PIDs"])
        for column, text in zip(("net_rx", "net_tx", "block_read", "block_write"),
                                (*theirs["NetIO"].split("/"), *theirs["BlockIO"].split("/"))):
            assert mine[column] == pytest.approx(parse_size(text), rel=0.01, abs=1), column

    assert ours.loc[busy.id[:12], "cpu_percent"] > 20  # up to one core, less what other work on the machine takes
    assert 60 * MiB <= ours.loc[memory.id[:12], "mem_usage"] < 68 * MiB
    assert 32 * MiB <= ours.loc[writer[:12], "block_write"] < 33 * MiB
    assert 2 * MiB <= ours.loc[client.id[:12], "net_rx"] < 2.2 * MiB
    assert ours.loc[client.id[:12], "net_tx"] < 0.2 * MiB
    assert 3 * MiB <= ours.loc[receiver.id[:12], "net_rx"] < 3.3 * MiB


def listening(engine, container: str, port: int) -> bool:
    """Does a process in ``container`` listen on TCP ``port``? (its network namespace's /proc/net/tcp; a
    send before that would be accepted by the engine's port proxy and then dropped)."""
    pid = engine.containers.inspect(container)["State"]["Pid"]
    lines = [line for table in ("tcp", "tcp6") for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]]
    return any(f[1].endswith(f":{port:04X}") and f[3] == "0A" for f in (line.split() for line in lines))


def test_sampler_follows_starts_and_stops(engine, busybox, name):
    first = tagged(engine, name, "while :; do :; done", network="none")
    sampler = Sampler(engine, filters={"label": f"jc.stats={name}"}, retention=60).start()
    try:
        wait_for(lambda: sampler.followed == {first.id}, message="the first container followed")
        later = tagged(engine, name, "sleep 3600", network="none")
        wait_for(lambda: later.id in sampler.followed, message="a container started later picked up")
        wait_for(lambda: sampler.history.counts().get(later.id, 0) >= 2, message="rows of the later one")
        engine.containers.kill(later.id)
        wait_for(lambda: sampler.followed == {first.id}, message="the stopped container dropped")
        engine.containers.start(later.id)
        wait_for(lambda: later.id in sampler.followed, message="the restarted container followed again")
        wait_for(lambda: sampler.history.counts().get(first.id, 0) >= 3, message="three rows of the busy one")
    finally:
        sampler.stop()
    assert sampler.threads_alive == 0 and not sampler.running and sampler.error is None
    frame = sampler.frame()
    busy = frame[frame["id"] == first.id[:12]]
    # the first frame of a stream (no previous CPU reading) would show ~0.01 %: it is dropped
    assert (busy["cpu_percent"] > 5).all(), busy["cpu_percent"].tolist()
    assert busy["time"].is_monotonic_increasing and busy["name"].eq(first.name).all()
    assert busy["net_rx_rate"].isna().iloc[0] and (busy["net_rx_rate"].iloc[1:] == 0).all()
    counts = frame.groupby("id").size()
    assert counts[later.id[:12]] >= 2  # its history stays after it stopped


def test_kernel_sampler_at_10_hz_follows_restarts_and_removals(engine, busybox, name):
    """From cgroups at 0.1 s: ten rows a second on one thread for all containers; a restarted
    container is read from its new cgroup (new init, counters from zero, CPU primed again);
    a removed one is dropped and its history stays."""
    busy = tagged(engine, name, "while :; do :; done", network="none")
    idle = tagged(engine, name, "sleep 3600", network="none")
    gone = tagged(engine, name, "sleep 3600", network="none")
    sampler = Sampler(engine, filters={"label": f"jc.stats={name}"}, interval=0.1, retention=60).start()
    try:
        assert sampler.source == "cgroup" and sampler.threads_alive == 2  # the reader and the event follower
        assert sampler.followed == {busy.id, idle.id, gone.id}
        wait_for(lambda: sampler.history.counts().get(busy.id, 0) >= 20, message="20 rows of the busy one")
        first = sampler._targets[idle.id].pid
        engine.containers.restart(idle.id, timeout=0)
        wait_for(lambda: idle.id in sampler.followed and sampler._targets[idle.id].pid != first,
                 message="the restarted container read from its new cgroup")
        rows = sampler.history.counts()[idle.id]
        wait_for(lambda: sampler.history.counts()[idle.id] >= rows + 5, message="rows after the restart")
        engine.containers.remove(gone.id, force=True)
        wait_for(lambda: gone.id not in sampler.followed, message="the removed container dropped")
        assert sampler.followed == {busy.id, idle.id} and sampler.error is None
    finally:
        sampler.stop()
    assert sampler.threads_alive == 0 and not sampler._targets
    frame = sampler.frame()
    assert set(frame["source"]) == {"cgroup"} and (frame["cpu_percent"] >= 0).all()
    hot = frame[frame["id"] == busy.id[:12]]
    steps = hot["time"].diff().dt.total_seconds().iloc[1:]
    assert steps.median() == pytest.approx(0.1, abs=0.03), steps.describe()
    assert hot["cpu_percent"].median() > 20 and frame[frame["id"] == idle.id[:12]]["cpu_percent"].median() < 5
    # one thread cannot use more than one core: no 10 ms tick noise of /proc/stat once a second has passed
    assert hot["cpu_percent"].iloc[10:].max() < 103, hot["cpu_percent"].tolist()
    assert frame.groupby("id").size()[gone.id[:12]] >= 20  # its history stays after removal


class _Forward(socketserver.BaseRequestHandler):
    """One TCP connection copied both ways to the engine's Unix socket."""

    def handle(self):
        with socket.socket(socket.AF_UNIX) as upstream:
            upstream.connect(self.server.path)
            back = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
            back.start()
            _copy(self.request, upstream)
            back.join(5)


def _copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def tcp_engine(root_engine):
    """The engine reached over TCP on 127.0.0.1 through a forwarder: to us, an engine elsewhere."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Forward)
    server.daemon_threads = True
    server.path = root_engine.url.removeprefix("unix://")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    engine = Engine.connect(f"tcp://127.0.0.1:{server.server_address[1]}").with_labels({TEST_LABEL: RUN_ID})
    yield engine
    engine.close()
    server.shutdown()
    server.server_close()


def test_an_engine_elsewhere_is_read_through_its_api(tcp_engine, engine, busybox, name):
    """An engine that is not behind a Unix socket here is read through its stats API, with the
    same columns; asking for cgroups says why not in one line and leaves no thread behind."""
    container = tagged(engine, name, "sleep 3600", network="none")
    remote = snapshot(tcp_engine, [container.id])
    assert remote.attrs["source"] == "api" and remote["source"].tolist() == ["api"]
    local = snapshot(engine, [container.id])
    assert local.attrs["source"] == "cgroup" and list(local.columns) == list(remote.columns)
    assert remote["mem_usage"].iloc[0] == pytest.approx(local["mem_usage"].iloc[0], rel=0.2)
    before = set(threading.enumerate())
    with pytest.raises(InvalidArgument) as error:
        Sampler(tcp_engine, [container.id], source="cgroup").start()
    assert re.fullmatch(r"cannot read stats from cgroups: the engine at tcp://127\.0\.0\.1:\d+ is not on this "
                        r"machine \(not a Unix socket\); use --source api", str(error.value)), str(error.value)
    assert_no_new_threads(before)


def test_live_chart_at_10_hz_redraws_in_batches(engine, busybox, name):
    """Sampling ten times a second, the chart redraws at most twice a second, each time with
    every row since the last; a long history is thinned to POINTS points a trace."""
    tagged(engine, name, "while :; do :; done", network="none")
    chart = LiveChart(Sampler(engine, filters=[f"label=jc.stats={name}"], interval=0.1), window=60).start()
    started = time.monotonic()
    try:
        wait_for(lambda: len(chart.frame()) >= 25, timeout=10, message="25 rows")
        wait_for(lambda: chart.redraws >= 2, timeout=5, message="two redraws")
        elapsed = time.monotonic() - started
        rows, redraws = len(chart.frame()), chart.redraws
        cpu = next(t for t in chart.figure.data if t.showlegend)
        assert len(cpu.x) >= 10  # the redraws brought rows in batches
    finally:
        chart.stop()
    assert redraws <= elapsed / 0.5 + 1 < rows, (redraws, elapsed, rows)


def test_thin_keeps_the_newest_rows_as_means():
    times = np.arange(3001, dtype=float)
    rates = np.where(times % 10 == 0, np.nan, 2.0)  # NaN (a restart) stays out of the means
    thinned = thin({"time": times, "net_rx_rate": rates}, POINTS)
    assert len(thinned["time"]) == 500  # 3001 rows: runs of 6, the oldest row left out
    assert thinned["time"][-1] == np.mean(times[-6:]) and (thinned["net_rx_rate"] == 2.0).all()
    short = {"time": times[:10]}
    assert thin(short, POINTS) is short


def assert_no_new_threads(before: set) -> None:
    """No thread started since ``before`` is left running (earlier tests' threads may end meanwhile)."""
    wait_for(lambda: not set(threading.enumerate()) - before, timeout=2,
             message=f"threads started by the test to end: {set(threading.enumerate()) - before}")


def test_sampler_bad_input_leaves_no_threads(engine, busybox, name):
    before = set(threading.enumerate())
    with pytest.raises(ContainerNotFound):
        Sampler(engine, ["jc-test-no-such-container"]).start()
    with pytest.raises(InvalidArgument, match="not both"):
        Sampler(engine, ["x"], filters=["label=a"])
    with pytest.raises(InvalidArgument, match="positive"):
        Sampler(engine, retention=0)
    with pytest.raises(InvalidArgument):
        Sampler(engine, filters=["nonsense=1"]).start()
    assert_no_new_threads(before)


def test_snapshot_names_filters_and_errors(engine, busybox, name):
    running = [tagged(engine, name, "sleep 3600", name=f"{name}-{i}", network="none") for i in range(3)]
    stopped = engine.containers.create(BUSYBOX, "true", name=f"{name}-stopped", labels={"jc.stats": name})
    by_filter = snapshot(engine, filters=[f"label=jc.stats={name}"])
    assert list(by_filter.columns) == list(SNAPSHOT_COLUMNS)
    assert by_filter["name"].tolist() == [c.name for c in running]  # running only, sorted by name
    assert (by_filter["mem_limit"] > 0).all() and (by_filter["pids"] == 1).all()
    by_name = snapshot(engine, [running[2].name, running[0].id[:12]])
    assert by_name["id"].tolist() == [running[0].id[:12], running[2].id[:12]]
    with pytest.raises(InvalidArgument, match=f"container '{stopped.name}' is not running"):
        snapshot(engine, [running[0].name, stopped.name])
    with pytest.raises(ContainerNotFound):
        snapshot(engine, ["jc-test-no-such-container"])
    assert snapshot(engine, filters=["label=jc.stats=nothing-has-this"]).empty


def test_live_chart_draws_and_stops(engine, busybox, name):
    containers = [tagged(engine, name, "sleep 3600", network="none") for _ in range(2)]
    chart = LiveChart(Sampler(engine, filters=[f"label=jc.stats={name}"]), window=60).start()
    try:
        assert chart.running and chart.sampler.running
        cpu = lambda: [t for t in chart.figure.data if t.showlegend]  # one CPU trace per container
        wait_for(lambda: len(cpu()) == 2 and all(len(t.x) >= 2 for t in cpu()), timeout=15,
                 message="two points in each container's CPU trace")
        assert sorted(t.name for t in cpu()) == sorted(c.name for c in containers)
        assert len(chart.figure.data) == 2 * 6  # CPU, memory, rx, tx, read, write
        memory = [t for t in chart.figure.data if t.xaxis == "x2"]
        assert all(0 < y < 50 for t in memory for y in t.y)  # MiB
        assert "following 2 containers" in chart.status.value
        assert "application/vnd.jupyter.widget-view+json" in chart._repr_mimebundle_()
    finally:
        chart.button.click()  # what the Stop button does
    assert not chart.running and chart._thread is not None and not chart._thread.is_alive()
    assert chart.sampler.threads_alive == 0 and chart.button.disabled
    frame = chart.frame()
    assert set(frame["name"]) == {c.name for c in containers} and len(frame) >= 4
    redraws = chart.redraws
    chart.stop()  # again: harmless
    assert chart.redraws == redraws


def test_engine_gone_ends_sampler_and_chart(second_engine):
    private, other = second_engine
    build_busybox(other)
    other.containers.run(BUSYBOX, "sleep 300", network="none")
    chart = LiveChart(Sampler(other), window=60).start()
    wait_for(lambda: len(chart.frame()) >= 1, timeout=15, message="a row from the second engine")
    os.kill(private.pid, signal.SIGKILL)  # a crash, not a clean shutdown
    wait_for(lambda: isinstance(chart.sampler.error, EngineUnavailable), timeout=15, message="the sampler's error")
    wait_for(lambda: not chart.running and chart.sampler.threads_alive == 0, timeout=15,
             message="the chart's and the sampler's threads to end")
    assert "stopped: the engine at" in chart.status.value and chart.button.disabled
    assert len(chart.frame()) >= 1  # what was sampled stays


# -- %container stats ---------------------------------------------------------------

def test_magic_snapshot_and_live_chart(ip, engine, busybox, name):
    web = tagged(engine, name, "sleep 3600", name=name, network="none")
    result = ip.run_cell(f"%container stats --no-stream {name}")
    frame = result.result
    assert isinstance(frame, pd.DataFrame) and frame["name"].tolist() == [name]
    assert list(frame.columns) == list(SNAPSHOT_COLUMNS) and frame["source"].tolist() == ["cgroup"]
    forced = ip.run_cell(f"%container stats --no-stream --source api {name}").result
    assert forced["source"].tolist() == ["api"] and list(forced.columns) == list(SNAPSHOT_COLUMNS)
    chart = ip.run_cell(f"%container stats --filter label=jc.stats={name} --window 30 --interval 0.2").result
    try:
        assert isinstance(chart, LiveChart) and chart.running
        assert chart.sampler.interval == 0.2 and chart.sampler.source == "cgroup" and chart.interval == 0.5
        wait_for(lambda: len(chart.frame()) >= 1, timeout=15, message="a row in the chart's history")
        assert chart.frame()["id"].tolist()[0] == web.id[:12]
    finally:
        chart.stop()
    assert not chart.running and chart.sampler.threads_alive == 0


@pytest.mark.parametrize("line, expected", [
    ("%container stats --no-stream jc-test-no-such-container", "container stats: No such container"),
    ("%container stats jc-test-no-such-container", "container stats: No such container"),
    ("%container stats --no-stream --filter label=a web", "container stats: give container names or filters"),
    ("%container stats --no-stream --filter nonsense=1", "container stats: "),
    ("%container stats --retention 0", "container stats: argument --retention: '0' is not a positive float"),
    ("%container stats --window x", "container stats: argument --window: 'x' is not a positive float"),
    ("%container stats --window 0", "container stats: argument --window: '0' is not a positive float"),
    ("%container stats --retention inf", "container stats: argument --retention: 'inf' is not a positive float"),
    ("%container stats --interval 0.05",
     "container stats: the interval is 0.1 s or more (10 samples a second at most), not 0.05"),
    ("%container stats --no-stream --source kernel", "argument --source: invalid choice: 'kernel'"),
])
def test_magic_bad_input_is_one_line(ip, line, expected):
    before = set(threading.enumerate())
    assert expected in usage_error(ip, line)
    assert_no_new_threads(before)


def test_magic_reads_a_container_under_its_own_cgroup_parent(ip, engine, busybox, name):
    """``--cgroup-parent``: the container's cgroup is found under that parent, not /docker."""
    parent = f"jc-test-{name[-8:]}"
    try:
        ip.run_line_magic("container", f"run -d --name {name} --cgroup-parent {parent} "
                                       f"--label jc.stats={name} --network none {BUSYBOX} sleep 3600")
        pid = engine.containers.inspect(name)["State"]["Pid"]
        assert f":/{parent}/" in open(f"/proc/{pid}/cgroup").read()
        frame = ip.run_cell(f"%container stats --no-stream {name}").result
        assert frame["source"].tolist() == ["cgroup"] and frame["pids"].tolist() == [1]
        assert frame["mem_usage"].iloc[0] > 0
    finally:
        engine.containers.remove(name, force=True, missing_ok=True)
        root = Path("/sys/fs/cgroup")  # the parent the engine made, empty now: in each v1 hierarchy, or at the v2 root
        for directory in [*root.glob(f"*/{parent}"), root / parent]:
            if directory.is_dir():
                directory.rmdir()


def test_magic_stopped_container_is_one_line(ip, engine, busybox, name):
    engine.containers.create(BUSYBOX, "true", name=name, labels={"jc.stats": name})
    assert f"container stats: container '{name}' is not running" in usage_error(ip, f"%container stats --no-stream {name}")


def test_a_snapshot_that_runs_out_of_time_says_so(engine, busybox, name):
    """The engine needs two of its one-second samples for a CPU figure: with 0.05 s nothing has come,
    and the snapshot says which container gave nothing rather than return a partial frame."""
    c = engine.containers.run(BUSYBOX, "sleep 300", name=name, init=True)
    with pytest.raises(ContainersError, match=rf"no stats from {c.id[:12]} within 0.05 s"):
        snapshot(engine, [name], timeout=0.05)
    assert list(snapshot(engine, [name])["name"]) == [name]  # with the time it needs, a full frame
