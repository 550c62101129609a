"""The dashboard's Services tab on a one-node swarm: replicas running/desired, tasks by node,
the CPU and memory of a service's tasks here, and Scale and Remove from the tab; on an engine
that is not in a swarm, one line saying how to make it one."""

from __future__ import annotations

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, build_busybox, wait_for
from test_dashboard import FOLLOWS, MINE, shown, tick
from jupyter_containers.widgets import Dashboard


def sleeper(name: str, replicas: int) -> dict:
    return {"Name": name, "Labels": {TEST_LABEL: RUN_ID},
            "TaskTemplate": {"ContainerSpec": {"Image": BUSYBOX, "Command": ["sleep", "3600"],
                                               "Labels": {TEST_LABEL: RUN_ID}}},
            "Mode": {"Replicated": {"Replicas": replicas}}}


@pytest.fixture
def board(swarm):
    dash = Dashboard(swarm, filters=MINE, retry=0.2)
    yield dash
    dash.close()


def test_services_tab_replicas_usage_scale_remove(swarm, board, name):
    service = swarm.services.create(sleeper(name, 2))
    swarm.services.converge(service, timeout=60, stable=0)
    tab = board.services
    board.select(tab)
    wait_for(lambda: tab.table.rows.get(service, {}).get("running") == 2, 10, message="the service's row, 2/2")
    row = tab.table.rows[service]
    node = swarm.nodes.list()[0]["Description"]["Hostname"]
    assert row["mode"] == "replicated" and row["desired"] == 2 and row["tasks"] == {node: {"running": 2}}
    wait_for(lambda: (tab.table.rows[service].get("cpu") is not None and tab.table.rows[service]["mem"] > 0), 15,
             message="CPU and memory of the service's two tasks")
    tab.table.filter.value = name
    wait_for(lambda: "2/2" in shown(tab.table, service) and f"<b>{node}</b>" in shown(tab.table, service), FOLLOWS)
    assert board.tabs.get_title(board.tabs_list.index(tab)).startswith("Services (")

    tick(tab.table, service)
    tab.replicas.value = 3
    tab.buttons["scale"].click()
    wait_for(lambda: tab.table.rows.get(service, {}).get("running") == 3, 30,
             message=f"scaled to 3 in the tab ({board.status.value})")
    assert swarm.services.inspect(service)["Spec"]["Mode"]["Replicated"]["Replicas"] == 3
    tab._ask_remove()
    tab.confirm.yes.click()
    wait_for(lambda: not swarm.services.list(filters={"id": [service]}), 15, message="the service removed")
    wait_for(lambda: service not in tab.table.rows, FOLLOWS, message="its row gone")
    assert board.errors == 0 and "Traceback" not in board.status.value


def test_services_tab_on_an_engine_not_in_a_swarm(second_engine):
    private, other = second_engine
    build_busybox(other)
    dash = Dashboard(other, retry=0.2)
    try:
        dash.select(dash.services)
        wait_for(lambda: dash.services.manager is False, 10, message="the tab to find no swarm")
        assert "swarm init" in dash.services.table._empty and not dash.services.table.rows
        assert dash.errors == 0
    finally:
        dash.close()
