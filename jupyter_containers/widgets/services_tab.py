"""The Services tab: a swarm's services with replicas running/desired, update state, tasks by
node and state, and the CPU and memory of their tasks' containers on the node the notebook
talks to (from the kernel's one shared stats sampler). Scale, roll back and remove."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w

from ..engine.errors import ContainersError
from ..engine.swarm import NAMESPACE_LABEL, NotSwarmManager
from .parts import Confirm, Tab, button
from .resources_tab import grouped_states
from .table import Column, Table, esc, human_bytes

if TYPE_CHECKING:
    from .dashboard import Dashboard

SERVICE_ID = "com.docker.swarm.service.id"  # the label the engine puts on a task's container
TASK_CLASS = {"running": "jcd-ok", "failed": "jcd-bad", "rejected": "jcd-bad", "shutdown": "jcd-dim",
              "complete": "jcd-dim", "pending": "jcd-warn", "preparing": "jcd-warn", "starting": "jcd-warn"}


def _tasks(row: dict) -> str:
    return grouped_states(row["tasks"], TASK_CLASS)


def _replicas(row: dict) -> str:
    ok = row["running"] == row["desired"]
    return f'<span class="{"jcd-ok" if ok else "jcd-warn"}">{row["running"]}/{row["desired"]}</span>'


def _usage(row: dict) -> str:
    if row.get("cpu") is None:
        return ""
    return f'{row["cpu"]:.1f}% &middot; {esc(human_bytes(row["mem"]))}'


SERVICE_COLUMNS = [
    Column("name", "service", "minmax(9em, 1.5fr)", lambda r: f'<b>{esc(r["name"])}</b>' + (
        f' <span class="jcd-dim" title="stack">[{esc(r["stack"])}]</span>' if r.get("stack") else "")),
    Column("mode", "mode", "6.5em"),
    Column("replicas", "replicas", "5.5em", _replicas, sort=lambda r: r["running"] - r["desired"]),
    Column("image", "image", "minmax(8em, 1.5fr)"),
    Column("update", "update", "7em", lambda r: esc(r.get("update") or "")),
    Column("tasks", "tasks by node", "minmax(12em, 2.5fr)", _tasks, sortable=False),
    Column("cpu", "CPU · memory here", "9.5em", _usage, sort=lambda r: r.get("cpu") or 0),
]


class ServicesTab(Tab):
    title = "Services"

    def __init__(self, dashboard: "Dashboard"):
        super().__init__(dashboard)
        self.table = Table(SERVICE_COLUMNS, page_size=dashboard.containers.table.page_size,
                           empty="no services")
        self.confirm = Confirm("Remove")
        self.replicas = w.BoundedIntText(value=1, min=0, max=10_000, layout=w.Layout(width="6em"),
                                         tooltip="replicas")
        self.buttons = {
            "scale": button("Scale", "arrows-v", self._scale, tooltip="set the replicas of the selected services"),
            "rollback": button("Roll back", "undo", self._rollback, tooltip="back to each one's previous spec"),
            "remove": button("Remove", "trash", self._ask_remove, style="danger", tooltip="asks first")}
        self.widget = w.VBox([w.HBox([self.buttons["scale"], self.replicas, self.buttons["rollback"],
                                      self.buttons["remove"]]), self.confirm.widget, self.table.widget])
        self.manager = None  # unknown until the first refresh

    def on_event(self, event) -> None:
        if event.type in ("service", "node") or event.type == "container" and SERVICE_ID in event.attributes:
            self.dirty = True

    def refresh(self) -> None:
        try:
            services = self.engine.services.list(status=True)
        except NotSwarmManager as exc:
            self.manager = False
            self.table._empty = str(exc)
            self.table.set_rows({})
            self.table.render()
            self.dashboard.count_changed(self, 0)
            return
        self.manager = True
        nodes = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"][:12]) for n in self.engine.nodes.list()}
        tasks: dict[str, dict[str, dict[str, int]]] = {}
        for task in self.engine.services.tasks():
            if task.get("DesiredState") not in ("running", "ready") and task["Status"].get("State") != "running":
                continue  # history: tasks shut down by an update or a scale
            by_node = tasks.setdefault(task["ServiceID"], {})
            states = by_node.setdefault(nodes.get(task.get("NodeID"), "unassigned"), {})
            state = task["Status"].get("State", "?")
            states[state] = states.get(state, 0) + 1
        rows = {}
        for service in services:
            spec, status = service["Spec"], service.get("ServiceStatus") or {}
            mode = "global" if "Global" in (spec.get("Mode") or {}) else "replicated"
            rows[service["ID"]] = {
                "id": service["ID"], "name": spec["Name"], "mode": mode, "stack": (spec.get("Labels") or {}).get(NAMESPACE_LABEL),
                "running": status.get("RunningTasks", 0), "desired": status.get("DesiredTasks", 0),
                "image": spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
                "update": (service.get("UpdateStatus") or {}).get("State"),
                "tasks": tasks.get(service["ID"], {}), "cpu": None, "mem": 0}
        self._usage(rows)
        self.table.set_rows(rows)
        self.table.render()
        self.dashboard.count_changed(self, len(rows))

    def tick(self) -> None:
        rows = list(self.table.rows.values())
        if any(r["running"] != r["desired"] or r.get("update") in ("updating", "rollback_started") for r in rows):
            self.dirty = True  # converging: a task's state reaches the swarm after its container's event
        if self.manager and self.dashboard.stats_enabled and self.table.rows:
            self._usage(self.table.rows)
            self.table.render()

    def _usage(self, rows: dict) -> None:
        """Sum the CPU % and memory of each service's task containers on this node."""
        if not self.dashboard.stats_enabled or not rows:
            return
        from ..stats.shared import shared

        owner = {c.id[:12]: c.labels.get(SERVICE_ID) for c in
                 self.engine.containers.list(filters={"label": [SERVICE_ID]})}
        sums: dict[str, list[float]] = {}
        for record in shared(self.engine).latest(wait=False).itertuples(index=False):
            service = owner.get(record.id)
            if service in rows:
                total = sums.setdefault(service, [0.0, 0.0])
                total[0] += float(record.cpu_percent)
                total[1] += float(record.mem_usage)
        for id, row in rows.items():
            if id in sums:
                row["cpu"], row["mem"] = sums[id]

    # -- actions ----------------------------------------------------------------------------------
    def _selected(self) -> list[dict]:
        rows = self.table.selected_rows()
        if not rows:
            self.dashboard.say("select services first", error=True)
        return rows

    def _scale(self) -> None:
        rows, count = self._selected(), self.replicas.value
        if rows:
            names = ", ".join(r["name"] for r in rows)
            self.run(f"scale {names} to {count}", lambda: [self.engine.services.scale(r["id"], count) for r in rows],
                     f"scaled {names} to {count}", action="run")

    def _rollback(self) -> None:
        rows = self._selected()
        if rows:
            names = ", ".join(r["name"] for r in rows)
            self.run(f"roll back {names}", lambda: [self.engine.services.rollback(r["id"]) for r in rows],
                     f"rolled back {names}", action="run")

    def _ask_remove(self) -> None:
        rows = self._selected()
        if rows:
            names = ", ".join(r["name"] for r in rows)
            self.confirm.ask(f"Remove {names} (and all their tasks)?",
                             lambda: self.run(f"remove {names}", lambda: self._remove(rows),
                                              f"removed {names}", action="remove"))

    def _remove(self, rows: list[dict]) -> None:
        for row in rows:
            try:
                self.engine.services.remove(row["id"])
            except ContainersError as exc:
                if exc.status != 404:
                    raise
