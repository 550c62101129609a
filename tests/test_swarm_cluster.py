"""A real three-node swarm (``cluster.py``: three dockerds, each in a network namespace of its own,
on a test bridge): services spread over the nodes, drain and reactivate a node, a worker's dockerd
stopped, a compose stack from a cell spanning the nodes; and nothing of the cluster left afterwards.

``make test-cluster`` runs these (``pytest -m cluster``).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest
from cluster import NETNS_PREFIX, cluster
from conftest import wait_for

pytestmark = pytest.mark.cluster

SERVICE_LABEL = "com.docker.swarm.service.name"  # on every task's container
STACK_LABEL = "com.docker.stack.namespace"
# sleeps, and stops at once on SIGTERM (busybox's sleep as PID 1 would wait out the grace period)
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture(scope="module")
def three(root_engine, busybox):
    """Three nodes: node 1 the manager, nodes 2 and 3 workers; gone afterwards, whatever happened.
    A 2 s heartbeat (swarm's default: 5 s) has a stopped node marked down in about 6 s, not 15."""
    with cluster(root_engine, n=3, heartbeat=2) as made:
        yield made
    assert made.leftovers() == {}


def sleepers(c, name: str, replicas: int) -> dict:
    """A replicated service of tasks that sleep, stop at once, and are replaced after half a second
    (swarm's default: 5 s). The image by id: a node pulls a tag before it runs a task (and would find
    no route to a registry); an id, never."""
    return {"Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": c.image, "Command": SLEEP,
                                               "StopGracePeriod": 1_000_000_000},
                             "RestartPolicy": {"Condition": "any", "Delay": 500_000_000}},
            "Mode": {"Replicated": {"Replicas": replicas}}}


def running(c, service: str) -> Counter:
    """The manager's view: node index (1-based) -> tasks of ``service`` that are to run and do."""
    index = {node_id: i for i, node_id in enumerate(c.node_ids, start=1)}
    return Counter(index[t["NodeID"]] for t in c.manager.services.tasks(service)
                   if t["DesiredState"] == "running" and t["Status"]["State"] == "running")


def containers(c, i: int, **label) -> int:
    """The node's own view: its running containers with the label (key=value)."""
    (key, value), = label.items()
    return len(c.engines[i - 1].containers.list(filters={"label": [f"{key}={value}"]}))


def service_name() -> str:
    return f"jc-{uuid.uuid4().hex[:8]}"


def remove(c, service: str) -> None:
    c.manager.services.remove(service)
    wait_for(lambda: all(containers(c, i, **{SERVICE_LABEL: service}) == 0 for i in c.live()),
             timeout=30, interval=0.2, message=f"the containers of {service} gone")


def test_six_replicas_spread_two_on_each_node(three):
    name = service_name()
    three.manager.services.create(sleepers(three, name, 6))
    try:
        assert three.manager.services.converge(name, timeout=60).running == 6
        assert running(three, name) == {1: 2, 2: 2, 3: 2}
        assert [containers(three, i, **{SERVICE_LABEL: name}) for i in (1, 2, 3)] == [2, 2, 2]
    finally:
        remove(three, name)


def test_drain_moves_the_tasks_away_and_active_takes_new_ones(three):
    name, manager, worker = service_name(), three.manager, three.node_ids[1]
    manager.services.create(sleepers(three, name, 6))
    try:
        manager.services.converge(name, timeout=60)
        assert running(three, name) == {1: 2, 2: 2, 3: 2}

        assert manager.nodes.update(worker, availability="drain")["Spec"]["Availability"] == "drain"
        assert manager.services.converge(name, timeout=60).running == 6
        assert running(three, name) == {1: 3, 3: 3}
        wait_for(lambda: containers(three, 2, **{SERVICE_LABEL: name}) == 0, timeout=30, interval=0.2,
                 message="no task running on the drained node")

        assert manager.nodes.update(worker, availability="active")["Spec"]["Availability"] == "active"
        # swarm does not move running tasks back; new ones go where there are fewest
        manager.services.scale(name, 9)
        assert manager.services.converge(name, timeout=60).running == 9
        assert running(three, name) == {1: 3, 2: 3, 3: 3}
        assert containers(three, 2, **{SERVICE_LABEL: name}) == 3
    finally:
        remove(three, name)


COMPOSE = """\
services:
  everywhere:
    image: {image}
    command: {command}
    stop_grace_period: 1s
    deploy:
      mode: global
  three:
    image: {image}
    command: {command}
    stop_grace_period: 1s
    deploy:
      replicas: 3
"""


