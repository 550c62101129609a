"""Follow the stats of many containers at once, from one of two sources.

- ``cgroup``, when the engine is on this machine: the kernel's counters read by
  one thread for every container in one pass, every ``interval`` seconds (down
  to 0.1 s); paths are found once per container (``cgroups.py``) and found
  again when it restarts.
- ``api``, otherwise (a remote engine, a rootless one whose cgroups we cannot
  read, an engine in another pid namespace): the engine's stats stream, one
  closeable stream and one thread per container, about a row a second.

``source="auto"`` picks ``cgroup`` where it can and ``api`` for the rest; the
``source`` column says which gave each row. Both give the docker CLI's
formulas; a container's first reading has no previous CPU figure and gives no
row. Containers that start while the sampler runs are picked up (from the
engine's event stream), containers that stop are dropped; their history stays.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from ..engine import specs
from ..engine.errors import ContainersError, InvalidArgument, NotFound
from ..engine.stats import follow_stats
from . import formulas
from .cgroups import Gone, Reader, Target, Unreadable
from .frames import SNAPSHOT_COLUMNS, History, export

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine

SOURCES = ("auto", "cgroup", "api")
FASTEST = 0.1  # seconds between samples: 10 a second at most
RETENTION = 3600.0  # seconds of history by default ...
DEFAULT_ROWS = 6000  # ... but no more rows than this at fast intervals (10 minutes at 10 Hz)


def open_reader(engine: "Engine") -> Reader:
    """A cgroup reader for ``engine``'s containers; ``Unreadable`` (why) when it is not on this machine."""
    if not engine.url.startswith(("unix://", "http+unix://")):
        raise Unreadable(f"the engine at {engine.url} is not on this machine (not a Unix socket)")
    if engine.replay:  # Binder's replay, or the recorder making one: the figures are the engine API's
        raise Unreadable(f"the engine at {engine.url} is a {engine.replay} of a session, not an engine here")
    try:
        return Reader()
    except OSError as exc:
        raise Unreadable(f"cannot read this machine's cgroup mounts: {exc.strerror or exc}") from None


