"""The Containers tab: every container as a row, kept current from the engine's events;
actions on the selected rows; logs, inspect and a live stats chart below the table."""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as w

from ..engine.errors import ContainersError
from ..engine.records import Container
from ..kernels import KERNEL_LABEL, SPEC_LABEL
from .parts import Confirm, Tab, button, since
from .table import Column, Table, esc, human_bytes

if TYPE_CHECKING:
    from .dashboard import Dashboard

# events that change what a row shows (exec_*, attach, resize, top, ... do not)
ROW_ACTIONS = {"create", "start", "restart", "stop", "die", "kill", "pause", "unpause", "destroy",
               "rename", "update", "oom"}
STATE_CLASS = {"running": "jcd-ok", "exited": "jcd-bad", "dead": "jcd-bad", "paused": "jcd-warn",
               "restarting": "jcd-info", "created": "jcd-info", "removing": "jcd-warn"}
HEALTH_CLASS = {"healthy": "jcd-ok", "unhealthy": "jcd-bad", "starting": "jcd-warn"}
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "month": 2592000,
         "year": 31536000}
# the engine sends an event before its listing shows the change (moby logs the event, then
# checkpoints the container): the event's state wins for a moment, and the row is read again
EVENT_STATE = {"create": "created", "start": "running", "restart": "running", "unpause": "running",
               "pause": "paused", "die": "exited", "stop": "exited", "destroy": "gone"}
EVENT_TRUST = 2.0  # seconds an event's state beats a listing that says otherwise
RECHECK = 0.25  # seconds until such a row is read again
COMPOSE_PROJECT, COMPOSE_SERVICE = "com.docker.compose.project", "com.docker.compose.service"
LOG_LINES = 1000  # the logs pane keeps this many


def started_from_status(status: str, now: float) -> float | None:
    """When a running container started, from the engine's "Up 5 minutes" (as precise as that is)."""
    match = re.match(r"Up (?:(Less than a second)|About an? (\w+)|(\d+) (\w+?)s?)\b", status or "")
    if not match:
        return None
    if match.group(1):
        return now
    if match.group(2):
        return now - UNITS.get(match.group(2), 0)
    return now - int(match.group(3)) * UNITS.get(match.group(4), 0)


def _state(row: dict) -> str:
    state = row["state"]
    title = esc(row.get("status", ""))
    return f'<span class="jcd-pill {STATE_CLASS.get(state, "jcd-dim")}" title="{title}">{esc(state)}</span>'


def _health(row: dict) -> str:
    health = row.get("health")
    if not health:
        return '<span class="jcd-dim">&mdash;</span>'
    return f'<span class="{HEALTH_CLASS.get(health, "jcd-dim")}">{esc(health)}</span>'


def _ports(row: dict) -> str:
    out = []
    for port in row["ports"]:
        if port.host_port is None:
            continue
        label = f"{port.host_port}&rarr;{port.container_port}"
        out.append(f'<a href="{esc(port.url)}" target="_blank" title="{esc(port)}">{label}</a>'
                   if port.url else f'<span title="{esc(port)}">{label}/{esc(port.protocol)}</span>')
    return ", ".join(out) or '<span class="jcd-dim">&mdash;</span>'


def _cpu(row: dict) -> str:
    value = row.get("cpu")
    return f"{value:.1f} %" if value is not None else '<span class="jcd-dim">&mdash;</span>'


def _mem(row: dict) -> str:
    value = row.get("mem")
    if value is None:
        return '<span class="jcd-dim">&mdash;</span>'
    limit = row.get("mem_limit")
    title = f' title="of {human_bytes(limit)}"' if limit else ""
    return f"<span{title}>{human_bytes(value)}</span>"


def _uptime(row: dict) -> str:
    if row["state"] in ("running", "paused") and row.get("started"):
        return esc(since(row["started"]))
    return f'<span class="jcd-dim">{esc(row.get("status", ""))}</span>'


