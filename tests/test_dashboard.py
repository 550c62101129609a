"""The widget dashboard driven from Python against the real engine: each click changes
the engine, and the table follows within 2 s from the engine's events."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading

import pytest
from IPython.core.error import UsageError

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, build_busybox, wait_for
from jupyter_containers.compose import Stack, load_project
from jupyter_containers.kernels import KERNEL_LABEL, SPEC_LABEL
from jupyter_containers.widgets import BANNER, Dashboard

pytestmark = pytest.mark.usefixtures("busybox")
MINE = {"label": [f"{TEST_LABEL}={RUN_ID}"]}
FOLLOWS = 2.0  # seconds the table may take to follow the engine


@pytest.fixture
def dash(engine):
    board = Dashboard(engine, filters=MINE, retry=0.2)
    yield board
    board.close()
    assert board.threads_alive == 0
    wait_for(lambda: not [t for t in threading.enumerate() if t.name.startswith("dashboard-")], 5,
             message="the dashboard's threads (actions, logs, stats) to end")


@pytest.fixture
def thread_errors():
    """Exceptions that escaped any thread (they would be printed into the notebook)."""
    seen, previous = [], threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_value)
    yield seen
    threading.excepthook = previous


def shown(table, key: str) -> str:
    """The HTML line the user sees for ``key`` ('' when it is not on the page)."""
    slot = table.slot_of(key)
    return slot[2].value if slot is not None and slot[0].layout.display != "none" else ""


def state_shown(table, key: str, state: str) -> bool:
    return f">{state}</span>" in shown(table, key)


def tick(table, key: str) -> None:
    """What a user does: tick the row's checkbox."""
    slot = wait_for(lambda: table.slot_of(key), timeout=FOLLOWS, message=f"row {key[:12]} on the page")
    slot[1].value = True


def engine_state(engine, cid: str) -> str:
    return engine.containers.inspect(cid)["State"]["Status"]


def test_actions_change_the_engine_and_the_table_follows(engine, dash, name, thread_errors):
    table = dash.containers.table
    c = engine.containers.run(BUSYBOX, "sleep 3600", name=name, init=True)
    wait_for(lambda: state_shown(table, c.id, "running"), FOLLOWS, message="the new container's row")
    assert name in shown(table, c.id) and BUSYBOX in shown(table, c.id)
    # a notebook kernel's container (the provisioner's labels) has a badge by its name; a plain one has none
    kernel = engine.containers.run(BUSYBOX, "sleep 300", name=f"{name}-kernel",
                                   labels={KERNEL_LABEL: "0123456789abcdef", SPEC_LABEL: "python-busybox"})
    wait_for(lambda: state_shown(table, kernel.id, "running"), FOLLOWS, message="the kernel container's row")
    assert ('<span class="jcd-tag" title="notebook kernel (kernelspec python-busybox, kernel 01234567)">'
            'kernel</span>') in shown(table, kernel.id)
    assert "jcd-tag" not in shown(table, c.id)
    tick(table, c.id)
    assert table.selected == {c.id}
    buttons = dash.containers.buttons
    assert buttons["start"].disabled and not buttons["stop"].disabled  # a running one: nothing to start
    for verb, state in (("pause", "paused"), ("unpause", "running"), ("stop", "exited"), ("start", "running")):
        buttons[verb].click()
        wait_for(lambda s=state: engine_state(engine, c.id) == s, 15, message=f"{verb} on the engine")
        wait_for(lambda s=state: state_shown(table, c.id, s), FOLLOWS, message=f"the row to show {state}")
    started = engine.containers.inspect(c.id)["State"]["StartedAt"]
    buttons["restart"].click()
    wait_for(lambda: engine.containers.inspect(c.id)["State"]["StartedAt"] != started, 15, message="restart")
    wait_for(lambda: state_shown(table, c.id, "running"), FOLLOWS)

    buttons["remove"].click()
    assert dash.containers.confirm.shown and name in dash.containers.confirm.question.value
    assert engine.containers.exists(c.id)  # nothing happens before the answer
    dash.containers.confirm.no.click()
    assert not dash.containers.confirm.shown and engine.containers.exists(c.id)
    buttons["remove"].click()
    dash.containers.confirm.yes.click()
    wait_for(lambda: not engine.containers.exists(c.id), 15, message="removal on the engine")
    wait_for(lambda: c.id not in table.rows and not shown(table, c.id), FOLLOWS, message="the row to go")
    assert table.selected == set()
    assert f"removed {name}" in dash.status.value
    assert not thread_errors and dash.errors == 0