@pytest.fixture
def on_cluster(ip, three):
    """The magics pointed at the cluster's manager, and back afterwards."""
    magics = ip.magics_manager.registry["ContainerMagics"]
    before = magics.engine_url
    ip.run_line_magic("config", f"ContainerMagics.engine_url = {three.nodes[0].url!r}")
    yield ip
    ip.run_line_magic("config", f"ContainerMagics.engine_url = {before!r}")


def test_a_compose_stack_from_a_cell_spans_the_nodes(on_cluster, three):
    ip, stack, manager = on_cluster, f"jcstack{uuid.uuid4().hex[:6]}", three.manager
    compose = COMPOSE.format(image=three.image, command=json.dumps(SLEEP))
    result = ip.run_cell(f"%%compose up --swarm -p {stack}\n{compose}")
    try:
        assert result.success and result.result is not None, result.error_in_exec
        ps = result.result
        assert sorted(ps["service"]) == ["everywhere"] * 3 + ["three"] * 3
        assert set(ps["current_state"]) == {"running"}

        services = {s["Spec"]["Name"] for s in manager.services.list(filters={"label": [f"{STACK_LABEL}={stack}"]})}
        assert services == {f"{stack}_everywhere", f"{stack}_three"}
        assert running(three, f"{stack}_everywhere") == {1: 1, 2: 1, 3: 1}
        assert running(three, f"{stack}_three") == {1: 1, 2: 1, 3: 1}
        assert [containers(three, i, **{STACK_LABEL: stack}) for i in (1, 2, 3)] == [2, 2, 2]
        # on its own overlay network, across the nodes
        network = manager.networks.inspect(f"{stack}_default")
        assert network["Driver"] == "overlay" and network["Scope"] == "swarm"
    finally:
        down = ip.run_cell(f"%compose down --swarm -p {stack}")
    assert down.success, down.error_in_exec
    assert manager.services.list(filters={"label": [f"{STACK_LABEL}={stack}"]}) == []
    assert manager.networks.list(filters={"label": [f"{STACK_LABEL}={stack}"]}) == []
    wait_for(lambda: all(containers(three, i, **{STACK_LABEL: stack}) == 0 for i in (1, 2, 3)),
             timeout=30, interval=0.2, message="the stack's containers gone on every node")


def test_a_stopped_worker_is_marked_down_and_its_tasks_rescheduled(three):
    name, manager, gone = service_name(), three.manager, three.node_ids[2]
    manager.services.create(sleepers(three, name, 6))
    try:
        manager.services.converge(name, timeout=60)
        assert running(three, name) == {1: 2, 2: 2, 3: 2}

        three.stop_node(3)  # SIGTERM to its dockerd
        # the swarm's heartbeat (2 s here) decides when: after a few missed ones
        wait_for(lambda: three.nodes_by_state()[gone] == "down", timeout=60, interval=0.25,
                 message="the manager marking node 3 down")
        wait_for(lambda: running(three, name) == {1: 3, 2: 3}, timeout=60, interval=0.25,
                 message="node 3's tasks running on nodes 1 and 2")
        assert manager.services.converge(name, timeout=60).running == 6
        assert running(three, name) == {1: 3, 2: 3}
        assert [containers(three, i, **{SERVICE_LABEL: name}) for i in (1, 2)] == [3, 3]
        assert not any(t["NodeID"] == gone and t["DesiredState"] == "running"
                       for t in manager.services.tasks(name))

        three.start_node(3)  # it rejoins by itself, and runs none of its old tasks
        wait_for(lambda: three.nodes_by_state()[gone] == "ready", timeout=60, interval=0.25,
                 message="node 3 ready again")
        wait_for(lambda: containers(three, 3, **{SERVICE_LABEL: name}) == 0, timeout=30, interval=0.25,
                 message="node 3's old tasks not running")
        assert running(three, name) == {1: 3, 2: 3}
    finally:
        remove(three, name)


def test_teardown_leaves_nothing(three):
    """Last: take the cluster down here and look for anything of it, as the system shows it."""
    three.down()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True, check=False).stdout
    assert f"{NETNS_PREFIX}{three.id}" not in netns
    assert three.bridge not in links and three.bridge not in rules
    assert str(three.base) not in Path("/proc/self/mounts").read_text()
    assert not three.base.exists()
    assert three.leftovers() == {}  # and no dockerd, containerd or shim of its directory runs