def _name(row: dict) -> str:
    project = row.get("project")
    stack = f'<span class="jcd-dim" title="compose project">[{esc(project)}]</span>' if project else ""
    kernel = ""
    if row.get("kernel_id"):
        title = f'notebook kernel (kernelspec {row.get("kernel") or "?"}, kernel {row["kernel_id"][:8]})'
        kernel = f'<span class="jcd-tag" title="{esc(title)}">kernel</span>'
    # a flex line: the compose project is cut short first, then the name; the kernel badge never is
    return (f'<span class="jcd-name"><b title="{esc(row["name"])} ({esc(row["id"][:12])})">{esc(row["name"])}</b>'
            f'{kernel}{stack}</span>')


COLUMNS = [
    Column("name", "name", "minmax(11em, 2.4fr)", _name),
    Column("image", "image", "minmax(7em, 1.3fr)"),
    Column("state", "state", "6.5em", _state),
    Column("health", "health", "5.5em", _health),
    Column("ports", "ports", "minmax(6em, 1.2fr)", _ports, sortable=False),
    Column("cpu", "CPU %", "4.5em", _cpu),
    Column("mem", "memory", "5.5em", _mem),
    Column("started", "uptime", "minmax(6em, 1fr)", _uptime, sort=lambda r: -(r.get("started") or 0)),
]


def row_of(container: Container, old: dict | None, now: float, started: float | None = None) -> dict:
    running = container.state in ("running", "paused")
    if started is None and running:
        kept = old is not None and old["state"] in ("running", "paused") and old.get("started")
        started = old["started"] if kept else started_from_status(container.status, now)
    row = {"id": container.id, "name": container.name, "image": container.image, "state": container.state,
           "health": container.health, "status": container.status, "ports": container.ports,
           "started": started if running else None, "project": container.labels.get(COMPOSE_PROJECT),
           "service": container.labels.get(COMPOSE_SERVICE), "kernel_id": container.labels.get(KERNEL_LABEL),
           "kernel": container.labels.get(SPEC_LABEL), "cpu": None, "mem": None, "mem_limit": None}
    if old is not None and container.state == "running":
        row.update(cpu=old.get("cpu"), mem=old.get("mem"), mem_limit=old.get("mem_limit"))
    return row


def _search(row: dict) -> str:
    ports = " ".join(str(p) for p in row["ports"])
    kernel = f'kernel {row.get("kernel") or ""}' if row.get("kernel_id") else ""
    return f'{row["name"]} {row["id"][:12]} {row["image"]} {row["state"]} {row.get("health") or ""} ' \
           f'{ports} {row.get("project") or ""} {kernel}'


