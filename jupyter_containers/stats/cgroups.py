"""Containers' resource usage read straight from the kernel: cgroup files and ``/proc``.

The engine's stats API samples once a second and needs two of its samples for
a CPU figure. The kernel's counters can be read at any moment, for every
container in one pass, which is what cAdvisor does. This module

- finds a container's cgroup directories from ``/proc/<pid>/cgroup`` joined
  with the cgroup mounts of ``/proc/self/mountinfo``: cgroup v1, v2 and hybrid
  hosts, the cgroupfs and systemd drivers, ``--cgroup-parent``;
- reads them into the JSON the engine's stats endpoint would send (only the
  fields the docker CLI's formulas use), so ``formulas.py`` serves both sources:
  CPU from ``cpuacct.usage`` / ``cpu.stat``, the system's from the first seven
  fields of ``/proc/stat``'s ``cpu`` line, memory from ``memory.usage_in_bytes`` /
  ``memory.current`` with ``memory.stat``, the limit clamped to the host's memory,
  block IO as containerd reads it, network from ``/proc/<pid>/net/dev`` without
  ``lo``, and ``pids.current``.

Parsing is pure functions over file contents. ``Reader(root)`` does the I/O
under a root directory, so fixture trees of other hosts read like this one.
"""

from __future__ import annotations

import os
import re
import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

V1_CONTROLLERS = ("cpuacct", "memory", "blkio", "pids")
_LAST_ID = re.compile(r"/[^/\n]*?([0-9a-f]{64})[^/\n]*$", re.M)  # a cgroup path's last component naming a container
UNLIMITED = 2**62  # memory.limit_in_bytes without a limit is 2**63 rounded down to a page: above this


class Unreadable(Exception):
    """This container's usage cannot be read from here (the reason is the message)."""


class Gone(Exception):
    """The container's cgroup or process went away: it stopped."""


# -- pure parsers ------------------------------------------------------------------

def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal: ``\\040``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def cgroup_mounts(mountinfo: str) -> dict[str, tuple[str, str]]:
    """Controller -> (mount point, root of the mount in its hierarchy), from ``/proc/self/mountinfo``.

    cgroup v1 hierarchies are keyed by each controller they carry (``cpu,cpuacct`` gives
    both; ``name=systemd`` too); the v2 (unified) hierarchy by ``""``. The first mount wins.
    """
    found: dict[str, tuple[str, str]] = {}
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        root, point, fstype = _unescape(fields[3]), _unescape(fields[4]), tail[0]
        if fstype == "cgroup2":
            found.setdefault("", (point, root))
        elif fstype == "cgroup":
            for option in tail[2].split(","):
                if option in V1_CONTROLLERS or option.startswith("name=") or option in ("cpu", "cpuset"):
                    found.setdefault(option, (point, root))
    return found


def memberships(proc_cgroup: str) -> dict[str, str]:
    """Controller -> cgroup path, from ``/proc/<pid>/cgroup`` (``"2:cpu,cpuacct:/docker/ID"``;
    the v2 line ``"0::/system.slice/docker-ID.scope"`` is keyed by ``""``)."""
    found: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else ("",):
                found[controller] = parts[2]
    return found


def join(mount: tuple[str, str], path: str) -> str:
    """The directory of cgroup ``path`` under ``mount`` (point, root); ``Unreadable`` when the
    cgroup is outside what the mount shows (e.g. we are in another cgroup namespace)."""
    point, root = mount
    if path.startswith("/.."):
        raise Unreadable(f"its cgroup {path} is outside this process's cgroup namespace")
    if root != "/":
        if path != root and not path.startswith(root.rstrip("/") + "/"):
            raise Unreadable(f"its cgroup {path} is not under the mount of {root} at {point}")
        path = path[len(root):]
    return point.rstrip("/") + "/" + path.strip("/") if path.strip("/") else point


