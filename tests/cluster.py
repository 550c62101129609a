"""A real three-node swarm on this one machine, for the ``cluster`` tests.

Every node is a dockerd of its own (its own socket, data-root, exec-root,
pidfile and managed containerd, as ``PrivateEngine`` starts one) in a network
namespace of its own, joined by a veth pair to a bridge the cluster makes on a
private /24 of 10.250.0.0/16 that no route or address of the host uses. The
namespaces have no default route: the nodes can reach each other, the bridge's
address and their own loopback, and nothing else, so nothing they do (not even
an image pull a swarm task tries) sends a packet anywhere else.

    with cluster(root_engine, n=3) as c:
        c.manager.services.create({...})     # an Engine of node 1, the swarm's manager
        c.engines[1], c.node_ids[1]          # node 2: its Engine, its swarm node id
        c.stop_node(2); c.start_node(2)

Names: ``/tmp/jcsw-<id>/`` (everything on disk: the nodes' state directories,
``owner.json``), bridge ``jcsw-<id>``, the host ends of the veths
``jcsw-<id>-<i>``, namespaces ``jc-swarm-<id>-<i>``. ``down()`` removes all of it,
also after a failure in the middle of ``up()``; a cluster left by a run that was
killed before it could (its ``owner.json`` names a process that is gone) is
removed by the next ``cluster()``. ``leftovers()`` says what of it still exists.
"""

from __future__ import annotations

import atexit
import hashlib
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, wait_for

from jupyter_containers.engine import ContainersError, Engine, PrivateEngine
from jupyter_containers.engine.local import _delete_bridge, _host_networks, _pid_alive, _start_time

ROOT = Path("/tmp")
BASE_PREFIX = "jcsw-"        # /tmp/jcsw-<id>, the bridge jcsw-<id>, veths jcsw-<id>-<i> (under 15 chars)
NETNS_PREFIX = "jc-swarm-"   # /run/netns/jc-swarm-<id>-<i>
NETNS_DIR = Path("/run/netns")
POOL = ipaddress.ip_network("10.250.0.0/16")
SWARM_PORT = 2377
SHIM_SOCKETS = Path("/run/containerd/s")


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _free_subnet(prefix: int = 24, avoid: tuple = ()) -> ipaddress.IPv4Network:
    """A /``prefix`` of 10.250.0.0/16 that no route (any table) or address of the host overlaps,
    nor any of ``avoid``."""
    used = [*_host_networks(), *avoid]
    candidates = list(POOL.subnets(new_prefix=prefix))[1:-1]
    random.SystemRandom().shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError(f"no /{prefix} of {POOL} is free of the host's routes and addresses")


class Node(PrivateEngine):
    """A private dockerd started inside network namespace ``netns`` (with ``nsenter --net``, which
    leaves /sys and the cgroup tree as they are, unlike ``ip netns exec``)."""

    def __init__(self, state_dir: Path, netns: str, containerd_namespace: str):
        super().__init__(state_dir, extra_args=[
            "--bridge", "docker0",  # dockerd's default bridge, inside the namespace (and no host bridge made)
            "--iptables=true",       # the namespace's own tables
            "--containerd-namespace", containerd_namespace,
            "--containerd-plugins-namespace", f"{containerd_namespace}-plugins",
        ])
        self.netns = netns
        self.containerd_namespace = containerd_namespace

    def shim_socket(self, container_id: str) -> Path:
        """Where containerd's shim for a container of ours listens (containerd 1.6's SocketAddress:
        /run/containerd/s/ + sha256 of its containerd's address, namespace and the id); a shim
        that is killed leaves it behind."""
        key = f"{self.state_dir}/exec/containerd/containerd.sock/{self.containerd_namespace}/{container_id}"
        return SHIM_SOCKETS / hashlib.sha256(key.encode()).hexdigest()

    def command(self) -> list[str]:
        return ["nsenter", f"--net={NETNS_DIR / self.netns}", *super().command()]


