"""The Engine tab: version and info, disk usage as a plotly bar chart, a live events feed."""

from __future__ import annotations

import collections
import json
import time
from typing import TYPE_CHECKING

import ipywidgets as w

from .parts import Tab, button, kv_table
from .table import esc, human_bytes

if TYPE_CHECKING:
    from .dashboard import Dashboard

FEED_SIZE = 200
ACTION_CLASS = {"start": "jcd-ok", "unpause": "jcd-ok", "create": "jcd-info", "die": "jcd-bad", "kill": "jcd-bad",
                "destroy": "jcd-bad", "oom": "jcd-bad", "stop": "jcd-warn", "pause": "jcd-warn", "delete": "jcd-bad",
                "pull": "jcd-info", "push": "jcd-info"}
DF_INTERVAL = 10.0  # disk usage makes the engine walk every layer: not more often than this


def disk_usage_figure(frame):
    """A grouped bar chart of ``System.df_frame()``: size and reclaimable per type, in MB."""
    import plotly.graph_objects as go

    def short(n) -> str:  # bar labels: "152 MB", "4 kB", "0"
        if not n:
            return "0"
        value, unit = human_bytes(n).split(" ")
        return f"{float(value):.0f} {unit}"

    fig = go.Figure([go.Bar(name=name, y=frame["type"], x=frame[column] / 1e6, orientation="h", cliponaxis=False,
                            text=[short(v) for v in frame[column]], textposition="outside")
                     for name, column in (("size", "size"), ("reclaimable", "reclaimable"))])
    grey, grid = "#8a8a8a", "rgba(138,138,138,0.25)"  # readable on JupyterLab's light and dark themes
    fig.update_layout(barmode="group", height=300, margin=dict(l=90, r=50, t=40, b=40),
                      title="disk usage", xaxis_title="MB", yaxis_autorange="reversed", paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", font=dict(color=grey), uniformtext=dict(minsize=10, mode="show"),
                      legend=dict(orientation="h", y=1.12, x=1, xanchor="right"))
    fig.update_xaxes(gridcolor=grid, linecolor=grid)
    fig.update_yaxes(gridcolor=grid, zerolinecolor=grid)
    return fig


def figure_output(fig) -> dict:
    """The notebook output that JupyterLab's plotly renderer draws (no extra widget library)."""
    spec = json.loads(fig.to_json())
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.plotly.v1+json": {**spec, "config": {"displaylogo": False}},
                     "text/plain": "<disk usage chart>"}}


class EngineTab(Tab):
    title = "Engine"

    def __init__(self, dashboard: "Dashboard"):
        super().__init__(dashboard)
        self.info = w.HTML()
        self.chart = w.Output(layout=w.Layout(min_height="300px", flex="1 1 auto"))
        self.feed = w.HTML()
        self.events: collections.deque = collections.deque(maxlen=FEED_SIZE)
        self.usage = None  # the last disk usage frame
        self._df_at = 0.0
        self._feed_dirty = True
        self.widget = w.VBox([
            w.HBox([w.VBox([self.info, button("Refresh", "refresh", self.refresh_now,
                                              tooltip="reload info and disk usage")],
                          layout=w.Layout(align_items="flex-start")), self.chart]),
            w.HTML('<div class="jcd jcd-title">events</div>'), self.feed])

    def on_event(self, event) -> None:
        self.events.appendleft(event)
        self._feed_dirty = True

    def refresh(self) -> None:
        version, info = self.engine.system.version(), self.engine.system.info()
        self.info.value = kv_table([
            ("engine", f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"),
            ("os / arch", f"{info.get('OperatingSystem', '?')} / {version.get('Arch', '?')}"),
            ("kernel", version.get("KernelVersion", "?")),
            ("storage driver", info.get("Driver", "?")),
            ("cgroup", f"{info.get('CgroupDriver', '?')} v{info.get('CgroupVersion', '?')}"),
            ("containers", (f"{info.get('Containers', 0)}: {info.get('ContainersRunning', 0)} running, "
                            f"{info.get('ContainersPaused', 0)} paused, {info.get('ContainersStopped', 0)} stopped")),
            ("images", info.get("Images", 0)),
            ("CPUs / memory", f"{info.get('NCPU', '?')} / {human_bytes(info.get('MemTotal'))}"),
            ("data root", info.get("DockerRootDir", "?")),
        ])
        if time.monotonic() - self._df_at >= DF_INTERVAL:
            self._df_at = time.monotonic()
            self.usage = self.engine.system.df_frame()
            self.chart.outputs = (figure_output(disk_usage_figure(self.usage)),)
        self._draw_feed()

    def refresh_now(self) -> None:
        self._df_at = 0.0
        self.dirty = True
        self.dashboard._wake.set()

    def apply(self) -> None:
        super().apply()
        if self._feed_dirty:
            self._draw_feed()

    def tick(self) -> None:
        if self._feed_dirty:
            self._draw_feed()

    def _draw_feed(self) -> None:
        self._feed_dirty = False
        lines = []
        for e in list(self.events):
            when = e.time.astimezone().strftime("%H:%M:%S") if e.time else ""
            what = e.name or (e.id[:12] if len(e.id) == 64 else e.id)
            cls = ACTION_CLASS.get(e.action.split(":")[0], "jcd-dim")
            lines.append(f'<div><span class="jcd-dim">{when}</span> {esc(e.type)} '
                         f'<span class="{cls}">{esc(e.action)}</span> <b>{esc(what)}</b></div>')
        body = "".join(lines) or '<div class="jcd-dim">no events yet: they appear here as they happen</div>'
        self.feed.value = f'<div class="jcd jcd-feed">{body}</div>'
