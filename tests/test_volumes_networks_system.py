"""Volumes, networks and system (info, df, events, prune) against the real engine.

Each test marks what it creates with a label of its own (``case``) on top of
the run's label, and every prune here is restricted to that label: other tests
share the engine.
"""

from __future__ import annotations

import threading
import time
import uuid

import pandas as pd
import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, build_busybox, wait_for
from jupyter_containers.engine import (MANAGED_LABEL, Conflict, ContainersError, EngineUnavailable, Event,
                                       Network, NotFound, Volume)

CASE_LABEL = "io.jupyter.containers.test.case"


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text.strip() and "\n" not in text and "\r" not in text, repr(text)
    return text


@pytest.fixture
def case() -> dict[str, str]:
    """A label only this test puts on things; filter with ``case_filter(case)``."""
    return {CASE_LABEL: uuid.uuid4().hex[:12]}


def case_filter(case: dict[str, str]) -> dict[str, list[str]]:
    return {"label": [f"{k}={v}" for k, v in case.items()]}


class Reader:
    """Iterates a stream in a thread, keeping what it yields and how it ended."""

    def __init__(self, stream):
        self.stream, self.items, self.error = stream, [], None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.stream:
                self.items.append(item)
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            self.error = exc

    def join(self, timeout: float = 10.0) -> "Reader":
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the stream did not end within {timeout} s"
        return self

    def actions(self, container_id: str) -> list[str]:
        return [e.action for e in list(self.items) if e.type == "container" and e.id == container_id]


def serve(engine, network: str, name: str, text: str, **options):
    """A busybox httpd on ``network`` answering ``text``, once it answers."""
    server = engine.containers.run(
        BUSYBOX, ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"],
        name=name, network=network, **options)
    wait_for(lambda: engine.containers.exec(server.id, "wget -q -O- http://127.0.0.1:80/").output.strip() == text,
             message="httpd to answer")
    return server


def run_once(engine, command: str, **options) -> tuple[int, str]:
    """Run ``command`` in a busybox container to its end; its exit code and output."""
    container = engine.containers.run(BUSYBOX, ["sh", "-c", command], detach=False, **options)
    return engine.containers.wait(container.id, timeout=30), engine.containers.logs(container.id)


# -- volumes -------------------------------------------------------------------

def test_volume_create_list_frame_and_get(engine, name, case):
    volume = engine.volumes.create(name, labels={**case, "purpose": "data"})
    other = engine.volumes.create(f"{name}-other")  # the run's label, not the case's
    assert isinstance(volume, Volume)
    assert (volume.name, volume.driver) == (name, "local")
    assert volume.labels[MANAGED_LABEL] == "1"
    assert volume.labels[TEST_LABEL] == RUN_ID
    assert volume.labels[CASE_LABEL] == case[CASE_LABEL] and volume.labels["purpose"] == "data"
    assert volume.mountpoint and volume.created is not None and volume.created.tzinfo is not None

    assert [v.name for v in engine.volumes.list(case_filter(case))] == [name]
    assert [v.name for v in engine.volumes.list([f"label={CASE_LABEL}={case[CASE_LABEL]}"])] == [name]
    assert {name, other.name} <= {v.name for v in engine.volumes.list({"label": f"{TEST_LABEL}={RUN_ID}"})}

    frame = engine.volumes.frame(case_filter(case))
    assert list(frame.columns) == ["name", "driver", "mountpoint", "created"]
    assert frame["name"].tolist() == [name] and frame["driver"].tolist() == ["local"]
    assert frame["mountpoint"].tolist() == [volume.mountpoint]
    assert isinstance(frame["created"].dtype, pd.DatetimeTZDtype)
    assert abs(frame["created"].iloc[0] - pd.Timestamp(volume.created)) < pd.Timedelta(seconds=1)
    assert list(engine.volumes.frame({"label": f"{CASE_LABEL}=nothing-{name}"}).columns) == list(frame.columns)

    assert engine.volumes.inspect(name)["Name"] == name
    got = engine.volumes.get(name)
    assert (got.name, got.mountpoint, got.labels) == (name, volume.mountpoint, volume.labels)


def test_volume_remove_and_unknown(engine, name):
    engine.volumes.create(name)
    engine.volumes.remove(name)
    assert name not in {v.name for v in engine.volumes.list()}
    with pytest.raises(NotFound) as caught:
        engine.volumes.get(name)
    assert_one_line(caught.value)
    with pytest.raises(NotFound) as caught:
        engine.volumes.remove(name)
    assert name in assert_one_line(caught.value)
    assert (caught.value.status, caught.value.operation, caught.value.target) == (404, "volume rm", name)
    engine.volumes.remove(name, missing_ok=True)