class ContainersTab(Tab):
    title = "Containers"

    def __init__(self, dashboard: "Dashboard", *, filters: dict | None = None, page_size: int = 25):
        super().__init__(dashboard)
        self.filters = dict(filters or {})
        self.table = Table(COLUMNS, page_size=page_size, search=_search, empty="no containers",
                           on_selection=lambda _: self._enable())
        self._pending: set[str] = set()
        self._starts: dict[str, float] = {}
        self._expect: dict[str, tuple[str, float]] = {}  # id -> (state its last event implies, when)
        self._later: dict[str, float] = {}  # id -> when to read it again
        self._lock = threading.Lock()
        self.stats = _Stats(self) if dashboard.stats_enabled else None
        self.confirm = Confirm("Remove")
        act = self._act
        self.buttons = {
            "start": button("Start", "play", lambda: act("start"), tooltip="start the selected containers"),
            "stop": button("Stop", "stop", lambda: act("stop"), tooltip="stop the selected containers"),
            "restart": button("Restart", "redo", lambda: act("restart")),
            "pause": button("Pause", "pause", lambda: act("pause")),
            "unpause": button("Unpause", "play-circle", lambda: act("unpause")),
            "remove": button("Remove", "trash", self._ask_remove, style="danger",
                             tooltip="remove the selected containers (asks first)"),
            "logs": button("Logs", "align-left", self.show_logs, tooltip="follow the first selected container's logs"),
            "inspect": button("Inspect", "search", self.show_inspect),
            "stats": button("Stats", "line-chart", self.show_stats, tooltip="a live chart of the selected containers"),
        }
        if self.stats is None:
            self.buttons["stats"].layout.display = "none"
        self.actions = w.HBox(list(self.buttons.values()), layout=w.Layout(flex_flow="row wrap"))
        self.detail_title = w.HTML()
        self.detail_close = button("", "times", self.close_detail, tooltip="close", width="34px")
        self.detail_body = w.VBox()
        self.detail = w.VBox([w.HBox([self.detail_title, self.detail_close],
                                     layout=w.Layout(justify_content="space-between", align_items="center")),
                              self.detail_body], layout=w.Layout(display="none", margin="8px 0 0 0"))
        self._detail_stop = None  # closes what the detail pane follows
        self.widget = w.VBox([self.actions, self.confirm.widget, self.table.widget, self.detail])
        self._enable()

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> None:
        """Every container, in one engine call."""
        listed = self.engine.containers.list(all=True, filters=self.filters or None)
        now = time.time()
        with self._lock:
            self._pending.clear()
            old = self.table.rows
            rows = {c.id: row_of(c, old.get(c.id), now, self._starts.pop(c.id, None)) for c in listed}
        self.table.set_rows(rows)
        self.dashboard.count_changed(self, len(rows))

    def on_event(self, event) -> None:
        if event.type != "container" or not event.id:
            return
        action = event.action.split(":")[0]
        if action not in ROW_ACTIONS and action != "health_status":
            return
        with self._lock:
            if action == "start" and event.time is not None:
                self._starts[event.id] = event.time.timestamp()
            if action in EVENT_STATE:
                self._expect[event.id] = (EVENT_STATE[action], time.monotonic())
            self._pending.add(event.id)

    def apply(self) -> None:
        """Re-read the rows events named (one engine call), then redraw if visible."""
        with self._lock:
            now = time.monotonic()
            due = {i for i, at in self._later.items() if at <= now}
            for i in due:
                del self._later[i]
            ids, self._pending = self._pending | due, set()
        if ids:
            self._reload(ids)
        if self.visible and (ids or self.dirty):
            self.dirty = False
            self.table.render()
            self._enable()

    def _reload(self, ids: set[str]) -> None:
        try:
            listed = self.engine.containers.list(all=True, filters={**self.filters, "id": sorted(ids)})
        except BaseException:
            with self._lock:
                self._pending |= ids
            raise
        now = time.time()
        with self._lock:
            found = {c.id: c for c in listed if c.id in ids}  # the id filter matches prefixes
            starts = {i: self._starts.pop(i) for i in list(self._starts) if i in found}
            behind = {}
            for i in ids:
                state, at = self._expect.pop(i, (None, 0.0))
                if i in found and state and found[i].state != state and time.monotonic() - at < EVENT_TRUST:
                    behind[i] = state  # the listing lags the event: show the event's state, look again
                    self._expect[i] = (state, at)
                    self._later[i] = time.monotonic() + RECHECK
            for i in [i for i, state in behind.items() if state == "gone"]:
                del found[i], behind[i]
        rows = {i: row_of(c, self.table.rows.get(i), now, starts.get(i)) for i, c in found.items()}
        for i, state in behind.items():
            rows[i]["state"] = state
            if state not in ("running", "paused"):
                rows[i]["started"] = None
            elif not rows[i]["started"]:
                rows[i]["started"] = now
        self.table.update(rows, removed=ids - set(found))
        self.dirty = True
        self.dashboard.count_changed(self, len(self.table.rows))

    @property
    def rechecks(self) -> bool:
        return bool(self._later)

    def refresh(self) -> None:
        self.load()
        self.table.render()

    def tick(self) -> None:
        if self.stats is not None:
            self.stats.tick()
        self.table.render()  # uptimes; only changed lines are sent

    def close(self) -> None:
        self.close_detail()
        if self.stats is not None:
            self.stats.shutdown()

    # -- actions ------------------------------------------------------------------------------
    def selection(self) -> list[dict]:
        return self.table.selected_rows()

    def _enable(self) -> None:
        rows = self.selection()
        states = {r["state"] for r in rows}
        enabled = {"start": bool(states & {"created", "exited", "dead"}),
                   "stop": bool(states & {"running", "paused", "restarting"}),
                   "restart": bool(rows), "pause": "running" in states, "unpause": "paused" in states,
                   "remove": bool(rows), "logs": bool(rows), "inspect": bool(rows),
                   "stats": "running" in states}
        for name, on in enabled.items():
            self.buttons[name].disabled = not on

    def _act(self, verb: str) -> None:
        rows = self.selection()
        if not rows:
            self.dashboard.say("select containers first", error=True)
            return
        method = getattr(self.engine.containers, verb)
        names = ", ".join(r["name"] for r in rows)

        def do() -> None:
            failures = []
            for row in rows:
                try:
                    method(row["id"])
                except ContainersError as exc:
                    if exc.kind == "engine-unavailable":
                        raise
                    failures.append(f"{row['name']}: {exc}")
            if failures:
                raise ContainersError("; ".join(failures))

        past = {"stop": "stopped", "unpause": "unpaused", "pause": "paused"}.get(verb, verb + "ed")
        self.run(f"{verb} {names}", do, f"{past} {names}", action=verb)

    def _ask_remove(self) -> None:
        rows = self.selection()
        if not rows:
            return
        names = ", ".join(r["name"] for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        running = sum(r["state"] in ("running", "paused", "restarting") for r in rows)
        note = f" ({running} running: they are killed)" if running else ""
        self.confirm.ask(f"Remove {names}{note}?", lambda: self._remove(rows))

    def _remove(self, rows: list[dict]) -> None:
        def do() -> None:
            for row in rows:
                self.engine.containers.remove(row["id"], force=True, missing_ok=True)

        self.run(f"remove {len(rows)} containers", do, "removed " + ", ".join(r["name"] for r in rows),
                 action="remove")

    # -- the detail pane -----------------------------------------------------------------------------
    def _open_detail(self, title: str, children: list, stop=None) -> None:
        self.close_detail()
        self._detail_stop = stop
        self.detail_title.value = f'<span class="jcd jcd-title">{title}</span>'
        self.detail_body.children = children
        self.detail.layout.display = "flex"

    def close_detail(self) -> None:
        stop, self._detail_stop = self._detail_stop, None
        if stop is not None:
            try:
                stop()
            except Exception:  # noqa: BLE001 - closing must not fail the close button
                pass
        self.detail.layout.display = "none"
        self.detail_body.children = ()

    def show_logs(self) -> None:
        rows = self.selection()
        if not rows:
            return
        row = rows[0]
        if not self.dashboard.allowed("logs", f"logs {row['name']}"):
            return
        self.logs = LogsPane(self.dashboard, row)
        self._open_detail(f"logs of <b>{esc(row['name'])}</b>", [self.logs.widget], self.logs.stop)
        self.logs.start()

    def show_inspect(self) -> None:
        rows = self.selection()
        if not rows:
            return
        row = rows[0]

        def do() -> None:
            data = self.engine.containers.inspect(row["id"])
            out = w.Output(layout=w.Layout(max_height="420px", overflow="auto"))
            out.outputs = ({"output_type": "display_data", "metadata": {"application/json": {"expanded": False,
                                                                                            "root": row["name"]}},
                            "data": {"application/json": data, "text/plain": json.dumps(data, indent=2)}},)
            self._open_detail(f"inspect <b>{esc(row['name'])}</b>", [out])

        self.run(f"inspect {row['name']}", do, "", action="inspect")

    def show_stats(self) -> None:
        rows = [r for r in self.selection() if r["state"] == "running"]
        if not rows or self.stats is None:
            self.dashboard.say("select running containers for a stats chart", error=True)
            return

        def do() -> None:
            from ..stats import Sampler
            from ..stats.charts import LiveChart

            sampler = Sampler(self.engine, [r["id"] for r in rows], retention=600, follow_new=False)
            self.chart = LiveChart(sampler, window=300).start()
            names = ", ".join(esc(r["name"]) for r in rows)
            self._open_detail(f"stats of <b>{names}</b>", [self.chart.widget], self.chart.stop)

        self.run("stats chart", do, "")


class LogsPane:
    """A container's log, followed in a thread into an Output, with a Stop button."""

    def __init__(self, dashboard: "Dashboard", row: dict, tail: int = 200):
        self.dashboard, self.row, self.tail = dashboard, row, tail
        self.output = w.Output(layout=w.Layout(max_height="320px", overflow="auto",
                                               border="1px solid var(--jp-border-color2)"))
        self.state = w.HTML()
        self.stop_button = button("Stop following", "stop", self.stop, style="warning")
        self.widget = w.VBox([w.HBox([self.stop_button, self.state], layout=w.Layout(align_items="center")),
                              self.output])
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self._stream = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="dashboard-logs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        self.stop_button.disabled = True

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def _flush(self) -> None:
        text = self.text + "\n" if self.lines else ""
        self.output.outputs = ({"output_type": "stream", "name": "stdout", "text": text},) if text else ()

    def _follow(self) -> None:
        self.state.value = '<span class="jcd jcd-ok">following</span>'
        last = 0.0
        try:
            self._stream = self.dashboard.engine.containers.follow_logs(self.row["id"], tail=self.tail)
            if self._stopped.is_set():
                self._stream.close()
            for line in self._stream:
                self.lines.append(line.text if line.stream == "stdout" else f"[stderr] {line.text}")
                now = time.monotonic()
                if now - last > 0.1:
                    last = now
                    self._flush()
            ended = "stopped" if self._stopped.is_set() else "the container stopped"
            self.state.value = f'<span class="jcd jcd-dim">{ended}</span>'
        except ContainersError as exc:
            self.state.value = f'<span class="jcd jcd-bad">{esc(exc)}</span>'
            if exc.kind == "engine-unavailable":
                self.dashboard.set_reachable(False)
        except Exception as exc:  # noqa: BLE001 - no traceback into the notebook from a thread
            self.state.value = f'<span class="jcd jcd-bad">logs ended: {esc(exc)}</span>'
        finally:
            self._flush()
            self.stop_button.disabled = True


class _Stats:
    """CPU % and memory of the running containers on the visible page, from this kernel's
    one shared sampler of the engine (``stats.shared.shared``: cgroups when the engine is
    local), read once a second. The first tick starts it without waiting: figures show from
    its first rows on. It stops itself when no dashboard asked for a while."""

    def __init__(self, tab: ContainersTab):
        self.tab = tab
        self.shared = None

    def tick(self) -> None:
        table = self.tab.table
        wanted = {k[:12]: k for k in table.keys if k and table.rows.get(k, {}).get("state") == "running"}
        if not wanted:
            return
        if self.shared is None:
            from ..stats.shared import shared

            self.shared = shared(self.tab.engine)
        for record in self.shared.latest(wait=False).itertuples(index=False):
            key = wanted.get(record.id)
            if key is not None:
                table.rows[key].update(cpu=float(record.cpu_percent), mem=float(record.mem_usage),
                                       mem_limit=float(record.mem_limit))

    def close(self) -> None:
        """No stats wanted (the table is hidden): the shared sampler stops once nobody asks."""

    def shutdown(self) -> None:
        self.shared = None
