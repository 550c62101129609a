"""The private engine: a dockerd of our own, for machines where none answers.

Everything it owns lives under one state directory (socket, data-root,
exec-root, pidfile, log), it binds published ports to 127.0.0.1 by default,
and ``stop()`` stops only the daemon it started: the pidfile's process must
have the start time and executable recorded when we started it.

It has a bridge of its own (``jc-XXXXXX``, in a /24 of 10.0.0.0/8 that nothing
on the host uses), chosen at its first start and kept in ``network.json``
(the bridge itself exists while the daemon runs), so
it never shares ``docker0`` (and its addresses) with a system dockerd on the
same host. A state directory from before (no ``network.json``) gets one at its
next start.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import time
from itertools import pairwise
from pathlib import Path

from .errors import EngineUnavailable

STATE_ENV = "JUPYTER_CONTAINERS_STATE_DIR"


def default_state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "jupyter-containers"


# what a dockerd of ours runs; a leftover is one of these naming our state directory
_DAEMONS = {"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc"}


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
    except OSError:
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        return [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); it is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


class PrivateEngine:
    """A ``dockerd`` with its own socket and directories under ``state_dir``."""

    def __init__(self, state_dir: str | os.PathLike | None = None,
                 extra_args: list[str] | None = None):
        self.state_dir = Path(state_dir).expanduser() if state_dir else default_state_dir()
        self.extra_args = list(extra_args or [])

    socket = property(lambda self: self.state_dir / "docker.sock")
    pidfile = property(lambda self: self.state_dir / "dockerd.pid")
    logfile = property(lambda self: self.state_dir / "dockerd.log")
    startfile = property(lambda self: self.state_dir / "dockerd.started")  # pid, start time, exe
    networkfile = property(lambda self: self.state_dir / "network.json")  # bridge, address

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int | None:
        """The pid of the daemon we started, if it still runs; else None.

        The pidfile alone is not enough (a stale one may name a process that
        reused the pid): the process must have the start time and executable we
        recorded when we started it. A daemon started before that record
        existed is recognised by its own command line naming our pidfile.
        """
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _pid_alive(pid):
            return None
        try:
            started = json.loads(self.startfile.read_text())
        except (OSError, ValueError):
            started = None
        if isinstance(started, dict):
            ours = (started.get("pid") == pid and started.get("start_time") == _start_time(pid)
                    and started.get("exe") == _exe(pid))
        else:  # a state directory from before the record: dockerd's own --pidfile names it
            args = _cmdline(pid)
            ours = (os.path.basename(_exe(pid) or "") == "dockerd"
                    and any(a == "--pidfile" and b == str(self.pidfile) for a, b in pairwise(args)))
        return pid if ours else None

    def _record_start(self, pid: int) -> None:
        record = {"pid": pid, "start_time": _start_time(pid), "exe": _exe(pid)}
        tmp = self.startfile.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.startfile)

    # -- its own bridge ------------------------------------------------------------
    def _sets_own_bridge(self) -> bool:
        """Whether ``extra_args`` choose the bridge themselves (``--bridge none``, ``--bip``)."""
        return any(arg in ("-b", "--bridge", "--bip") or arg.startswith(("-b=", "--bridge=", "--bip="))
                   for arg in self.extra_args)

    def network(self) -> dict | None:
        """The bridge chosen for this state directory (``{"bridge", "address"}``), or None yet."""
        try:
            chosen = json.loads(self.networkfile.read_text())
            ipaddress.ip_interface(chosen["address"])
            return chosen if str(chosen["bridge"]).startswith("jc-") else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _ensure_bridge(self) -> str:
        """Our bridge exists, up, with its address; its name. Chosen on first use and kept."""
        chosen = self.network()
        if chosen is not None and _link_exists(chosen["bridge"]):
            return chosen["bridge"]
        if chosen is None or _overlaps_host(ipaddress.ip_interface(chosen["address"]).network) \
                or _link_exists(chosen["bridge"]):
            chosen = _choose_network()
            tmp = self.networkfile.with_suffix(".tmp")
            tmp.write_text(json.dumps(chosen))
            tmp.replace(self.networkfile)
        name = chosen["bridge"]
        for step in (["ip", "link", "add", "name", name, "type", "bridge"],
                     ["ip", "addr", "add", chosen["address"], "dev", name],
                     ["ip", "link", "set", name, "up"]):
            try:
                done = subprocess.run(step, capture_output=True, text=True, check=False)
            except OSError as exc:  # no iproute2
                raise EngineUnavailable(f"could not create the private engine's bridge {name}: {exc}; "
                                        "install iproute2", operation="engine up") from None
            if done.returncode != 0:
                subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
                raise EngineUnavailable(f"could not create the private engine's bridge {name}: "
                                        f"{' '.join(step)}: {done.stderr.strip()}", operation="engine up")
        return name

    def remove_bridge(self) -> bool:
        """Delete our bridge and the iptables rules dockerd made for it (``stop()`` does, once
        the daemon is gone); False if there was none. Its name and subnet stay chosen."""
        chosen = self.network()
        if chosen is None or self.pid is not None:
            return False
        return _delete_bridge(chosen["bridge"])

    def command(self) -> list[str]:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        chosen = self.network()
        bridge = [] if self._sets_own_bridge() or chosen is None else ["--bridge", chosen["bridge"]]
        return [dockerd, "--host", self.url,
                "--data-root", str(self.state_dir / "data"),
                "--exec-root", str(self.state_dir / "exec"),
                "--pidfile", str(self.pidfile),
                "--ip", "127.0.0.1", *bridge, *self.extra_args]

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"

    def answers(self, timeout: float = 1.0) -> bool:
        from .connect import ping_url

        return self.socket.exists() and ping_url(self.url, timeout) is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the daemon and wait for ``/_ping``; idempotent."""
        if self.pid and self.answers():
            return
        if not (shutil.which("dockerd") or Path("/usr/sbin/dockerd").exists()):
            raise EngineUnavailable(
                "dockerd is not installed; install Debian's docker.io package "
                "(apt-get install docker.io) or point DOCKER_HOST at an engine",
                operation="engine up")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._clean_after_crash() is None:
            raise EngineUnavailable(f"a dockerd we did not start runs in {self.state_dir}; stop it, or use "
                                    "another --state-dir", operation="engine up")
        self.socket.unlink(missing_ok=True)
        self.startfile.unlink(missing_ok=True)
        bridge = None if self._sets_own_bridge() else self._ensure_bridge()
        others = _iptables_rules() if bridge and "--iptables=false" not in self.extra_args else None
        with open(self.logfile, "ab") as log:
            process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_answering(process, timeout)
        except BaseException:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if bridge:
                _delete_bridge(bridge)  # made for this start only
            raise
        finally:
            if others is not None:
                _put_back(others, bridge)

    def _wait_answering(self, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EngineUnavailable(
                    f"dockerd exited with code {process.returncode} while starting; "
                    f"last lines of {self.logfile}:\n{self.log_tail()}", operation="engine up")
            if self.answers(timeout=0.5):
                self._record_start(process.pid)  # dockerd itself by now (unshare and the like exec it)
                return
            time.sleep(0.1)
        raise EngineUnavailable(
            f"dockerd did not answer on {self.socket} within {timeout:.0f} s; "
            f"last lines of {self.logfile}:\n{self.log_tail()}", operation="engine up")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the daemon we started (SIGTERM, then SIGKILL); False if none was running.

        What a crashed daemon left behind (its containerd and shims, the
        mounts under our data-root) is cleaned up too: only containerd, shim and
        dockerd processes with an argument inside our state directory, so a
        ``tail -f`` of our log or a daemon of a sibling directory is left alone.
        Our bridge is deleted with the rules dockerd made for it; the next start
        makes it again with the same name and subnet (others if the host took them meanwhile).
        """
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 5
                time.sleep(0.1)
        leftovers = self._clean_after_crash()
        if leftovers is None:
            return pid is not None  # a daemon we did not start runs here: what it has is its own
        self.socket.unlink(missing_ok=True)
        self.startfile.unlink(missing_ok=True)
        self.remove_bridge()  # made again, with the same name and subnet, at the next start
        return pid is not None or bool(leftovers)

    def _clean_after_crash(self) -> list[int] | None:
        """Kill what a dead daemon of ours left running (containerd, shims: a new dockerd cannot start
        its containerd while the old one holds the state directory) and unmount what it left mounted.
        The pids killed; None, touching nothing, when a dockerd we did not start runs here."""
        leftovers = self._leftovers()
        if any(os.path.basename(_exe(other) or "") == "dockerd" for other in leftovers):
            return None
        for other in leftovers:
            try:
                os.kill(other, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for other in leftovers:
            deadline = time.monotonic() + 10
            while _pid_alive(other) and time.monotonic() < deadline:
                time.sleep(0.05)
        for mount in self._mounts():
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        # the exec-root is runtime state of a daemon that is gone: dockerd would wait for the containerd
        # its pidfile names (a killed one can stay a zombie where PID 1 reaps nothing), and containerd
        # would find the old tasks' bundles in its way ("failed to start shim: ... file exists")
        shutil.rmtree(self.state_dir / "exec", ignore_errors=True)
        return leftovers

    def _leftovers(self) -> list[int]:
        """Our daemons' processes still alive: containerd, shims or dockerd (by executable)
        with an argument that is our state directory or a path inside it."""
        root = str(self.state_dir).rstrip("/")
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            pid = int(entry.name)
            if os.path.basename(_exe(pid) or "") not in _DAEMONS:
                continue
            args = _cmdline(pid)
            if any(path == root or path.startswith(root + "/")
                   for arg in args for path in (arg, arg.split("=", 1)[-1])):
                found.append(pid)
        return found

    def _mounts(self) -> list[str]:
        try:
            lines = Path("/proc/mounts").read_text().splitlines()
        except OSError:
            return []
        prefix = str(self.state_dir) + "/"
        return sorted((line.split()[1] for line in lines if line.split()[1].startswith(prefix)), reverse=True)


def _ipt(table: str, *args: str) -> subprocess.CompletedProcess:
    """``iptables -w -t TABLE ARGS...`` (waits for the xtables lock other daemons hold)."""
    return subprocess.run(["iptables", "-w", "-t", table, *args], capture_output=True, text=True, check=False)


def _iptables_rules() -> dict[str, list[str]] | None:
    """The host's filter and nat rules (``iptables -S``), or None without iptables."""
    rules = {}
    for table in ("filter", "nat"):
        try:
            done = _ipt(table, "-S")
        except OSError:
            return None
        if done.returncode != 0:
            return None
        rules[table] = done.stdout.splitlines()
    return rules


_BUILTIN_CHAINS = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}