def keyed(text: str) -> dict[str, int]:
    """A flat-keyed file (``memory.stat``, ``cpu.stat``): ``key value`` per line."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdecimal():
            out[key] = int(value)
    return out


def number(text: str, unlimited: int | None = None) -> int:
    """One integer (``memory.current``, ``pids.current``); ``max`` is ``unlimited``."""
    text = text.strip()
    if text == "max" and unlimited is not None:
        return unlimited
    return int(text)


def system_cpu(proc_stat: str, ticks_per_second: int) -> tuple[int, int]:
    """(The host's CPU time in ns, the number of online CPUs), from ``/proc/stat``, as dockerd
    computes them: the first seven fields of the ``cpu`` line (user nice system idle iowait
    irq softirq) in clock ticks; one ``cpuN`` line per online CPU."""
    total, online = 0, 0
    for line in proc_stat.splitlines():
        if line.startswith("cpu "):
            total = sum(int(v) for v in line.split()[1:8]) * 1_000_000_000 // ticks_per_second
        elif line.startswith("cpu"):
            online += 1
        elif total:
            break
    return total, online


def started_at(proc_stat: str) -> int:
    """A process's start time (clock ticks after boot), field 22 of ``/proc/<pid>/stat``
    (counted after the command in parentheses, which may itself hold spaces and parentheses)."""
    fields = proc_stat.rpartition(")")[2].split()
    if len(fields) < 20:
        raise ValueError("a /proc/<pid>/stat line too short for a start time")
    return int(fields[19])


def mem_total(meminfo: str) -> int:
    """MemTotal of ``/proc/meminfo`` in bytes (the engine's ceiling for a container's limit)."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", meminfo, re.M)
    return int(match.group(1)) * 1024 if match else 0


def net_dev(text: str) -> dict[str, dict[str, int]]:
    """Interface -> {rx_bytes, tx_bytes} from ``/proc/<pid>/net/dev``, leaving out ``lo``
    (the engine reports the interfaces it made, never the loopback)."""
    found = {}
    for line in text.splitlines()[2:]:
        name, sep, counters = line.partition(":")
        values = counters.split()
        if sep and len(values) >= 9 and name.strip() != "lo":
            found[name.strip()] = {"rx_bytes": int(values[0]), "tx_bytes": int(values[8])}
    return found


def blkio_v1(text: str) -> list[dict]:
    """``blkio.*io_service_bytes*`` lines ``8:0 Read 4096`` as the engine's entries
    (the device-less ``Total`` line is left out, as containerd does)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and ":" in fields[0]:
            major, minor = fields[0].split(":")
            entries.append({"major": int(major), "minor": int(minor), "op": fields[1], "value": int(fields[2])})
    return entries


def io_stat(text: str) -> list[dict]:
    """cgroup v2 ``io.stat`` lines ``8:0 rbytes=1 wbytes=2 rios=3 ...`` as the engine's entries."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or ":" not in fields[0]:
            continue
        device, *pairs = fields
        major, minor = device.split(":")
        values = dict(pair.partition("=")[::2] for pair in pairs)
        for key, op in (("rbytes", "read"), ("wbytes", "write")):
            if values.get(key, "").isdigit():
                entries.append({"major": int(major), "minor": int(minor), "op": op, "value": int(values[key])})
    return entries


def memory_stats(version: int, usage: str, limit: str, stat: str, host_memory: int) -> dict:
    """The engine's ``memory_stats``: usage, the limit (no limit, or one above the host's
    memory, is the host's memory, as dockerd reports it) and the inactive page cache."""
    key = "total_inactive_file" if version == 1 else "inactive_file"
    found = re.search(rf"^{key} (\d+)$", stat, re.M)
    inactive = {key: int(found.group(1)) if found else 0}
    ceiling = number(limit, unlimited=UNLIMITED)
    if host_memory and ceiling > host_memory:
        ceiling = host_memory
    return {"usage": number(usage), "limit": ceiling, "stats": inactive}


# -- finding a container ------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """Where one container's figures are: its cgroup directories and its init's ``net/dev``."""
    version: int
    cpu: str
    memory: str
    blkio: str
    pids: str | None
    net_dev: str | None  # None with --network host: the engine reports no networks then