def test_volume_in_use_cannot_be_removed(engine, busybox, name):
    engine.volumes.create(name)
    user = engine.containers.run(BUSYBOX, ["sleep", "60"], volumes=[f"{name}:/data"], network="none")
    with pytest.raises(Conflict) as caught:
        engine.volumes.remove(name)
    text = assert_one_line(caught.value)
    assert "in use" in text and name in text and caught.value.status == 409
    with pytest.raises(Conflict):
        engine.volumes.remove(name, missing_ok=True)  # missing_ok is about missing, not busy
    assert engine.volumes.get(name).name == name
    engine.containers.remove(user.id, force=True)
    engine.volumes.remove(name)


def test_data_in_a_named_volume_outlives_the_container(engine, busybox, name):
    engine.volumes.create(name)
    code, _ = run_once(engine, f"echo {name} > /data/note", volumes=[f"{name}:/data"], network="none")
    assert code == 0
    code, out = run_once(engine, "cat /data/note", volumes=[f"{name}:/data:ro"], network="none")
    assert (code, out.strip()) == (0, name)


def test_volume_prune_keeps_named_volumes_unless_all(engine, busybox, name, case):
    anonymous = engine.volumes.create(labels=case)
    unused = engine.volumes.create(f"{name}-unused", labels=case)
    used = engine.volumes.create(f"{name}-used", labels=case)
    engine.containers.run(BUSYBOX, ["sleep", "60"], volumes=[f"{used.name}:/data"], network="none")
    bystander = engine.volumes.create(f"{name}-bystander", labels={CASE_LABEL: "another-case"})
    anonymous_bystander = engine.volumes.create(labels={CASE_LABEL: "another-case"})

    pruned = engine.volumes.prune(filters=case_filter(case))
    assert pruned["deleted"] == [anonymous.name]
    assert pruned["space_reclaimed"] >= 0
    left = {v.name for v in engine.volumes.list(case_filter(case))}
    assert left == {unused.name, used.name}

    pruned = engine.volumes.prune(all=True, filters=case_filter(case))
    assert pruned["deleted"] == [unused.name]
    assert {v.name for v in engine.volumes.list(case_filter(case))} == {used.name}
    assert engine.volumes.get(bystander.name).name == bystander.name
    assert engine.volumes.get(anonymous_bystander.name).name == anonymous_bystander.name


# -- networks ------------------------------------------------------------------

def test_network_create_list_frame_and_get(engine, name, case):
    network = engine.networks.create(name, internal=True, labels=[f"{CASE_LABEL}={case[CASE_LABEL]}"])
    plain = engine.networks.create(f"{name}-plain", labels=case)
    assert isinstance(network, Network)
    assert (network.name, network.driver, network.scope, network.internal) == (name, "bridge", "local", True)
    assert plain.internal is False
    assert network.labels[MANAGED_LABEL] == "1" and network.labels[TEST_LABEL] == RUN_ID
    assert network.labels[CASE_LABEL] == case[CASE_LABEL]
    assert network.created is not None and network.created.tzinfo is not None

    assert {n.name for n in engine.networks.list(case_filter(case))} == {name, plain.name}
    assert [n.id for n in engine.networks.list({**case_filter(case), "name": [f"{name}-plain"]})] == [plain.id]

    frame = engine.networks.frame(case_filter(case))
    assert list(frame.columns) == ["id", "name", "driver", "scope", "internal", "created"]
    frame = frame.set_index("name")
    assert frame.loc[name, "id"] == network.id[:12]
    assert (frame.loc[name, "driver"], frame.loc[name, "scope"]) == ("bridge", "local")
    assert bool(frame.loc[name, "internal"]) is True and bool(frame.loc[plain.name, "internal"]) is False
    assert isinstance(frame["created"].dtype, pd.DatetimeTZDtype)

    assert engine.networks.inspect(name)["Id"] == network.id
    assert engine.networks.inspect(network.id[:12])["Name"] == name
    got = engine.networks.get(name)
    assert (got.id, got.internal, got.labels) == (network.id, True, network.labels)


def test_network_duplicate_name_is_a_conflict(engine, name):
    first = engine.networks.create(name)
    with pytest.raises(Conflict) as caught:
        engine.networks.create(name, labels={"second": "1"})
    text = assert_one_line(caught.value)
    assert name in text and caught.value.status == 409
    same_name = [n for n in engine.networks.list({"name": name}) if n.name == name]
    assert [n.id for n in same_name] == [first.id]
    assert "second" not in engine.networks.get(name).labels