def _put_back(before: dict[str, list[str]], ours: str) -> list[str]:
    """Re-add the other engines' rules that our dockerd's start removed; what it re-added.

    Every dockerd flushes the DOCKER and DOCKER-ISOLATION chains when it starts (their
    names are fixed in dockerd), and one starting on a data-root whose default bridge
    was another (an old layout on docker0) deletes that bridge's rules: both would cut
    the networking of a system dockerd on the same host. Rules about our own bridge,
    or about an interface that is gone, are left to dockerd.
    """
    restored = []
    now = _iptables_rules() or {}
    links = {p.name for p in Path("/sys/class/net").iterdir()}
    for table, rules in before.items():
        current = set(now.get(table, []))
        missing = []
        for rule in rules:
            words = rule.split()
            if not rule.startswith("-A ") or rule in current or ours in words:
                continue
            named = {w for a, w in pairwise(words) if a in ("-i", "-o")}
            if named <= links:
                missing.append(words)
        # appended to the built-in chains (after dockerd's own jumps); in dockerd's chains,
        # inserted at the top in their old order (before their final RETURN)
        for words in missing:
            if words[1] in _BUILTIN_CHAINS:
                command = ["-A", *words[1:]]
            else:
                continue
            if _ipt(table, *command).returncode == 0:
                restored.append(f"{table}: {' '.join(words)}")
        for words in reversed([w for w in missing if w[1] not in _BUILTIN_CHAINS]):
            command = ["-I", words[1], "1", *words[2:]]
            if _ipt(table, *command).returncode == 0:
                restored.append(f"{table}: {' '.join(words)}")
    return restored