def locate(container_id: str, proc_cgroup: str, mounts: dict[str, tuple[str, str]], *,
           pid: int, host_network: bool = False, root: str = "/") -> Location:
    """The container's ``Location`` from its init's ``/proc/<pid>/cgroup`` and our cgroup mounts.

    ``Unreadable`` when the process is not the container's (its cgroup path does not name
    the container: another pid namespace) or its cgroups are not mounted here.
    """
    groups = memberships(proc_cgroup)
    version = 1 if "memory" in mounts and "memory" in groups else 2
    if version == 1:
        paths = {c: groups.get(c) for c in V1_CONTROLLERS}
        needed = ("cpuacct", "memory", "blkio")
    else:
        paths = dict.fromkeys(V1_CONTROLLERS, groups.get(""))
        needed = V1_CONTROLLERS
    if not all(paths[c] is not None and (c in mounts if version == 1 else "" in mounts) for c in needed):
        raise Unreadable("its cgroups are not mounted here")
    if container_id not in paths["memory"]:
        raise Unreadable(f"process {pid} is not the container's (its cgroup is {paths['memory']}): "
                         "the engine runs in another pid namespace")
    base = root.rstrip("/")
    dirs = {c: base + join(mounts[c if version == 1 else ""], paths[c])
            for c in V1_CONTROLLERS if paths[c] is not None and (c in mounts or version == 2)}
    return Location(version, dirs["cpuacct"], dirs["memory"], dirs["blkio"], dirs.get("pids"),
                    None if host_network else f"{base}/proc/{pid}/net/dev")


# -- reading -------------------------------------------------------------------------

def _read(fd: int) -> str:
    chunks, offset = [], 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        chunks.append(chunk)
        if len(chunk) < 65536:
            return b"".join(chunks).decode()
        offset += len(chunk)


class Files:
    """Open files read again and again with ``pread`` (no open and close per sample).

    Holds at most ``budget`` descriptors for the whole process (a quarter of its limit),
    and opens the rest for each read, so hundreds of containers never exhaust descriptors.
    """

    held = 0
    budget = max(16, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4)
    _lock = threading.Lock()  # the count, and a file that two threads open at once

    def __init__(self):
        self._fds: dict[str, int] = {}
        self._exists: dict[str, bool] = {}

    def read(self, path: str) -> str:
        fd = self._fds.get(path)
        if fd is None:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            with Files._lock:
                if path in self._fds or Files.held >= Files.budget:
                    keep = False
                else:
                    self._fds[path], keep = fd, True
                    Files.held += 1
            if not keep:
                try:
                    return _read(fd)
                finally:
                    os.close(fd)
        return _read(fd)

    def exists(self, path: str) -> bool:
        if path not in self._exists:
            self._exists[path] = os.path.exists(path)
        return self._exists[path]

    def close(self) -> None:
        with Files._lock:
            fds, self._fds = self._fds, {}
            Files.held -= len(fds)
        for fd in fds.values():
            os.close(fd)


@dataclass
class Target:
    """One followed container: where its figures are and the files held open for them."""
    id: str
    name: str
    pid: int
    location: Location
    files: Files = field(default_factory=Files)
    previous: dict | None = None  # the last cpu_stats: the next sample's precpu_stats
    previous_at: float = 0.0  # when it was read (time.monotonic())

    def close(self) -> None:
        self.files.close()