def test_network_connect_and_disconnect(engine, busybox, name):
    home = engine.networks.create(f"{name}-home")
    extra = engine.networks.create(f"{name}-extra")
    server = serve(engine, home.name, f"{name}-web", "connected")
    engine.networks.connect(extra.name, server.id, aliases=["web-alias"])

    assert server.id in engine.networks.inspect(extra.name)["Containers"]
    attached = engine.containers.inspect(server.id)["NetworkSettings"]["Networks"]
    assert set(attached) == {home.name, extra.name}
    assert "web-alias" in attached[extra.name]["Aliases"]
    code, out = run_once(engine, "wget -q -O- http://web-alias:80/", network=extra.name)
    assert (code, out.strip()) == (0, "connected")

    engine.networks.disconnect(extra.name, server.id)
    assert server.id not in (engine.networks.inspect(extra.name)["Containers"] or {})
    assert set(engine.containers.inspect(server.id)["NetworkSettings"]["Networks"]) == {home.name}
    code, _ = run_once(engine, "wget -q -T 2 -O- http://web-alias:80/", network=extra.name)
    assert code != 0

    with pytest.raises(ContainersError) as caught:
        engine.networks.connect(extra.name, f"{name}-no-such-container")
    assert isinstance(caught.value, NotFound)
    assert_one_line(caught.value)


def test_containers_on_a_user_network_reach_each_other_by_name(engine, busybox, name):
    network = engine.networks.create(name)
    serve(engine, name, f"{name}-srv", "hello-from-srv")
    code, out = run_once(engine, f"wget -q -O- http://{name}-srv:80/ && ping -c1 -W5 {name}-srv", network=name)
    assert code == 0, out
    assert out.splitlines()[0] == "hello-from-srv"
    assert "1 packets received" in out
    assert len(engine.networks.inspect(network.id)["Containers"]) == 1  # the client is gone, the server stays


def test_network_remove_and_unknown(engine, busybox, name):
    network = engine.networks.create(name)
    user = engine.containers.run(BUSYBOX, ["sleep", "60"], network=name)
    with pytest.raises(Conflict) as caught:
        engine.networks.remove(name)
    assert "active endpoints" in assert_one_line(caught.value)
    engine.containers.remove(user.id, force=True)

    engine.networks.remove(name)
    with pytest.raises(NotFound) as caught:
        engine.networks.get(network.id)
    assert_one_line(caught.value)
    with pytest.raises(NotFound) as caught:
        engine.networks.remove(name)
    assert name in assert_one_line(caught.value)
    assert (caught.value.status, caught.value.operation) == (404, "network rm")
    engine.networks.remove(name, missing_ok=True)
    assert name not in {n.name for n in engine.networks.list()}


def test_network_prune_with_a_label_filter(engine, busybox, name, case):
    unused = engine.networks.create(f"{name}-unused", labels=case)
    used = engine.networks.create(f"{name}-used", labels=case)
    engine.containers.run(BUSYBOX, ["sleep", "60"], network=used.name)
    bystander = engine.networks.create(f"{name}-bystander", labels={CASE_LABEL: "another-case"})

    pruned = engine.networks.prune(case_filter(case))
    assert pruned["deleted"] == [unused.name]
    assert {n.name for n in engine.networks.list(case_filter(case))} == {used.name}
    assert engine.networks.get(bystander.id).name == bystander.name


# -- system --------------------------------------------------------------------

def test_info_and_version(engine):
    info, version = engine.system.info(), engine.system.version()
    assert info["ID"] and info["ServerVersion"] == version["Version"]
    assert {"Containers", "Images", "Driver", "DockerRootDir", "NCPU", "MemTotal"} <= set(info)
    assert version["ApiVersion"] and version["Os"] == "linux"
    assert {"Components", "GoVersion", "Arch"} <= set(version)


def test_disk_usage(engine, busybox, name):
    engine.volumes.create(f"{name}-used")
    engine.volumes.create(f"{name}-unused")
    engine.containers.run(BUSYBOX, ["sleep", "60"], volumes=[f"{name}-used:/data"], network="none")
    usage = engine.system.df()
    assert {"LayersSize", "Images", "Containers", "Volumes"} <= set(usage)
    assert busybox.id in {i["Id"] for i in usage["Images"]}
    assert {f"{name}-used", f"{name}-unused"} <= {v["Name"] for v in usage["Volumes"]}

    frame = engine.system.df_frame()
    assert list(frame.columns) == ["type", "total", "active", "size", "reclaimable"]
    assert frame["type"].tolist() == ["images", "containers", "volumes", "build cache"]
    rows = frame.set_index("type")
    assert rows.loc["images", "total"] >= 1 and rows.loc["images", "active"] >= 1  # busybox, used
    assert rows.loc["images", "size"] >= busybox.size > 0
    assert rows.loc["containers", "total"] >= 1 and rows.loc["containers", "active"] >= 1
    assert rows.loc["volumes", "total"] >= 2 and rows.loc["volumes", "active"] >= 1
    for kind, row in rows.iterrows():
        assert 0 <= row["active"] <= row["total"], kind
        assert 0 <= row["reclaimable"] <= row["size"], kind