_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable",
                "prohibit", "throw", "nat"}


def _delete_bridge(name: str) -> bool:
    """Delete bridge ``name`` (one of ours) and every filter and nat rule that names it."""
    for table in ("filter", "nat"):
        try:
            rules = _ipt(table, "-S").stdout
        except OSError:
            break
        for rule in rules.splitlines():
            if rule.startswith("-A ") and name in rule.split():
                _ipt(table, "-D", *rule.split()[1:])
    if not _link_exists(name):
        return False
    subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
    return True


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _host_networks() -> list:
    """Every IPv4 network the host routes or has an address in (all routing tables)."""
    found = []
    for command in (["ip", "-4", "route", "show", "table", "all"], ["ip", "-4", "-o", "addr", "show"]):
        out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            words = line.split()
            if words and words[0] in _ROUTE_TYPES:
                words = words[1:]
            for word in words[:1] + words[3:4]:  # route destination; address of `ip -o addr`
                try:
                    found.append(ipaddress.ip_network(word, strict=False))
                except ValueError:
                    continue
    return [n for n in found if n.prefixlen > 0]  # the default route covers everything


def _overlaps_host(network) -> bool:
    return any(network.overlaps(other) for other in _host_networks())


def _choose_network() -> dict:
    """A bridge name and a /24 of 10.0.0.0/8 that no interface or route of the host uses.

    10.0.0.0/8 is outside dockerd's default address pools (172.17-31.0.0/16 and
    192.168.0.0/16), so a system dockerd's docker0 and networks never pick it.
    """
    used = _host_networks()
    rng = random.SystemRandom()
    for _ in range(1000):
        network = ipaddress.ip_network(f"10.{rng.randrange(1, 255)}.{rng.randrange(0, 256)}.0/24")
        name = f"jc-{rng.getrandbits(24):06x}"
        if not any(network.overlaps(other) for other in used) and not _link_exists(name):
            return {"bridge": name, "address": f"{network.network_address + 1}/{network.prefixlen}"}
    raise EngineUnavailable("no free /24 in 10.0.0.0/8 for the private engine's bridge", operation="engine up")
