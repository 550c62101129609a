"""A bounded history of stats rows (a ring buffer per container) and its
tidy DataFrame: one row per container and sample, sizes in bytes, plus
per-second rates for network and block IO. CSV and Parquet export.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

from ..engine.errors import InvalidArgument
from .formulas import FIGURES

if TYPE_CHECKING:
    import pandas

COLUMNS = ("time", *FIGURES)  # what a ring stores, as float64
COUNTERS = ("net_rx", "net_tx", "block_read", "block_write")  # cumulative: they get a rate
RATES = tuple(f"{name}_rate" for name in COUNTERS)
INTEGERS = ("mem_usage", "mem_limit", "net_rx", "net_tx", "block_read", "block_write", "pids")
FRAME_COLUMNS = ("time", "id", "name", *FIGURES, *RATES, "source")
SNAPSHOT_COLUMNS = ("id", "name", *FIGURES, "source")
SOURCES = ("cgroup", "api")  # where a row's figures were read: the kernel's files or the engine's stats API
_INDEX = {name: i for i, name in enumerate(COLUMNS)}
Series = tuple[str, str, str, dict[str, np.ndarray]]  # id, name, source, columns


class Ring:
    """The last ``capacity`` rows of one container, oldest first; grows as it fills.
    ``source``: where its latest rows came from (``cgroup`` or ``api``)."""

    __slots__ = ("id", "name", "source", "capacity", "_data", "_start", "_count")

    def __init__(self, id: str, name: str, capacity: int, source: str = "api"):
        self.id, self.name, self.source, self.capacity = id, name, source, capacity
        self._data = np.empty((min(capacity, 64), len(COLUMNS)))
        self._start = self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def append(self, row: Iterable[float]) -> None:
        if self._count < self.capacity:
            if self._count == len(self._data):
                grown = np.empty((min(2 * len(self._data), self.capacity), len(COLUMNS)))
                grown[: self._count] = self._data
                self._data = grown
            self._data[self._count] = row
            self._count += 1
        else:  # full: overwrite the oldest
            self._data[self._start] = row
            self._start = (self._start + 1) % self.capacity

    def rows(self) -> np.ndarray:
        """A copy, oldest row first."""
        data = self._data[: self._count]
        return np.concatenate((data[self._start:], data[: self._start])) if self._start else data.copy()


def with_rates(rows: np.ndarray) -> dict[str, np.ndarray]:
    """A ring's columns by name, plus bytes/s for the counters (NaN on the
    first row and where a counter went back, e.g. after a restart)."""
    columns = {name: rows[:, i] for i, name in enumerate(COLUMNS)}
    seconds = np.diff(columns["time"])
    for counter, rate in zip(COUNTERS, RATES):
        change = np.diff(columns[counter])
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where((seconds > 0) & (change >= 0), change / seconds, np.nan)
        columns[rate] = np.concatenate(([np.nan], values)) if len(rows) else np.empty(0)
    return columns


class History:
    """Rows of many containers, each container's bounded to ``capacity`` rows.

    Safe to append from many threads while another reads.
    """

    def __init__(self, capacity: int = 3600):
        if capacity < 1:
            raise InvalidArgument(f"history must keep at least one row, not {capacity}")
        self.capacity = capacity
        self._rings: dict[str, Ring] = {}
        self._lock = threading.Lock()

    def append(self, id: str, name: str, time: float, figures: Iterable[float], source: str = "api") -> None:
        with self._lock:
            ring = self._rings.get(id)
            if ring is None:
                ring = self._rings[id] = Ring(id, name, self.capacity, source)
            ring.name, ring.source = name, source  # a rename shows from now on
            ring.append((time, *figures))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {id: len(ring) for id, ring in self._rings.items()}

    @property
    def nbytes(self) -> int:
        """Bytes held by the rows (the ring buffers)."""
        with self._lock:
            return sum(ring.nbytes for ring in self._rings.values())

    def series(self, since: float | None = None) -> list[Series]:
        """(id, name, source, columns with rates) per container, rows at or after ``since`` (unix seconds)."""
        with self._lock:
            copies = [(ring.id, ring.name, ring.source, ring.rows()) for ring in self._rings.values()]
        out = []
        for id, name, source, rows in copies:
            columns = with_rates(rows)
            if since is not None:
                keep = columns["time"] >= since
                columns = {key: value[keep] for key, value in columns.items()}
            out.append((id, name, source, columns))
        return out

    def frame(self, since: float | None = None) -> "pandas.DataFrame":
        """The tidy DataFrame: time, id, name, the figures and the rates."""
        return tidy(self.series(since))

    def latest(self) -> "pandas.DataFrame":
        """The last row of each container."""
        series = [(id, name, source, {k: v[-1:] for k, v in columns.items()})
                  for id, name, source, columns in self.series() if len(columns["time"])]
        return tidy(series)


def tidy(series: list[Series]) -> "pandas.DataFrame":
    import pandas as pd

    counts = [len(columns["time"]) for *_, columns in series]
    def joined(name):
        return np.concatenate([columns[name] for *_, columns in series]) if series else np.empty(0)

    def repeated(index):
        return np.repeat([item[index] for item in series], counts).astype(object) if series \
            else np.empty(0, dtype=object)

    data = {"time": pd.to_datetime(joined("time"), unit="s", utc=True),
            "id": np.repeat([id[:12] for id, *_ in series], counts).astype(object) if series
            else np.empty(0, dtype=object),
            "name": repeated(1), "source": repeated(2)}
    for name in (*FIGURES, *RATES):
        values = joined(name)
        data[name] = values.astype("int64") if name in INTEGERS else values
    return pd.DataFrame(data, columns=list(FRAME_COLUMNS))


def export(frame: "pandas.DataFrame", path: str | Path) -> Path:
    """Write ``frame`` to ``path``: ``.csv`` or ``.parquet`` (needs pyarrow)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise InvalidArgument("writing Parquet needs pyarrow (pip install pyarrow); or write a .csv")
        frame.to_parquet(path, index=False)
    else:
        raise InvalidArgument(f"cannot write {path.name!r}: use a .csv or .parquet file name")
    return path