def test_events_of_a_container_arrive(engine, busybox, case):
    with engine.system.events(filters=case_filter(case)) as stream:
        reader = Reader(stream)
        container = engine.containers.run(BUSYBOX, ["true"], labels=case, network="none", detach=False)
        wait_for(lambda: {"create", "start", "die"} <= set(reader.actions(container.id)),
                 message="the container's create, start and die events")
    reader.join()
    assert reader.error is None
    actions = reader.actions(container.id)
    assert actions.index("create") < actions.index("start") < actions.index("die")
    event = reader.items[actions.index("create")]
    assert isinstance(event, Event)
    assert event.name == container.name and event.attributes[CASE_LABEL] == case[CASE_LABEL]
    assert event.time is not None and abs(time.time() - event.time.timestamp()) < 60
    assert all(e.attributes.get(CASE_LABEL) == case[CASE_LABEL] for e in reader.items)  # the filter held


def test_close_from_another_thread_ends_a_waiting_events_stream(engine, case):
    stream = engine.system.events(filters=case_filter(case))  # nothing will ever match
    reader = Reader(stream)
    reader.thread.join(0.2)
    assert reader.thread.is_alive(), "the stream ended before it was closed"
    stream.close()
    reader.join(timeout=5)
    assert reader.error is None and reader.items == []
    assert stream.closed
    stream.close()  # twice is fine
    assert list(stream) == []


def test_events_with_until_end_by_themselves(engine, busybox, case):
    since = time.time() - 1
    container = engine.containers.run(BUSYBOX, ["true"], labels=case, network="none", detach=False)
    started = time.monotonic()
    reader = Reader(engine.system.events(since=since, until=time.time() + 0.5, filters=case_filter(case)))
    reader.join(timeout=10)
    assert reader.error is None
    assert time.monotonic() - started >= 0.3  # it waited for ``until``, then ended
    assert {"create", "start", "die"} <= set(reader.actions(container.id))

    # a window that closed before the container existed holds none of its events
    past = list(engine.system.events(since=since - 60, until=since, filters=case_filter(case)))
    assert past == []


def test_system_prune_with_a_label_filter(engine, busybox, name, case):
    stopped = engine.containers.create(BUSYBOX, ["true"], labels=case, network="none")
    running = engine.containers.run(BUSYBOX, ["sleep", "60"], labels=case, network="none")
    other_case = engine.containers.create(BUSYBOX, ["true"], labels={CASE_LABEL: "another-case"}, network="none")
    unused = engine.networks.create(f"{name}-unused", labels=case)
    anonymous = engine.volumes.create(labels=case)

    pruned = engine.system.prune(filters=case_filter(case))
    assert set(pruned) == {"containers", "networks", "images", "volumes", "space_reclaimed"}
    assert pruned["containers"] == [stopped.id]
    assert pruned["networks"] == [unused.name]
    assert pruned["images"] == [] and pruned["volumes"] == []
    assert not engine.containers.exists(stopped.id)
    assert engine.containers.get(running.id).state == "running"
    assert engine.containers.exists(other_case.id)
    assert unused.name not in {n.name for n in engine.networks.list()}
    assert engine.volumes.get(anonymous.name)  # volumes only when asked

    pruned = engine.system.prune(filters=case_filter(case), volumes=True)
    assert pruned["volumes"] == [anonymous.name] and pruned["containers"] == []
    assert engine.containers.exists(running.id)


# -- the engine going away -----------------------------------------------------

def test_events_raise_when_the_engine_stops(second_engine):
    private, engine = second_engine
    build_busybox(engine)
    open_ended = Reader(engine.system.events(filters={"type": "container"}))
    bounded = Reader(engine.system.events(until=time.time() + 300))
    container = engine.containers.run(BUSYBOX, ["true"], network="none", detach=False)
    wait_for(lambda: "start" in open_ended.actions(container.id), message="events from the second engine")

    stopped_at = time.monotonic()
    assert private.stop()
    for reader in (open_ended, bounded):
        reader.join(timeout=15)
        assert isinstance(reader.error, EngineUnavailable), repr(reader.error)
        assert private.url in assert_one_line(reader.error)
    assert time.monotonic() - stopped_at < 20

    with pytest.raises(EngineUnavailable) as caught:
        engine.system.events()
    assert_one_line(caught.value)
    with pytest.raises(EngineUnavailable) as caught:
        engine.system.info()
    assert_one_line(caught.value)
