"""One stats sampler per engine, shared by everyone who asks for a snapshot.

The sidebar asks ``GET stats`` every two seconds and a dashboard reads its
figures once a second. Rather than a snapshot each time (two readings apart,
or the engine's two samples), ``SharedStats`` starts one ``Sampler`` on the
first request, keeps it following the running containers (those that start
later are picked up, those that stop leave), answers each request from its
latest rows, and stops it when nobody asked for ``idle`` seconds. The server
keeps one per engine; ``shared(engine)`` is the one of this process (kernel).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .frames import SNAPSHOT_COLUMNS
from .sampler import Sampler

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine


class SharedStats:
    """``rows()``: the latest figures of every running container of ``engine``."""

    def __init__(self, engine: Engine, *, idle: float = 30.0, timeout: float = 10.0):
        self.engine = engine
        self.idle = idle
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sampler: Sampler | None = None
        self._asked = 0.0
        self._busy = 0
        self._wake = threading.Event()
        self._reaper: threading.Thread | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        return self._sampler is not None and self._sampler.running

    def latest(self, wait: bool = True) -> pandas.DataFrame:
        """One row per followed container (id, name, the docker CLI's figures, source), by name.

        The first call after a (re)start waits for the first primed samples, up to ``timeout``
        (a second from cgroups, two from the engine's API), unless ``wait`` is False: then it
        answers at once with the rows there are (none at first).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("these shared stats were closed")
            self._asked = time.monotonic()
            self._busy += 1  # the reaper leaves a sampler alone while a request waits on it
            sampler, fresh = self._sampler, False
            if sampler is None or not sampler.running or sampler.error is not None:
                if sampler is not None:
                    sampler.stop()
                sampler = self._sampler = Sampler(self.engine, retention=5, follow_new=True)
                fresh = True
                try:
                    sampler.start()
                except BaseException:
                    self._sampler = None
                    self._busy -= 1
                    raise
                if self._reaper is None or not self._reaper.is_alive():
                    self._reaper = threading.Thread(target=self._reap, name="stats-shared-reaper", daemon=True)
                    self._reaper.start()
        try:
            if fresh and wait:
                sampler.wait_rows(1, self.timeout)
        finally:
            with self._lock:
                self._busy -= 1
                self._asked = time.monotonic()
        if sampler.error is not None:
            raise sampler.error
        frame = sampler.latest()
        if len(frame):
            following = sampler.followed
            frame = frame[frame["id"].map(lambda short: any(id.startswith(short) for id in following))]
        return frame.loc[:, list(SNAPSHOT_COLUMNS)].sort_values("name", kind="stable").reset_index(drop=True)

    def _reap(self) -> None:
        """Stop the sampler once nobody asked for ``idle`` seconds; then end."""
        while True:
            with self._lock:
                left = max(self._asked + self.idle - time.monotonic(), self.idle if self._busy else 0)
                if left <= 0 or self._closed:
                    sampler, self._sampler = self._sampler, None
                    self._reaper = None
                    break
            self._wake.wait(left)
            self._wake.clear()
        if sampler is not None:
            sampler.stop()

    def close(self) -> None:
        """Stop following; safe more than once and from any thread."""
        with self._lock:
            self._closed = True
            sampler, self._sampler = self._sampler, None
        self._wake.set()
        if sampler is not None:
            sampler.stop()


_SHARED: dict[str, SharedStats] = {}
_SHARED_LOCK = threading.Lock()


def shared(engine: Engine) -> SharedStats:
    """This process's one ``SharedStats`` of the engine at ``engine.url`` (the dashboards of a
    kernel share it; the server keeps its own, one per engine too)."""
    old = None
    with _SHARED_LOCK:
        stats = _SHARED.get(engine.url)
        if stats is None or stats._closed or stats.engine is not engine:
            old, stats = stats, SharedStats(engine)
            _SHARED[engine.url] = stats
    if old is not None:
        old.close()
    return stats