class Reader:
    """Reads containers' figures under ``root`` (``/`` on a live host, a fixture tree in tests)."""

    def __init__(self, root: str = "/"):
        self.root = os.fspath(root).rstrip("/")
        self.ticks = os.sysconf("SC_CLK_TCK")
        self._host = Files()
        self.mounts = cgroup_mounts(self.text("/proc/self/mountinfo"))
        self.host_memory = mem_total(self.text("/proc/meminfo"))
        if not self.mounts:
            raise Unreadable("no cgroup file system is mounted here")

    def text(self, path: str) -> str:
        with open(self.root + path, encoding="utf-8") as file:
            return file.read()

    def target(self, id: str, name: str, pid: int, *, host_network: bool = False) -> Target:
        """The container ``id`` whose init is ``pid`` in the engine's view, read once (its CPU
        primed); ``Unreadable`` if it cannot be read from here, ``Gone`` if it stopped."""
        if not pid:
            raise Gone(f"container {name} is not running")
        try:
            proc_cgroup = self.text(f"/proc/{pid}/cgroup")
        except FileNotFoundError:
            raise Unreadable(f"process {pid} is not visible here: the engine runs in another pid "
                             "namespace or on another machine") from None
        except OSError as exc:
            raise Unreadable(f"cannot read /proc/{pid}/cgroup: {exc.strerror}") from None
        location = locate(id, proc_cgroup, self.mounts, pid=pid, host_network=host_network, root=self.root or "/")
        target = Target(id, name, pid, location)
        try:
            target.previous, target.previous_at = self.sample(target)["cpu_stats"], time.monotonic()
        except Gone as exc:
            target.close()
            missing = isinstance(exc.__cause__, FileNotFoundError)
            if missing and os.path.isdir(location.memory) and os.path.isdir(f"{self.root}/proc/{pid}"):  # running
                raise Unreadable(f"cannot read its cgroup files: {exc.__cause__}") from None
            raise
        except (OSError, ValueError) as exc:
            target.close()
            raise Unreadable(f"cannot read its cgroup files: {exc}") from None
        return target

    def find_pids(self, ids: Iterable[str]) -> dict[str, int]:
        """Container id -> the pid of its init, as far as one pass over ``/proc`` tells (faster
        than asking the engine per container): the first started process whose cgroup path ends
        with a component naming the container (``ID``, ``docker-ID.scope``), not a sub-cgroup's."""
        wanted, found = set(ids), {}
        for entry in os.scandir(self.root + "/proc"):
            if not entry.name.isdigit():
                continue
            try:
                match = _LAST_ID.search(self.text(f"/proc/{entry.name}/cgroup"))
                if match and match.group(1) in wanted:
                    started = started_at(self.text(f"/proc/{entry.name}/stat"))
                    found.setdefault(match.group(1), []).append((started, int(entry.name)))
            except (OSError, ValueError):
                continue  # ended meanwhile
        return {id: min(candidates)[1] for id, candidates in found.items()}

    def system(self) -> dict:
        """The host's part of ``cpu_stats``: system_cpu_usage (ns) and online_cpus."""
        total, online = system_cpu(self._host.read(self.root + "/proc/stat"), self.ticks)
        return {"system_cpu_usage": total, "online_cpus": online}

    def sample(self, target: Target, system: dict | None = None) -> dict:
        """One stats frame of ``target`` as the engine would send it (no ``precpu_stats``);
        ``Gone`` once the container stopped."""
        where, files = target.location, target.files
        try:
            if where.version == 1:
                cpu = number(files.read(where.cpu + "/cpuacct.usage"))
                memory = memory_stats(1, files.read(where.memory + "/memory.usage_in_bytes"),
                                      files.read(where.memory + "/memory.limit_in_bytes"),
                                      files.read(where.memory + "/memory.stat"), self.host_memory)
                blkio = self._blkio_v1(where.blkio, files)
            else:
                cpu = keyed(files.read(where.cpu + "/cpu.stat")).get("usage_usec", 0) * 1000
                memory = memory_stats(2, files.read(where.memory + "/memory.current"),
                                      files.read(where.memory + "/memory.max"),
                                      files.read(where.memory + "/memory.stat"), self.host_memory)
                blkio = io_stat(files.read(where.blkio + "/io.stat"))
            pids = number(files.read(where.pids + "/pids.current")) if where.pids else None
            networks = net_dev(files.read(where.net_dev)) if where.net_dev else {}
        except (FileNotFoundError, ProcessLookupError) as exc:
            raise Gone(f"container {target.name} stopped") from exc
        except OSError as exc:
            if exc.errno in (19, 3):  # ENODEV: the cgroup was removed under an open file; ESRCH
                raise Gone(f"container {target.name} stopped") from exc
            raise
        if pids == 0:  # exited, its cgroup not yet removed
            raise Gone(f"container {target.name} stopped")
        return {"id": target.id, "name": target.name,
                "cpu_stats": {"cpu_usage": {"total_usage": cpu}, **(system or self.system())},
                "memory_stats": memory, "networks": networks,
                "blkio_stats": {"io_service_bytes_recursive": blkio},
                "pids_stats": {"current": pids} if pids is not None else {}}

    @staticmethod
    def _blkio_v1(directory: str, files: Files) -> list[dict]:
        """containerd's choice: the CFQ scheduler's recursive counters where they have entries,
        else the throttle layer's (which counts every device with a block scheduler)."""
        if files.exists(directory + "/blkio.io_serviced_recursive"):
            entries = blkio_v1(files.read(directory + "/blkio.io_service_bytes_recursive"))
            if entries:
                return entries
        return blkio_v1(files.read(directory + "/blkio.throttle.io_service_bytes"))

    def close(self) -> None:
        self._host.close()
