"""Follow the stats of many containers at once.

One closeable engine stream and one thread per container (they spend their
time blocked on a socket). Each frame becomes a row with the docker CLI's
formulas; a stream's first frame has no previous CPU reading and is dropped.
Containers that start while the sampler runs are picked up (from the engine's
event stream), containers that stop are dropped; their history stays.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from ..engine import specs
from ..engine.errors import ContainersError, InvalidArgument, NotFound
from ..engine.stats import follow_stats
from . import formulas
from .frames import SNAPSHOT_COLUMNS, History, export

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine


class Sampler:
    """Stats of the running containers named by ``containers`` (names or ids),
    or of every running container matching ``filters`` (all when None).

    ``retention`` seconds of rows are kept per container (one a second:
    ``interval`` is the engine's sampling period). ``follow_new`` picks up
    containers that start later. Use as a context manager, or ``start()`` and
    ``stop()``; ``frame()`` returns the history so far.
    """

    def __init__(self, engine: "Engine", containers: Iterable[str] | None = None, *,
                 filters: Mapping | Iterable[str] | None = None, retention: float = 3600.0,
                 interval: float = 1.0, follow_new: bool = True):
        self.engine = engine
        self.containers = [str(c) for c in containers or ()]
        self.filters = specs.parse_filters(filters)
        if self.containers and self.filters:
            raise InvalidArgument("give container names or filters, not both")
        if not retention > 0 or not interval > 0:
            raise InvalidArgument("retention and interval must be positive numbers of seconds")
        self.history = History(max(1, math.ceil(retention / interval)))
        self.follow_new = follow_new
        self.error: ContainersError | None = None  # why following ended early, e.g. the engine went away
        self.not_running: list[str] = []  # named containers that were not running at start
        self._wanted: set[str] | None = None  # ids of the named containers
        self._streams: dict = {}
        self._threads: list[threading.Thread] = []
        self._active: set[str] = set()  # ids with a live follower
        self._ended: set[str] = set()
        self._again: set[str] = set()  # started again while their old follower was ending
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._started = False
        self._events = None

    # -- life ------------------------------------------------------------------
    def start(self) -> "Sampler":
        if self._started:
            return self
        self._started = True
        try:
            if self.follow_new:  # subscribe before listing, so no start falls in between
                self._events = self.engine.system.events(filters={"type": ["container"], "event": ["start"]})
            targets = self._resolve()
        except BaseException:
            self.stop()
            raise
        for id, name in targets:
            self._follow(id, name)
        if self._events is not None:
            self._spawn(self._watch, "stats-events")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every stream and wait for the threads; safe from any thread, more than once."""
        self._stopped.set()
        if self._events is not None:
            self._events.close()
        with self._changed:
            streams = list(self._streams.values())
            threads = list(self._threads)
            self._changed.notify_all()
        for stream in streams:
            stream.close()
        current = threading.current_thread()
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return self._started and not self._stopped.is_set()

    @property
    def threads_alive(self) -> int:
        with self._changed:
            return sum(t.is_alive() for t in self._threads)

    @property
    def followed(self) -> set[str]:
        """Ids of the containers followed right now."""
        with self._changed:
            return set(self._active)

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- data ------------------------------------------------------------------
    def frame(self) -> "pandas.DataFrame":
        """The history so far: time, id, name, the figures, and per-second rates."""
        return self.history.frame()

    def latest(self) -> "pandas.DataFrame":
        return self.history.latest()

    def export(self, path: str | Path) -> Path:
        """Write the history to a ``.csv`` or ``.parquet`` file."""
        return export(self.frame(), path)

    def wait_rows(self, rows: int = 1, timeout: float = 10.0) -> bool:
        """Wait until every followed container has ``rows`` rows (or stopped)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                counts = self.history.counts()
                if all(counts.get(id, 0) >= rows for id in self._active):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._stopped.is_set():
                    return False
                self._changed.wait(left)

    # -- inside ----------------------------------------------------------------
    def _resolve(self) -> list[tuple[str, str]]:
        """(id, name) of the running containers to follow now."""
        if self.containers:
            found = [self.engine.containers.inspect(ref) for ref in self.containers]
            self._wanted = {item["Id"] for item in found}
            self.not_running = [ref for ref, item in zip(self.containers, found)
                                if not item["State"].get("Running")]
            return [(item["Id"], item["Name"].lstrip("/")) for item in found if item["State"].get("Running")]
        return [(c.id, c.name) for c in self.engine.containers.list(filters=self.filters)]

    def _matches(self, id: str) -> bool:
        if self._wanted is not None:
            return id in self._wanted
        filters = {**(self.filters or {}), "id": [id]}
        return bool(self.engine.containers.list(filters=filters))

    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._changed:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _follow(self, id: str, name: str) -> None:
        with self._changed:
            if self._stopped.is_set():
                return
            if id in self._active:
                self._again.add(id)
                return
            self._active.add(id)
            self._ended.discard(id)
        self._spawn(self._run, f"stats-{id[:12]}", id, name)

    def _run(self, id: str, name: str) -> None:
        stream = None
        try:
            stream = follow_stats(self.engine, id)
            with self._changed:
                if self._stopped.is_set():
                    return
                self._streams[id] = stream
            for sample in stream:
                if not sample.running:
                    break
                if not sample.primed:
                    continue
                self.history.append(id, sample.name or name, sample.time.timestamp(),
                                    formulas.figures(sample.raw))
                with self._changed:
                    self._changed.notify_all()
            else:  # the engine ended the stream: it only does so when it goes away
                if not self._stopped.is_set():
                    self.engine.ensure_alive()
        except NotFound:
            pass  # removed before we got to it
        except ContainersError as exc:
            if not self._stopped.is_set():
                self.error = exc
        finally:
            if stream is not None:
                stream.close()
            with self._changed:
                self._streams.pop(id, None)
                self._active.discard(id)
                self._ended.add(id)
                again = id in self._again and not self._stopped.is_set()
                self._again.discard(id)
                self._changed.notify_all()
            if again:
                self._follow(id, name)

    def _watch(self) -> None:
        try:
            for event in self._events:
                if event.action == "start" and event.id and self._matches(event.id):
                    self._follow(event.id, event.name or event.id[:12])
        except ContainersError as exc:
            if not self._stopped.is_set():
                self.error = exc


def snapshot(engine: "Engine", containers: Iterable[str] | None = None, *,
             filters: Mapping | Iterable[str] | None = None, timeout: float = 10.0) -> "pandas.DataFrame":
    """One row per running container (``docker stats --no-stream``).

    All streams are opened at once and each container's first frame with a
    previous CPU reading is kept, so it takes the engine's two samples (about
    a second apart), not a second per container.
    """
    sampler = Sampler(engine, containers, filters=filters, retention=1, follow_new=False)
    with sampler:
        if sampler.not_running:
            names = ", ".join(repr(n) for n in sampler.not_running)
            raise InvalidArgument(f"container {names} is not running" if len(sampler.not_running) == 1
                                  else f"containers {names} are not running")
        complete = sampler.wait_rows(1, timeout)
        waited_for = sampler.followed
    if sampler.error is not None:
        raise sampler.error
    frame = sampler.latest()
    counts = sampler.history.counts()
    missing = sorted(id[:12] for id in waited_for if not counts.get(id))
    if not complete and missing:  # never a partial frame that does not say so
        raise ContainersError(f"no stats from {', '.join(missing)} within {timeout:g} s; "
                              "the engine may be overloaded: try again, or name fewer containers")
    return frame.loc[:, list(SNAPSHOT_COLUMNS)].sort_values("name", kind="stable").reset_index(drop=True)