class Cluster:
    """The cluster named ``id``; ``up()`` makes it, ``down()`` removes everything it made."""

    def __init__(self, id: str, n: int = 3, subnet: ipaddress.IPv4Network | None = None):
        self.id = id
        self.n = n
        self.subnet = subnet
        self.pool: ipaddress.IPv4Network | None = None  # the swarm's address pool, for overlay networks
        self.base = ROOT / f"{BASE_PREFIX}{id}"
        self.bridge = f"{BASE_PREFIX}{id}"
        self.nodes = [Node(self.base / f"n{i}", self.netns(i), f"jcsw-{id}-{i}") for i in range(1, n + 1)]
        self.engines: list[Engine] = []
        self.node_ids: list[str] = []
        self.image: str | None = None  # the test image's id, loaded on every node
        self._made_netns_dir = False
        self._containers: set[str] = set()  # ids of the nodes' containers, seen before their data went

    # -- names -------------------------------------------------------------------------------
    def netns(self, i: int) -> str:
        return f"{NETNS_PREFIX}{self.id}-{i}"

    def veth(self, i: int) -> str:
        return f"{BASE_PREFIX}{self.id}-{i}"

    def address(self, i: int) -> str:
        """Node ``i``'s address (1-based): .10+i of the cluster's /24; the bridge has .1."""
        return str(self.subnet.network_address + 10 + i)

    @property
    def manager(self) -> Engine:
        return self.engines[0]

    # -- owner record: what a later run needs to remove this cluster if this process dies -------
    @property
    def ownerfile(self) -> Path:
        return self.base / "owner.json"

    def _write_owner(self) -> None:
        self.base.mkdir(mode=0o700)
        record = {"pid": os.getpid(), "start_time": _start_time(os.getpid()), "n": self.n,
                  "subnet": str(self.subnet), "made_netns_dir": self._made_netns_dir}
        self.ownerfile.write_text(json.dumps(record))

    @classmethod
    def orphans(cls) -> list[Cluster]:
        """Clusters in /tmp whose owner process is gone."""
        found = []
        for base in ROOT.glob(f"{BASE_PREFIX}*"):
            try:
                record = json.loads((base / "owner.json").read_text())
            except (OSError, ValueError):
                continue
            if _pid_alive(record["pid"]) and _start_time(record["pid"]) == record["start_time"]:
                continue
            cluster = cls(base.name.removeprefix(BASE_PREFIX), record["n"], ipaddress.ip_network(record["subnet"]))
            cluster._made_netns_dir = record.get("made_netns_dir", False)
            found.append(cluster)
        return found

    # -- up ---------------------------------------------------------------------------------
    def up(self, source: Engine, image: str = BUSYBOX, heartbeat: float | None = None) -> None:
        """Make the network, start the dockerds, load ``image`` (from ``source``) into each, and make
        node 1 the swarm's manager and the others its workers. ``heartbeat`` (s): the swarm's dispatcher
        heartbeat period (5 s by default; a node is marked down after a few missed ones)."""
        self.subnet = self.subnet or _free_subnet()
        self.pool = _free_subnet(22, avoid=(self.subnet,))
        self._made_netns_dir = not NETNS_DIR.exists()
        self._write_owner()
        self._network()
        with ThreadPoolExecutor(self.n) as pool:
            list(pool.map(lambda node: node.start(timeout=60), self.nodes))
        self.engines = [Engine.connect(node.url, call_timeout=60).with_labels({TEST_LABEL: RUN_ID})
                        for node in self.nodes]
        archive = self.base / "image.tar"
        source.images.save(image, str(archive))
        self.image = source.images.inspect(image)["Id"]
        with ThreadPoolExecutor(self.n) as pool:
            list(pool.map(lambda engine: engine.images.load(str(archive)), self.engines))
        for engine in self.engines:
            assert engine.images.inspect(self.image)["Id"] == self.image
        archive.unlink()
        spec = {"Dispatcher": {"HeartbeatPeriod": int(heartbeat * 1e9)}} if heartbeat else None
        # the overlay networks' subnets (ingress, a stack's) from the test network's range too
        self.manager.swarm.init(self.address(1), listen_addr=f"{self.address(1)}:{SWARM_PORT}", spec=spec,
                                default_addr_pool=[str(self.pool)], subnet_size=26)
        token = self.manager.swarm.join_token("worker")
        for i, engine in enumerate(self.engines[1:], start=2):
            engine.swarm.join([f"{self.address(1)}:{SWARM_PORT}"], token, advertise_addr=self.address(i),
                              listen_addr=f"{self.address(i)}:{SWARM_PORT}")
        self.node_ids = [engine.system.info()["Swarm"]["NodeID"] for engine in self.engines]
        wait_for(lambda: self.ready() == set(self.node_ids), timeout=60, message=f"{self.n} swarm nodes ready")

    def _network(self) -> None:
        """The bridge (with the /24's .1), and per node a namespace, ``lo`` up, and a veth pair whose
        inner end is the namespace's ``eth0`` with the node's address. Bridged traffic between the nodes
        crosses the host's FORWARD chain (br_netfilter), whose policy a dockerd sets to DROP: one rule
        accepts what goes from this bridge to itself, and goes with the bridge."""
        _run("ip", "link", "add", "name", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.subnet.network_address + 1}/{self.subnet.prefixlen}", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        _run("iptables", "-w", "-I", "FORWARD", "1", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT")
        for i in range(1, self.n + 1):
            ns, veth, inner = self.netns(i), self.veth(i), f"{self.veth(i)}p"
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", "name", veth, "type", "veth", "peer", "name", inner)
            _run("ip", "link", "set", inner, "netns", ns)
            _run("ip", "-n", ns, "link", "set", inner, "name", "eth0")
            _run("ip", "-n", ns, "addr", "add", f"{self.address(i)}/{self.subnet.prefixlen}", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "link", "set", veth, "master", self.bridge, "up")

    # -- while it runs ----------------------------------------------------------------------
    def nodes_by_state(self) -> dict[str, str]:
        """The manager's view: node id -> ``Status.State`` (ready, down, unknown, ...)."""
        return {node["ID"]: node["Status"]["State"] for node in self.manager.nodes.list()}

    def live(self) -> list[int]:
        """The nodes (1-based) whose dockerd answers."""
        return [i for i, engine in enumerate(self.engines, start=1) if engine.ping(timeout=1)]

    def ready(self) -> set[str]:
        return {node_id for node_id, state in self.nodes_by_state().items() if state == "ready"}

    def stop_node(self, i: int, timeout: float = 30) -> None:
        """Stop node ``i``'s dockerd as an administrator would: SIGTERM (SIGKILL after ``timeout``)."""
        node = self.nodes[i - 1]
        self.engines[i - 1].close()
        assert node.stop(timeout=timeout), f"node {i}'s dockerd was not running"

    def start_node(self, i: int) -> None:
        """Start node ``i``'s dockerd again: it rejoins the swarm by itself."""
        node = self.nodes[i - 1]
        node.start(timeout=60)
        self.engines[i - 1] = Engine.connect(node.url, call_timeout=60).with_labels({TEST_LABEL: RUN_ID})

    # -- down -------------------------------------------------------------------------------
    def down(self, timeout: float = 20) -> None:
        """Remove everything: leave the swarm (workers first), stop every dockerd (SIGTERM, then SIGKILL
        after ``timeout``) with its containerd and shims, unmount what they left under the cluster's
        directory, delete the namespaces, veths, bridge and its rule, and the directory. Every step runs
        even when an earlier one fails; idempotent."""
        errors = []

        def attempt(what, step, *args):
            try:
                step(*args)
            except BaseException as exc:  # noqa: BLE001 - go on: the rest must go too
                errors.append(f"{what}: {exc!r}")

        live = [engine if engine.ping(timeout=1) else None for engine in self.engines]
        managers, workers = [e for e in live[:1] if e], [e for e in live[1:] if e]
        for group in (workers, managers):  # workers first: a manager leaving first strands them
            with ThreadPoolExecutor(max(1, len(group))) as pool:
                list(pool.map(lambda engine: attempt("swarm leave", _leave, engine), group))
        for engine in self.engines:
            attempt("close", engine.close)
        self.engines = []
        with ThreadPoolExecutor(self.n) as pool:
            list(pool.map(lambda node: attempt(f"stop {node.state_dir}", node.stop, timeout), self.nodes))
        attempt("processes", self._kill_stragglers)
        attempt("cgroups", self._remove_cgroups)
        attempt("shim sockets", lambda: [path.unlink(missing_ok=True) for path in self.shim_sockets()])
        attempt("mounts", self._unmount)
        for i in range(1, self.n + 1):
            if _link_exists(self.veth(i)):
                attempt(f"veth {i}", _run, "ip", "link", "del", self.veth(i))
            if (NETNS_DIR / self.netns(i)).exists():
                attempt(f"netns {i}", _run, "ip", "netns", "delete", self.netns(i))
        attempt("bridge", _delete_bridge, self.bridge)  # with every iptables rule naming it
        if self._made_netns_dir:
            attempt("netns dir", _remove_netns_dir)
        left = {kind: items for kind, items in self.leftovers().items() if kind != "dirs"}
        if not left and self.base.exists():  # last, and only then: owner.json says what a later run removes
            attempt("dir", shutil.rmtree, self.base)
        if errors or left:
            raise RuntimeError(f"cluster teardown: {'; '.join(errors)}; left: {left}")

    def _kill_stragglers(self) -> None:
        """Any dockerd, containerd or shim still running with an argument inside the directory, and
        any process still in a cgroup of the nodes' containers (a shim killed leaves its container's)."""
        pids = [pid for node in self.nodes for pid in node._leftovers()] + self._container_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not any(_pid_alive(pid) for pid in pids), timeout=10, message="processes killed")

    def _container_ids(self) -> set[str]:
        for node in self.nodes:
            try:
                self._containers |= {d.name for d in (node.state_dir / "data" / "containers").iterdir()}
            except OSError:
                pass
        return self._containers

    def cgroups(self) -> list[Path]:
        """The cgroups of the nodes' containers still there (the cgroupfs driver's ``docker/<id>``,
        in each v1 hierarchy or the v2 tree)."""
        root = Path("/sys/fs/cgroup")
        return [path for cid in sorted(self._container_ids())
                for path in [*root.glob(f"*/docker/{cid}"), root / "docker" / cid] if path.is_dir()]

    def _container_pids(self) -> list[int]:
        pids = set()
        for path in self.cgroups():
            try:
                pids |= {int(pid) for pid in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(pids)

    def _remove_cgroups(self) -> None:
        for path in self.cgroups():
            path.rmdir()  # empty by now: no process, and a container's cgroup has no children

    def shim_sockets(self) -> list[Path]:
        return [path for node in self.nodes for cid in sorted(self._container_ids())
                if (path := node.shim_socket(cid)).exists()]

    def _unmount(self) -> None:
        for mount in self.mounts():
            _run("umount", "-l", mount, check=False)

    # -- what is left -----------------------------------------------------------------------
    def mounts(self) -> list[str]:
        prefix = str(self.base) + "/"
        lines = Path("/proc/self/mounts").read_text().splitlines()
        return sorted((line.split()[1] for line in lines if line.split()[1].startswith(prefix)), reverse=True)

    def leftovers(self) -> dict[str, list]:
        """Whatever of this cluster still exists, by kind; empty when it is all gone."""
        found = {
            "netns": [ns for ns in _netns_names() if ns.startswith(f"{NETNS_PREFIX}{self.id}-")],
            "links": [link.name for link in Path("/sys/class/net").iterdir()
                      if link.name == self.bridge or link.name.startswith(f"{self.bridge}-")],
            "processes": [pid for node in self.nodes for pid in node._leftovers()] + self._container_pids(),
            "cgroups": [str(path) for path in self.cgroups()],
            "shim sockets": [str(path) for path in self.shim_sockets()],
            "mounts": self.mounts(),
            "dirs": [str(self.base)] if self.base.exists() else [],
            "iptables": [rule for rule in _run("iptables", "-w", "-S").stdout.splitlines()
                         if self.bridge in rule.split()],
        }
        return {kind: items for kind, items in found.items() if items}


def _leave(engine: Engine) -> None:
    try:
        engine.swarm.leave(force=True)
    except ContainersError as exc:
        if exc.status != 503:  # not in a swarm (any more)
            raise


def _netns_names() -> list[str]:
    return [line.split()[0] for line in _run("ip", "netns", "list", check=False).stdout.splitlines() if line.strip()]


def _remove_netns_dir() -> None:
    """/run/netns as ``ip netns add`` made it (a mount of itself), when this cluster made it and
    nothing else uses it any more."""
    if NETNS_DIR.exists() and not any(NETNS_DIR.iterdir()):
        _run("umount", str(NETNS_DIR), check=False)
        NETNS_DIR.rmdir()


@contextmanager
def cluster(source: Engine, n: int = 3, image: str = BUSYBOX, heartbeat: float | None = None):
    """An ``n``-node swarm (node 1 the manager) with ``image`` on every node; removed on the way out,
    whatever happens (and, should this process be killed, by the next ``cluster()``)."""
    missing = [tool for tool in ("ip", "nsenter", "iptables", "umount", "dockerd") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        raise RuntimeError("a cluster needs root (network namespaces, a bridge, more dockerds)"
                           + (f" and {', '.join(missing)}" if missing else ""))
    for orphan in Cluster.orphans():
        orphan.down()
    made = Cluster(f"{random.SystemRandom().getrandbits(24):06x}", n)
    atexit.register(made.down)  # an interrupt that skips the finally below
    try:
        made.up(source, image, heartbeat=heartbeat)
        yield made
    finally:
        try:
            made.down()
        finally:
            atexit.unregister(made.down)


__all__ = ["Cluster", "Node", "cluster"]
