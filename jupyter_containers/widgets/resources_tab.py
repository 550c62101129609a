"""The Images, Stacks and Volumes & Networks tabs."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as w

from .parts import Confirm, Tab, button
from .table import Column, Table, esc, human_bytes

if TYPE_CHECKING:
    from .dashboard import Dashboard

PROJECT, SERVICE = "com.docker.compose.project", "com.docker.compose.service"
STATE_CLASS = {"running": "jcd-ok", "exited": "jcd-bad", "dead": "jcd-bad", "paused": "jcd-warn"}


def _date(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _ts(row: dict, key: str = "created") -> float:
    return row[key].timestamp() if row.get(key) else 0.0


# -- images ------------------------------------------------------------------------------------
IMAGE_COLUMNS = [
    Column("repository", "repository", "minmax(10em, 2fr)", lambda r: f'<b>{esc(r["repository"])}</b>'),
    Column("tag", "tag", "minmax(5em, 1fr)"),
    Column("short_id", "id", "8.5em", lambda r: f'<code>{esc(r["short_id"])}</code>'),
    Column("size", "size", "6em", lambda r: esc(human_bytes(r["size"]))),
    Column("created", "created", "9em", lambda r: esc(_date(r["created"])), sort=lambda r: -_ts(r)),
]


class PullProgress:
    """Per-layer progress bars of a pull, plus a total; redrawn at most ten times a second."""

    def __init__(self):
        self.total = w.FloatProgress(min=0, max=1, bar_style="info", layout=w.Layout(width="40%"))
        self.summary = w.HTML()
        self.rows = w.VBox()
        self.widget = w.VBox([w.HBox([w.Label("total", layout=w.Layout(width="8em")), self.total, self.summary]),
                              self.rows])
        self.layers: dict[str, list] = {}
        self._bars: dict[str, tuple] = {}
        self._shown = 0.0

    def __call__(self, event) -> None:
        if not event.id or event.status.startswith(("Pulling from", "Digest:", "Status:")):
            return
        layer = self.layers.setdefault(event.id, [event.status, 0, 0])
        layer[0] = event.status
        if event.total:
            layer[1], layer[2] = event.current or 0, event.total
        elif event.status in ("Pull complete", "Already exists", "Download complete"):
            layer[1] = layer[2] = layer[2] or 1
        if time.monotonic() - self._shown > 0.1:
            self._shown = time.monotonic()
            self.show()

    def show(self) -> None:
        for layer_id, (status, current, total) in self.layers.items():
            if layer_id not in self._bars:
                bar, label = w.FloatProgress(min=0, max=1, layout=w.Layout(width="40%")), w.HTML()
                self._bars[layer_id] = (bar, label)
                self.rows.children = (*self.rows.children,
                                      w.HBox([w.Label(layer_id[:12], layout=w.Layout(width="8em")), bar, label]))
            bar, label = self._bars[layer_id]
            bar.value = current / total if total else 0
            bar.bar_style = "success" if total and current >= total else ""
            label.value = f'<span class="jcd jcd-dim">{esc(status)}</span>'
        done = sum(1 for _, c, t in self.layers.values() if t and c >= t)
        current = sum(c for _, c, _ in self.layers.values())
        total = sum(t for _, _, t in self.layers.values())
        self.total.value = current / total if total else 0
        self.summary.value = (f'<span class="jcd">{done}/{len(self.layers)} layers, '
                              f'{human_bytes(current)} of {human_bytes(total)}</span>')

    def finish(self, ok: bool) -> None:
        self.show()
        self.total.value = 1 if ok else self.total.value
        self.total.bar_style = "success" if ok else "danger"


class ImagesTab(Tab):
    title = "Images"

    def __init__(self, dashboard: "Dashboard"):
        super().__init__(dashboard)
        self.table = Table(IMAGE_COLUMNS, page_size=dashboard.containers.table.page_size, empty="no images")
        self.confirm = Confirm("Remove")
        self.reference = w.Text(placeholder="127.0.0.1:5000/team/app:1.0", layout=w.Layout(width="24em"))
        self.pull_button = button("Pull", "download", self.pull, style="primary")
        self.progress_box = w.VBox()
        self.history = w.HTML()
        self.widget = w.VBox([
            w.HBox([self.reference, self.pull_button], layout=w.Layout(align_items="center")),
            self.progress_box,
            w.HBox([button("Remove", "trash", self._ask_remove, style="danger"),
                    button("History", "history", self.show_history)]),
            self.confirm.widget, self.table.widget, self.history])

    def on_event(self, event) -> None:
        if event.type == "image":
            self.dirty = True

    def refresh(self) -> None:
        rows = {}
        for image in self.engine.images.list():
            refs = list(image.tags) or [f"{d.split('@')[0]}:<none>" for d in image.digests] or ["<none>:<none>"]
            for ref in refs:
                repository, _, tag = ref.rpartition(":")
                rows[f"{image.id}|{ref}"] = {"id": image.id, "ref": ref, "repository": repository, "tag": tag,
                                             "short_id": image.short_id, "size": image.size,
                                             "created": image.created}
        self.table.set_rows(rows)
        self.table.render()
        self.dashboard.count_changed(self, len(rows))

    def pull(self) -> None:
        ref = self.reference.value.strip()
        if not ref:
            self.dashboard.say("pull: give an image reference", error=True)
            return
        progress = PullProgress()
        self.progress_box.children = (progress.widget,)

        def do() -> None:
            try:
                self.engine.images.pull(ref, on_progress=progress)
            except BaseException:
                progress.finish(False)
                raise
            progress.finish(True)

        self.run(f"pull {ref}", do, f"pulled {ref}", action="pull")

    def _ask_remove(self) -> None:
        rows = self.table.selected_rows()
        if rows:
            self.confirm.ask("Remove " + ", ".join(r["ref"] for r in rows) + "?", lambda: self._remove(rows))

    def _remove(self, rows: list[dict]) -> None:
        def do() -> None:
            for row in rows:
                self.engine.images.remove(row["id"] if row["ref"].endswith("<none>") else row["ref"])

        self.run("remove images", do, "removed " + ", ".join(r["ref"] for r in rows), action="remove-image")

    def show_history(self) -> None:
        rows = self.table.selected_rows()
        if not rows:
            return
        row = rows[0]

        def do() -> None:
            layers = self.engine.images.history(row["id"])
            lines = "".join(f"<tr><td>{esc(_date(h['created']))}</td><td>{esc(human_bytes(h['size']))}</td>"
                            f"<td><code>{esc(h['created_by'][:160])}</code></td></tr>" for h in layers)
            self.history.value = (f'<div class="jcd"><div class="jcd-title">history of {esc(row["ref"])}</div>'
                                  f'<table class="jcd-kv"><tbody>{lines}</tbody></table></div>')

        self.run(f"history {row['ref']}", do, "")


# -- stacks ------------------------------------------------------------------------------------------
def grouped_states(groups: dict[str, dict[str, int]], classes: dict[str, str]) -> str:
    """``{"web": {"running": 2}}`` as "<b>web</b> running ×2 · ...", each state coloured by ``classes``."""
    parts = []
    for group, states in sorted(groups.items()):
        shown = ", ".join(f'<span class="{classes.get(s, "jcd-info")}">{esc(s)}{f" ×{n}" if n > 1 else ""}</span>'
                          for s, n in sorted(states.items()))
        parts.append(f"<b>{esc(group)}</b> {shown}")
    return " &middot; ".join(parts)


def _services(row: dict) -> str:
    return grouped_states(row["services"], STATE_CLASS)


STACK_COLUMNS = [
    Column("name", "project", "minmax(8em, 1fr)", lambda r: f'<b>{esc(r["name"])}</b>'),
    Column("services", "services", "minmax(14em, 3fr)", _services, sortable=False),
    Column("running", "running", "6em", lambda r: f'{r["running"]}/{r["total"]}'),
    Column("working_dir", "working dir", "minmax(8em, 1.5fr)"),
]


class StacksTab(Tab):
    title = "Stacks"

    def __init__(self, dashboard: "Dashboard"):
        super().__init__(dashboard)
        self.table = Table(STACK_COLUMNS, page_size=dashboard.containers.table.page_size,
                           empty="no compose projects on this engine")
        self.confirm = Confirm("Down")
        self.buttons = {
            "up": button("Up", "play", lambda: self._each("start"),
                         tooltip="start the stack's containers (%%compose up creates them from a file)"),
            "stop": button("Stop", "stop", lambda: self._each("stop")),
            "restart": button("Restart", "redo", lambda: self._each("restart")),
            "down": button("Down", "trash", self._ask_down, style="danger",
                           tooltip="stop and remove the stack's containers and networks (asks first)")}
        self.widget = w.VBox([w.HBox(list(self.buttons.values())), self.confirm.widget, self.table.widget])

    def on_event(self, event) -> None:
        if event.type == "container" and PROJECT in event.attributes or event.type == "network":
            self.dirty = True

    def refresh(self) -> None:
        stacks: dict[str, dict] = {}
        for c in self.engine.containers.list(all=True, filters={"label": [PROJECT]}):
            name = c.labels[PROJECT]
            stack = stacks.setdefault(name, {"name": name, "services": {}, "running": 0, "total": 0,
                                             "working_dir": c.labels.get(PROJECT + ".working_dir", "")})
            states = stack["services"].setdefault(c.labels.get(SERVICE, "?"), {})
            states[c.state] = states.get(c.state, 0) + 1
            stack["total"] += 1
            stack["running"] += c.state == "running"
        self.table.set_rows(stacks)
        self.table.render()
        self.dashboard.count_changed(self, len(stacks))

    def _stack(self, name: str):
        from ..compose import Stack

        return Stack(self.engine, name=name)

    def _each(self, verb: str) -> None:
        names = [r["name"] for r in self.table.selected_rows()]
        if not names:
            self.dashboard.say("select stacks first", error=True)
            return

        def do() -> None:
            for name in names:
                getattr(self._stack(name), verb)()

        past = {"start": "up", "stop": "stopped", "restart": "restarted"}[verb]
        self.run(f"{verb} {', '.join(names)}", do, f"{past}: {', '.join(names)}", action="compose")

    def _ask_down(self) -> None:
        names = [r["name"] for r in self.table.selected_rows()]
        if names:
            self.confirm.ask(f"Take down {', '.join(names)} (containers and networks are removed)?",
                             lambda: self.run(f"down {', '.join(names)}",
                                              lambda: [self._stack(n).down() for n in names],
                                              f"down: {', '.join(names)}", action="compose"))


# -- volumes & networks ------------------------------------------------------------------------------
VOLUME_COLUMNS = [
    Column("name", "volume", "minmax(10em, 2fr)", lambda r: f'<b>{esc(r["name"])}</b>'),
    Column("driver", "driver", "6em"),
    Column("mountpoint", "mountpoint", "minmax(10em, 3fr)", lambda r: f'<code>{esc(r["mountpoint"])}</code>'),
    Column("created", "created", "9em", lambda r: esc(_date(r["created"])), sort=lambda r: -_ts(r)),
]
NETWORK_COLUMNS = [
    Column("name", "network", "minmax(10em, 2fr)", lambda r: f'<b>{esc(r["name"])}</b>'),
    Column("driver", "driver", "6em"),
    Column("scope", "scope", "5em"),
    Column("internal", "internal", "5em", lambda r: "yes" if r["internal"] else ""),
    Column("created", "created", "9em", lambda r: esc(_date(r["created"])), sort=lambda r: -_ts(r)),
]
BUILTIN_NETWORKS = {"bridge", "host", "none"}


class StorageTab(Tab):
    title = "Volumes & Networks"

    def __init__(self, dashboard: "Dashboard"):
        super().__init__(dashboard)
        size = dashboard.containers.table.page_size
        self.volumes = Table(VOLUME_COLUMNS, page_size=size, empty="no volumes")
        self.networks = Table(NETWORK_COLUMNS, page_size=size, empty="no networks")
        self.confirm = Confirm("Remove")
        self.widget = w.VBox([
            w.HTML('<div class="jcd jcd-title">Volumes</div>'),
            button("Remove volumes", "trash", self._ask_volumes, style="danger"),
            self.volumes.widget,
            w.HTML('<div class="jcd jcd-title" style="margin-top:12px">Networks</div>'),
            button("Remove networks", "trash", self._ask_networks, style="danger"),
            self.confirm.widget, self.networks.widget])
        self._lock = threading.Lock()

    def on_event(self, event) -> None:
        if event.type in ("volume", "network"):
            self.dirty = True

    def refresh(self) -> None:
        with self._lock:
            volumes = {v.name: {"name": v.name, "driver": v.driver, "mountpoint": v.mountpoint, "created": v.created}
                       for v in self.engine.volumes.list()}
            networks = {n.id: {"id": n.id, "name": n.name, "driver": n.driver, "scope": n.scope,
                               "internal": n.internal, "created": n.created} for n in self.engine.networks.list()}
            self.volumes.set_rows(volumes)
            self.networks.set_rows(networks)
            self.volumes.render()
            self.networks.render()
        self.dashboard.count_changed(self, len(volumes) + len(networks))

    def _ask_volumes(self) -> None:
        names = [r["name"] for r in self.volumes.selected_rows()]
        if names:
            self.confirm.ask(f"Remove volume{'s' * (len(names) > 1)} {', '.join(names)}?",
                             lambda: self.run("remove volumes",
                                              lambda: [self.engine.volumes.remove(n) for n in names],
                                              f"removed {', '.join(names)}", action="remove"))

    def _ask_networks(self) -> None:
        rows = self.networks.selected_rows()
        builtin = [r["name"] for r in rows if r["name"] in BUILTIN_NETWORKS]
        if builtin:
            self.dashboard.say(f"{', '.join(builtin)}: the engine's own networks cannot be removed", error=True)
            return
        if rows:
            names = ", ".join(r["name"] for r in rows)
            self.confirm.ask(f"Remove network{'s' * (len(rows) > 1)} {names}?",
                             lambda: self.run("remove networks",
                                              lambda: [self.engine.networks.remove(r["id"]) for r in rows],
                                              f"removed {names}", action="remove"))

