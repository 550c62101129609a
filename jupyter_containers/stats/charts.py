"""A live plotly chart over a ``Sampler``: CPU %, memory, network and block IO
rates, one trace per container, redrawn from a background thread while the
kernel stays free. However fast the sampler reads (up to 10 Hz), the chart is
redrawn at most twice a second, each time with all rows since the last one,
and each trace is thinned to at most ``POINTS`` points (means of equal spans)
so the browser keeps up. A Stop button or ``.stop()`` ends it; ``.frame()``
returns the whole history.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ..engine.errors import InvalidArgument
from .sampler import Sampler

if TYPE_CHECKING:
    import pandas

FASTEST_REDRAW = 0.5  # seconds between redraws at least
POINTS = 600  # points per trace at most: about one per pixel of a panel

PANELS = (  # (title, column, scale, row, col)
    ("CPU %", "cpu_percent", 1.0, 1, 1),
    ("memory (MiB)", "mem_usage", 1 / 2**20, 1, 2),
    ("network rx / tx (kB/s)", ("net_rx_rate", "net_tx_rate"), 1e-3, 2, 1),
    ("block read / write (kB/s)", ("block_read_rate", "block_write_rate"), 1e-3, 2, 2),
)


class LiveChart:
    """``LiveChart(sampler).start()``; shows itself as a plotly FigureWidget with a Stop button.

    ``window`` seconds are drawn; the sampler keeps its own (longer) history.
    ``interval``: seconds between redraws (default: the sampler's, 0.5 at least).
    ``own_sampler``: stopping the chart stops the sampler too.
    """

    def __init__(self, sampler: Sampler, *, interval: float | None = None, window: float = 300.0,
                 own_sampler: bool = True, title: str | None = None):
        if not window > 0:
            raise InvalidArgument(f"the chart's window must be a positive number of seconds, not {window}")
        import ipywidgets as widgets
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        self.sampler = sampler
        self.interval = max(FASTEST_REDRAW, float(interval or sampler.interval))
        self.window = float(window)
        self.own_sampler = own_sampler
        base = make_subplots(rows=2, cols=2, subplot_titles=[p[0] for p in PANELS],
                             horizontal_spacing=0.08, vertical_spacing=0.14)
        base.update_layout(height=520, margin=dict(l=40, r=20, t=60, b=30), title=title,
                           legend=dict(orientation="h", y=-0.08), uirevision="keep")
        self.figure = go.FigureWidget(base)
        self.button = widgets.Button(description="Stop", icon="stop", button_style="warning")
        self.button.on_click(lambda _: self.stop())
        self.status = widgets.HTML("starting")
        self.widget = widgets.VBox([widgets.HBox([self.button, self.status]), self.figure])
        self._traces: dict[str, list[int]] = {}  # container id -> trace indexes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.redraws = 0

    # -- life ------------------------------------------------------------------
    def start(self) -> "LiveChart":
        if not self.sampler.running:
            self.sampler.start()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="stats-chart", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the updates (and the sampler, if the chart owns it); from any thread."""
        self._stop.set()
        if self.own_sampler:
            self.sampler.stop(timeout)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.button.disabled = True
        self.button.description = "Stopped"
        self.status.value = f"stopped; {len(self.sampler.frame())} rows kept: <code>.frame()</code>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def frame(self) -> "pandas.DataFrame":
        """The sampler's history so far (all of it, not only the window drawn)."""
        return self.sampler.frame()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - a drawing failure must not kill the kernel's thread silently
                self.status.value = f"chart error: {exc}"
            if self.sampler.error is not None:  # e.g. the engine went away
                self._stop.set()
                if self.own_sampler:
                    self.sampler.stop()
                self.button.disabled = True
                self.status.value = f"stopped: {self.sampler.error}"
                break
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    # -- drawing ---------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the last ``window`` seconds (the background thread calls this)."""
        series = self.sampler.history.series(since=time.time() - self.window)
        with self.figure.batch_update():
            for id, name, _, columns in series:
                traces = self._traces.get(id) or self._add_traces(id, name)
                columns = thin(columns, POINTS)
                when = _local_times(columns["time"])
                index = 0
                for _, column, scale, _, _ in PANELS:
                    for key in (column,) if isinstance(column, str) else column:
                        trace = self.figure.data[traces[index]]
                        trace.x, trace.y = when, columns[key] * scale
                        index += 1
        self.redraws += 1
        live = len(self.sampler.followed)
        self.status.value = f"following {live} container{'s' * (live != 1)}; updated {time.strftime('%H:%M:%S')}"

    def _add_traces(self, id: str, name: str) -> list[int]:
        import plotly.graph_objects as go

        colour = _COLOURS[len(self._traces) % len(_COLOURS)]
        indexes = []
        for title, column, _, row, col in PANELS:
            for key in (column,) if isinstance(column, str) else column:
                dashed = key.endswith(("tx_rate", "write_rate"))
                label = name if isinstance(column, str) else f"{name} {key.split('_')[1]}"
                self.figure.add_trace(go.Scatter(
                    x=[], y=[], mode="lines", name=label, legendgroup=id, showlegend=key == "cpu_percent",
                    line=dict(color=colour, dash="dot" if dashed else "solid")), row=row, col=col)
                indexes.append(len(self.figure.data) - 1)
        self._traces[id] = indexes
        return indexes

    # -- display ---------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveChart {state}: {len(self._traces)} containers, {self.redraws} redraws>"


def thin(columns: dict, points: int) -> dict:
    """At most ``points`` rows: the means of equal runs of consecutive rows (a rate's NaN
    stays out of its mean); the columns as they are when they are short enough."""
    import numpy as np

    count = len(columns["time"])
    if count <= points:
        return columns
    size = -(-count // points)  # rows per point, rounded up
    start = count % size  # the oldest rows that do not fill a run are left out: the newest always show
    out = {}
    for key, values in columns.items():
        runs = np.asarray(values[start:], dtype=float).reshape(-1, size)
        with np.errstate(invalid="ignore"):
            out[key] = runs.mean(axis=1) if key == "time" else _nanmean(runs)
    return out


def _nanmean(runs):
    import numpy as np

    counts = (~np.isnan(runs)).sum(axis=1)
    sums = np.nansum(runs, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _local_times(seconds):
    """Unix seconds as the kernel's local wall-clock times (what the reader's clock says)."""
    import numpy as np

    offset = time.localtime().tm_gmtoff
    return np.asarray((seconds + offset) * 1e3, dtype="int64").astype("datetime64[ms]")


_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