def test_filter_sort_pages_and_select_page(engine, name):
    names = [f"{name}-{i}" for i in range(5)]
    ids = {n: engine.containers.create(BUSYBOX, "true", name=n).id for n in names}
    dash = Dashboard(engine, filters=MINE, page_size=2)
    try:
        table = dash.containers.table
        wait_for(lambda: set(ids.values()) <= set(table.rows), FOLLOWS)
        assert table.sort_by.value == "name"
        assert [table.rows[k]["name"] for k in table.keys] == names[:2]
        assert "1-2 of 5" in table.counter.value and table.previous.disabled
        table.next.click()
        assert [table.rows[k]["name"] for k in table.keys] == names[2:4]
        table.next.click()
        assert [table.rows[k]["name"] for k in table.keys if k] == names[4:] and table.next.disabled
        assert table.slots[1][0].layout.display == "none"  # an empty slot is hidden
        table.descending.value = True
        assert [table.rows[k]["name"] for k in table.keys] == names[::-1][:2]
        table.filter.value = f"{name}-3"
        assert [table.rows[k]["name"] for k in table.keys if k] == [f"{name}-3"]
        assert "of 1 (filtered from 5)" in table.counter.value
        table.select_page.value = True
        assert table.selected == {ids[f"{name}-3"]}
        assert not dash.containers.buttons["start"].disabled and dash.containers.buttons["pause"].disabled
        table.filter.value = "no-such-container"
        assert table.keys == [None, None] and table.empty_note.layout.display == "block"
        table.filter.value = ""
        assert len(table.view) == 5 and table.selected == {ids[f"{name}-3"]}  # selection outlives the filter
        assert dash.tabs.get_title(0) == "Containers (5)"
    finally:
        dash.close()