class Sampler:
    """Stats of the running containers named by ``containers`` (names or ids),
    or of every running container matching ``filters`` (all when None).

    ``interval``: seconds between samples from the kernel (0.1 or more); the
    engine's API samples once a second whatever this says. ``retention``:
    seconds of rows kept per container (default an hour, at most 6000 rows).
    ``follow_new`` picks up containers that start later. ``source``: ``auto``,
    ``cgroup`` or ``api``. Use as a context manager, or ``start()`` and
    ``stop()``; ``frame()`` returns the history so far.
    """

    def __init__(self, engine: "Engine", containers: Iterable[str] | None = None, *,
                 filters: Mapping | Iterable[str] | None = None, retention: float | None = None,
                 interval: float = 1.0, follow_new: bool = True, source: str = "auto"):
        self.engine = engine
        self.containers = [containers] if isinstance(containers, str) else [str(c) for c in containers or ()]
        self.filters = specs.parse_filters(filters)
        if self.containers and self.filters:
            raise InvalidArgument("give container names or filters, not both")
        if source not in SOURCES:
            raise InvalidArgument(f"the stats source is one of auto, cgroup or api, not {source!r}")
        if not interval >= FASTEST:
            raise InvalidArgument(f"the interval is {FASTEST:g} s or more (10 samples a second at most), "
                                  f"not {interval:g}")
        if retention is not None and not retention > 0:
            raise InvalidArgument("retention must be a positive number of seconds")
        rows = math.ceil(retention / interval) if retention is not None \
            else min(math.ceil(RETENTION / interval), DEFAULT_ROWS)
        self.history = History(max(1, rows))
        self.interval = float(interval)
        self.requested = source
        self.source: str | None = None  # "cgroup" or "api" once started
        self.follow_new = follow_new
        self.error: ContainersError | None = None  # why following ended early, e.g. the engine went away
        self.not_running: list[str] = []  # named containers that were not running at start
        self.unreadable: dict[str, str] = {}  # container name -> why the kernel could not be read for it
        self._reader: Reader | None = None
        self._targets: dict[str, Target] = {}  # id -> container read from the kernel
        self._retired: list[Target] = []  # replaced targets: the ticker closes their files
        self._system_readings: collections.deque = collections.deque()  # (monotonic, host CPU ns) per pass
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
            self._reader = self._open_reader()
            self.source = "cgroup" if self._reader is not None else "api"
            if self.follow_new:  # subscribe before listing, so no start falls in between
                self._events = self.engine.system.events(filters={"type": ["container"], "event": ["start"]})
            for id, name, info in self._resolve():
                self._follow(id, name, info, starting=True)
        except BaseException:
            self.stop()
            raise
        if self._reader is not None:
            self._spawn(self._tick, "stats-cgroup")
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
        if not any(t.is_alive() for t in threads if t is not current):  # nobody reads the files any more
            with self._changed:
                targets, self._targets = list(self._targets.values()) + self._retired, {}
                self._retired = []
                self._active -= {t.id for t in targets}
            for target in targets:
                target.close()
            if self._reader is not None:
                self._reader.close()

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
        """The history so far: time, id, name, the figures, per-second rates and the source."""
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
    def _open_reader(self) -> Reader | None:
        if self.requested == "api":
            return None
        try:
            return open_reader(self.engine)
        except Unreadable as exc:
            if self.requested == "cgroup":
                raise InvalidArgument(f"cannot read stats from cgroups: {exc}; use --source api") from None
            return None

    def _resolve(self) -> list[tuple[str, str, dict | None]]:
        """(id, name, inspect data if at hand) of the running containers to follow now."""
        if self.containers:
            found = [self.engine.containers.inspect(ref) for ref in self.containers]
            self._wanted = {item["Id"] for item in found}
            self.not_running = [ref for ref, item in zip(self.containers, found)
                                if not item["State"].get("Running")]
            return [(item["Id"], item["Name"].lstrip("/"), item) for item in found if item["State"].get("Running")]
        found = self.engine.containers.list(filters=self.filters)
        if self._reader is None:
            return [(c.id, c.name, None) for c in found]
        pids = self._reader.find_pids(c.id for c in found)  # one pass over /proc, not an inspect each
        return [(c.id, c.name, {"State": {"Running": True, "Pid": pids[c.id]}, "HostConfig": c.raw.get("HostConfig")}
                 if c.id in pids else None) for c in found]

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

    def _follow(self, id: str, name: str, info: dict | None = None, starting: bool = False) -> None:
        if self._stopped.is_set():
            return
        if self._reader is not None and self._read_from_kernel(id, name, info, starting):
            return
        with self._changed:
            if self._stopped.is_set():
                return
            if id in self._active:
                self._again.add(id)
                return
            self._active.add(id)
            self._ended.discard(id)
        self._spawn(self._run, f"stats-{id[:12]}", id, name)

    def _read_from_kernel(self, id: str, name: str, info: dict | None, starting: bool) -> bool:
        """Follow ``id`` through its cgroup (True), or say why not and leave it to the API (False).

        A restarted container has a new init: its files are found again and its CPU primed again."""
        try:
            info = info or self.engine.containers.inspect(id)
            state = info.get("State") or {}
            if not state.get("Running"):
                return True  # stopped meanwhile: nothing to follow
            host = (info.get("HostConfig") or {}).get("NetworkMode") == "host"
            target = self._reader.target(id, name, int(state.get("Pid") or 0), host_network=host)
        except NotFound:
            return True  # removed meanwhile
        except Gone:
            return True
        except Unreadable as exc:
            self.unreadable[name] = str(exc)
            if self.requested != "cgroup":
                return False
            if starting:
                raise InvalidArgument(f"cannot read the stats of {name} from its cgroup: {exc}; "
                                      "use --source api") from None
            return True  # a later container we cannot read: left out, named in .unreadable
        with self._changed:
            if self._stopped.is_set():
                self._retired.append(target)
                return True
            old = self._targets.get(id)
            if old is not None:
                if old.pid == target.pid:  # the same run seen twice (a start event racing the listing)
                    self._retired.append(target)
                    return True
                self._retired.append(old)
            self._targets[id] = target
            self._active.add(id)
            self._ended.discard(id)
            self._changed.notify_all()
        return True

    def _tick(self) -> None:
        """Read every followed container's files every ``interval`` seconds, on one thread."""
        due = time.monotonic() + self.interval  # the containers were read once (primed) when found
        while not self._stopped.wait(max(0.0, due - time.monotonic())):
            try:
                self._sample_kernel()
            except Exception as exc:  # noqa: BLE001 - an unexpected kernel file must end the sampler with a reason
                self.error = ContainersError(f"reading cgroup stats failed: {exc}; use --source api")
                with self._changed:
                    self._changed.notify_all()
                return
            due += self.interval
            now = time.monotonic()
            if due < now:  # fell behind (a busy machine): the next sample a full interval on, no burst
                due = now + self.interval

    def _sample_kernel(self) -> None:
        with self._changed:
            targets = list(self._targets.values())
            retired, self._retired = self._retired, []
        for target in retired:
            target.close()
        if not targets:
            return
        system = self._reader.system()
        now, clock = time.time(), time.monotonic()
        rate = self._system_rate(clock, system["system_cpu_usage"])
        gone = []
        for target in targets:
            try:
                raw = self._reader.sample(target, system)
            except Gone:
                gone.append(target)
                continue
            if clock - target.previous_at < self.interval / 2:
                continue  # found since the last pass: too short a span for a CPU figure, keep its first reading
            raw["precpu_stats"] = target.previous
            if rate is not None and clock - target.previous_at < 1.0:
                # /proc/stat counts 10 ms ticks: over 0.1 s on 2 CPUs one tick is 5 % of the figure. The
                # system's CPU over the last second, prorated to this span, has the same expected value
                # as the CLI's delta without the tick noise (the CLI's spans are a second or more).
                system_before = system["system_cpu_usage"] - rate * (clock - target.previous_at)
                raw["precpu_stats"] = {**target.previous, "system_cpu_usage": system_before}
            self.history.append(target.id, target.name, now, formulas.figures(raw), source="cgroup")
            target.previous, target.previous_at = raw["cpu_stats"], clock
        with self._changed:
            for target in gone:
                if self._targets.get(target.id) is target:
                    del self._targets[target.id]
                    self._active.discard(target.id)
                    self._ended.add(target.id)
            self._changed.notify_all()
        for target in gone:
            target.close()

    def _system_rate(self, clock: float, system: int) -> float | None:
        """The host's CPU ns per second over the last second of passes (None until a second has passed)."""
        readings = self._system_readings
        readings.append((clock, system))
        while len(readings) > 2 and clock - readings[1][0] >= 1.0:
            readings.popleft()  # keep the newest reading that is at least a second old
        then, before = readings[0]
        return (system - before) / (clock - then) if clock - then >= 1.0 else None

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
                                    formulas.figures(sample.raw), source="api")
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
            if not self._stopped.is_set():  # the engine ended the event stream: it went away
                self.engine.ensure_alive()
        except ContainersError as exc:
            if not self._stopped.is_set():
                self.error = exc
                with self._changed:
                    self._changed.notify_all()


def snapshot(engine: "Engine", containers: Iterable[str] | None = None, *,
             filters: Mapping | Iterable[str] | None = None, timeout: float = 10.0,
             interval: float = 0.25, source: str = "auto") -> "pandas.DataFrame":
    """One row per running container (``docker stats --no-stream``).

    From cgroups: every container's files read twice, ``interval`` seconds apart.
    From the API: all streams opened at once and each container's first frame with
    a previous CPU reading kept, so it takes the engine's two samples (about a
    second apart), not a second per container.
    """
    sampler = Sampler(engine, containers, filters=filters, retention=interval, interval=interval,
                      follow_new=False, source=source)
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
    frame = frame.loc[:, list(SNAPSHOT_COLUMNS)].sort_values("name", kind="stable").reset_index(drop=True)
    frame.attrs["source"] = sampler.source
    return frame