def test_logs_follow_and_stop_inspect_and_stats(engine, dash, name):
    c = engine.containers.run(BUSYBOX, ["sh", "-c", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"],
                              name=name, init=True)
    table = dash.containers.table
    tick(table, c.id)
    dash.containers.buttons["logs"].click()
    logs = dash.containers.logs
    wait_for(lambda: "line-3" in "".join(o.get("text", "") for o in logs.output.outputs), 10, message="log lines")
    assert dash.containers.detail.layout.display == "flex" and name in dash.containers.detail_title.value
    logs.stop_button.click()
    wait_for(lambda: not logs._thread.is_alive(), 5, message="the log thread to end")
    assert "stopped" in logs.state.value

    dash.containers.buttons["inspect"].click()
    wait_for(lambda: "inspect" in dash.containers.detail_title.value, 5)
    (out,) = dash.containers.detail_body.children
    assert out.outputs[0]["data"]["application/json"]["Id"] == c.id

    assert dash.stats_enabled  # our own stats package: missing is a failure, not a skip
    wait_for(lambda: table.rows[c.id]["cpu"] is not None and table.rows[c.id]["mem"], 10, message="CPU and memory")
    assert re.search(r"\d+\.\d %", shown(table, c.id)) and re.search(r"\d[\d.]* (kB|MB|GB)", shown(table, c.id))
    dash.containers.buttons["stats"].click()
    wait_for(lambda: "stats of" in dash.containers.detail_title.value, 10, message="the stats chart")
    chart = dash.containers.chart
    wait_for(lambda: chart.redraws >= 1 and len(chart.figure.data) > 0, 10, message="the chart to draw")
    dash.containers.detail_close.click()
    assert not chart.running and dash.containers.detail.layout.display == "none"


@pytest.mark.parametrize("gone", ["stopped", "killed"])
def test_engine_gone_shows_the_banner_and_recovers(second_engine, thread_errors, capfd, gone):
    """The engine stopped, or SIGKILLed in the middle of the dashboard's streams and refreshes."""
    private, other = second_engine
    build_busybox(other)
    c = other.containers.run(BUSYBOX, "sleep 3600", network="none", init=True)
    dash = Dashboard(other, retry=0.2)
    try:
        table = dash.containers.table
        wait_for(lambda: state_shown(table, c.id, "running"), FOLLOWS)
        assert dash.banner.layout.display == "none"
        if gone == "killed":
            os.kill(private.pid, signal.SIGKILL)
        else:
            private.stop()
        wait_for(lambda: dash.banner.layout.display == "block", 10, message="the banner")
        assert BANNER in dash.banner.value and not dash.reachable
        tick(table, c.id)
        dash.containers.buttons["stop"].click()  # an action meanwhile: one line, no traceback
        wait_for(lambda: "does not answer" in dash.status.value, 10, message="the action's one-line failure")
        late = Dashboard(other, retry=0.2)  # made while the engine is down: the banner, no exception
        assert late.banner.layout.display == "block" and not late.containers.table.rows
        private.start()
        wait_for(lambda: late.reachable and c.id in late.containers.table.rows, 20, message="the late one to load")
        late.close()
        wait_for(lambda: dash.banner.layout.display == "none", 20, message="the banner to go")
        wait_for(lambda: state_shown(table, c.id, "exited"), FOLLOWS, message="the reloaded rows")
        other.containers.start(c.id)  # and the events flow again
        wait_for(lambda: state_shown(table, c.id, "running"), FOLLOWS, message="events after the restart")
    finally:
        dash.close()
    assert not thread_errors and dash.errors == 0
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_images_tab_pull_history_remove(engine, registry, dash, name):
    ref = f"{registry}/jc-test/{name}:1"
    engine.images.tag(BUSYBOX, ref)
    engine.images.push(ref)
    engine.images.remove(ref)
    images = dash.images
    dash.select(images)
    wait_for(lambda: any(r["ref"] == f"{BUSYBOX}" for r in images.table.rows.values()), FOLLOWS)
    images.reference.value = ref
    images.pull_button.click()
    wait_for(lambda: engine.images.exists(ref), 30, message="the pull")
    key = wait_for(lambda: next((k for k, r in images.table.rows.items() if r["ref"] == ref), None), FOLLOWS)
    assert f"pulled {ref}" in wait_for(lambda: "pulled" in dash.status.value and dash.status.value, 5)
    assert images.progress_box.children[0].children[0].children[1].bar_style == "success"
    images.table.filter.value = name
    tick(images.table, key)
    images.show_history()
    wait_for(lambda: "history of" in images.history.value, 5)
    assert "busybox" in images.history.value
    images._ask_remove()
    images.confirm.yes.click()
    wait_for(lambda: not engine.images.exists(ref), 10, message="the removal")
    wait_for(lambda: key not in images.table.rows, FOLLOWS)
    images.reference.value = f"{registry}/jc-test/{name}-missing:1"
    images.pull_button.click()
    wait_for(lambda: "jcd-bad" in dash.status.value, 15, message="a failed pull's one line")
    assert "pull " in dash.status.value and "Traceback" not in dash.status.value


def test_stacks_tab_stop_up_down(engine, dash, name):
    text = f"services:\n  web:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n" \
           f"  worker:\n    image: {BUSYBOX}\n    init: true\n    command: sleep 3600\n"
    stack = Stack(engine, load_project(text=text, name=name, env={}))
    stack.up()
    stacks = dash.stacks
    dash.select(stacks)
    wait_for(lambda: stacks.table.rows.get(name, {}).get("running") == 2, FOLLOWS, message="the stack's row")
    assert "web" in shown(stacks.table, name) and "running" in shown(stacks.table, name)
    tick(stacks.table, name)
    stop, up, down = (stacks.buttons[k] for k in ("stop", "up", "down"))
    stop.click()
    wait_for(lambda: all(c.state == "exited" for c in stack.containers()), 15, message="the stack to stop")
    wait_for(lambda: stacks.table.rows[name]["running"] == 0 and "exited" in shown(stacks.table, name), FOLLOWS)
    up.click()
    wait_for(lambda: all(c.state == "running" for c in stack.containers()), 15, message="the stack to start")
    wait_for(lambda: stacks.table.rows[name]["running"] == 2, FOLLOWS)
    down.click()
    assert stacks.confirm.shown
    stacks.confirm.yes.click()
    wait_for(lambda: not stack.containers(), 15, message="the stack to go")
    wait_for(lambda: name not in stacks.table.rows, FOLLOWS)


def test_volumes_and_networks_tab(engine, dash, name):
    storage = dash.storage
    dash.select(storage)
    volume = engine.volumes.create(f"{name}-v")
    network = engine.networks.create(f"{name}-n")
    wait_for(lambda: volume.name in storage.volumes.rows and network.id in storage.networks.rows, FOLLOWS)
    storage.volumes.filter.value = name  # on the first page, however many volumes the engine has
    tick(storage.volumes, volume.name)
    storage._ask_volumes()
    storage.confirm.yes.click()
    wait_for(lambda: volume.name not in {v.name for v in engine.volumes.list()}, 10)
    wait_for(lambda: volume.name not in storage.volumes.rows, FOLLOWS)
    storage.networks.filter.value = "bridge"
    tick(storage.networks, next(k for k, r in storage.networks.rows.items() if r["name"] == "bridge"))
    storage._ask_networks()
    assert "cannot be removed" in dash.status.value and not storage.confirm.shown
    storage.networks.filter.value = name
    storage.networks.select([network.id])
    storage._ask_networks()
    storage.confirm.yes.click()
    wait_for(lambda: network.id not in storage.networks.rows, FOLLOWS + 3)
    assert not engine.networks.list(filters={"name": [network.name]})


def test_engine_tab_info_chart_and_events(engine, dash, name):
    dash.select(dash.engine_tab)
    tab = dash.engine_tab
    wait_for(lambda: "API 1." in tab.info.value, 10, message="version and info")
    wait_for(lambda: tab.chart.outputs, 20, message="the disk usage chart")
    spec = tab.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert [t["type"] for t in spec["data"]] == ["bar", "bar"] and "containers" in spec["data"][0]["y"]
    engine.containers.create(BUSYBOX, "true", name=name)
    wait_for(lambda: name in tab.feed.value, FOLLOWS, message="the event in the feed")
    assert ">create<" in tab.feed.value


def test_hidden_tab_is_not_refreshed_until_shown(engine, dash, name):
    images = dash.images
    assert dash.visible_tab() is dash.containers
    engine.images.tag(BUSYBOX, f"jc-test/{name}:hidden")
    try:
        wait_for(lambda: images.dirty, FOLLOWS, message="the image event")
        assert not images.table.rows  # never loaded while hidden
        dash.select(images)
        wait_for(lambda: any(r["tag"] == "hidden" for r in images.table.rows.values()), FOLLOWS)
    finally:
        engine.images.remove(f"jc-test/{name}:hidden")


def test_magic_shows_the_dashboard_and_replaces_the_previous(ip):
    first = ip.run_line_magic("container", f"dashboard --page-size 5 --filter label={TEST_LABEL}={RUN_ID}")
    assert isinstance(first, Dashboard) and first.containers.table.page_size == 5
    assert first.containers.filters == MINE
    second = ip.run_line_magic("container", "dashboard --no-stats")
    assert first.closed and first.threads_alive == 0
    assert second.threads_alive == 2 and not second.stats_enabled
    assert second.containers.buttons["stats"].layout.display == "none"
    second.close()
    result = ip.run_cell("%container dashboard --page-size 0")
    assert isinstance(result.error_in_exec, UsageError)
    assert str(result.error_in_exec) == ("container dashboard: argument --page-size: '0' is not a positive int; "
                                             "see %container dashboard --help")
    assert "dashboard" in sys.modules["jupyter_containers.magics.container"].container_commands.overview()


def test_policy_refuses_actions_it_does_not_allow(engine, name):
    from jupyter_containers.policy import ContainersPolicy

    policy = ContainersPolicy(allowed_actions={"list", "inspect", "logs"})
    c = engine.containers.run(BUSYBOX, "sleep 3600", name=name, init=True)
    dash = Dashboard(engine, filters=MINE, policy=policy)
    try:
        tick(dash.containers.table, c.id)
        dash.containers.buttons["stop"].click()
        assert "the &#x27;stop&#x27; action is not allowed" in dash.status.value
        dash.containers.buttons["remove"].click()
        dash.containers.confirm.yes.click()
        assert "the &#x27;remove&#x27; action is not allowed" in dash.status.value
        assert engine_state(engine, c.id) == "running"  # nothing reached the engine
        dash.containers.buttons["inspect"].click()  # what the policy allows still works
        wait_for(lambda: "inspect" in dash.containers.detail_title.value, 5)
    finally:
        dash.close()
