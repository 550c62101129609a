"""The private engine next to other daemons: its own bridge, and it stops only what it started.

The bridge test runs a "system-like" dockerd (default networking: ``docker0`` and
the iptables chains, its own data-root, exec-root, socket and pidfile) in the
host's network namespace next to a private engine of ours, and removes
afterwards every bridge and iptables rule or chain that the two created and
nothing else (a ``docker0`` that was there before stays).
"""

from __future__ import annotations

import ipaddress
import json
import select
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import (
    BUSYBOX,
    RUN_ID,
    TEST_LABEL,
    build_busybox,
    free_port,
    short_tmp,
    wait_for,
)

from jupyter_containers import cli
from jupyter_containers.engine import Engine, EngineUnavailable, PrivateEngine
from jupyter_containers.engine.local import _pid_alive

HTTPD = ["sh", "-c", "mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"]


def _iptables(table: str) -> list[str]:
    return subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def _docker0_rules(rules: dict[str, set[str] | list[str]] | None = None) -> list[tuple[str, str]]:
    """docker0's own rules (not a container's), as ``(table, rule)``."""
    rules = rules or {table: _iptables(table) for table in ("filter", "nat")}
    return sorted((table, rule) for table, lines in rules.items() for rule in lines
                  if rule.startswith("-A ") and "docker0" in rule.split()
                  and "--to-destination" not in rule and "/32" not in rule)


def _links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()}


def _get(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
            return answer.read().decode().strip()
    except OSError:
        return None


def _serve(engine: Engine, text: str, name: str) -> int:
    port = free_port()
    engine.containers.run(BUSYBOX, [HTTPD[0], HTTPD[1], HTTPD[2].format(text=text)], name=name,
                          ports=[f"127.0.0.1:{port}:80"], restart="unless-stopped")
    wait_for(lambda: _get(port) == text, timeout=20, message=f"{text}'s httpd on 127.0.0.1:{port}")
    return port


def _bridge_of(engine: Engine) -> tuple[str, ipaddress.IPv4Network]:
    bridge = engine.networks.inspect("bridge")
    name = bridge["Options"].get("com.docker.network.bridge.name") or "docker0"
    return name, ipaddress.ip_network(bridge["IPAM"]["Config"][0]["Subnet"])


class SystemLikeEngine(PrivateEngine):
    """A dockerd as a distribution starts it: default bridge and iptables, but its own
    socket, data-root, exec-root and pidfile under ``state_dir``."""

    def __init__(self, state_dir, fixed_cidr: str | None):
        super().__init__(state_dir, extra_args=["--fixed-cidr", fixed_cidr] if fixed_cidr else [])

    def _sets_own_bridge(self) -> bool:
        return True  # nothing of ours: dockerd's defaults

    def command(self) -> list[str]:
        return [shutil.which("dockerd") or "/usr/sbin/dockerd", "--host", self.url,
                "--data-root", str(self.state_dir / "data"), "--exec-root", str(self.state_dir / "exec"),
                "--pidfile", str(self.pidfile), *self.extra_args]


class _HostNetworkGuard:
    """What the host had before; ``restore()`` removes what was added since by the
    daemons of the test (never a bridge or rule that was there before)."""

    CHAINS = ("DOCKER", "DOCKER-USER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2")

    def __init__(self):
        self.links = _links()
        self.rules = {table: set(_iptables(table)) for table in ("filter", "nat")}

    def restore(self, our_bridges: set[str]) -> None:
        new_links = _links() - self.links
        gone = {link for link in new_links if link == "docker0" or link in our_bridges}
        for table, before in self.rules.items():
            before_chains = {rule.split()[1] for rule in before if rule.startswith("-N ")}
            new_chains = {c for c in self.CHAINS if f"-N {c}" in _iptables(table) and c not in before_chains}
            for rule in _iptables(table):
                words = rule.split()
                if rule in before or not rule.startswith("-A "):
                    continue
                # only rules about a bridge the test made, or chains that did not exist before
                if gone & set(words) or new_chains & set(words):
                    subprocess.run(["iptables", "-w", "-t", table, "-D", *words[1:]], check=False)
            for chain in new_chains:
                subprocess.run(["iptables", "-w", "-t", table, "-F", chain], check=False)
                subprocess.run(["iptables", "-w", "-t", table, "-X", chain], check=False)
        for link in gone:
            subprocess.run(["ip", "link", "del", link], check=False)
        if "docker0" in self.links:  # a failing test must not leave another engine's docker0 cut off
            missing = [rule for rule in _docker0_rules(self.rules) if rule not in _docker0_rules()]
            # (the code under test may be what cut them): appended in order to the built-in
            # chains, inserted in reverse order at the top of dockerd's (before their RETURN)
            builtin = [r for r in missing if r[1].split()[1] in ("FORWARD", "POSTROUTING")]
            for table, rule in builtin + list(reversed([r for r in missing if r not in builtin])):
                words = rule.split()
                where = ["-A", words[1]] if (table, rule) in builtin else ["-I", words[1], "1"]
                subprocess.run(["iptables", "-w", "-t", table, *where, *words[2:]], check=False)


@pytest.fixture
def host_network():
    guard = _HostNetworkGuard()
    made: set[str] = set()
    yield made
    guard.restore(made)


@pytest.fixture
def engines():
    """Daemons a test starts; each stopped and its state removed afterwards."""
    started: list[PrivateEngine] = []
    yield started
    for daemon in reversed(started):
        try:
            engine = Engine.connect(daemon.url)
            for container in engine.containers.list(all=True):
                engine.containers.remove(container.id, force=True, missing_ok=True)
            engine.close()
        except Exception:  # noqa: BLE001 - a daemon that is already gone
            pass
        daemon.stop()
        daemon.remove_bridge()  # the state dir's bridge, if one was chosen
        shutil.rmtree(daemon.state_dir, ignore_errors=True)


def test_private_engine_has_its_own_bridge_next_to_a_system_dockerd(host_network, engines):
    docker0_before = "docker0" in _links()
    ours = PrivateEngine(short_tmp())
    engines.append(ours)
    ours.start()
    chosen = ours.network()
    host_network.add(chosen["bridge"])
    private = Engine.connect(ours.url).with_labels({TEST_LABEL: RUN_ID})
    # checked before any container runs: on docker0 it would take addresses another daemon hands out
    bridge, subnet = _bridge_of(private)
    assert bridge == chosen["bridge"] and bridge.startswith("jc-") and len(bridge) <= 15
    assert subnet == ipaddress.ip_interface(chosen["address"]).network and subnet.prefixlen == 24
    assert not subnet.overlaps(ipaddress.ip_network("172.16.0.0/12"))  # dockerd's default pools
    assert json.loads(ours.networkfile.read_text()) == chosen
    build_busybox(private)
    private_port = _serve(private, "private", "jc-test-private-web")

    # a distribution's dockerd starts after ours; on a docker0 that is already there (another
    # engine's), it hands out addresses from a corner of it that the other does not reach
    system = SystemLikeEngine(short_tmp(), "172.17.250.0/24" if docker0_before else None)
    engines.append(system)
    system.start()
    other = Engine.connect(system.url).with_labels({TEST_LABEL: RUN_ID})
    assert _bridge_of(other)[0] == "docker0" and "docker0" in _links()
    assert not _bridge_of(other)[1].overlaps(subnet)
    build_busybox(other)
    system_port = _serve(other, "system", "jc-test-system-web")
    assert _get(private_port) == "private" and _get(system_port) == "system"
    assert ipaddress.ip_address(private.containers.inspect("jc-test-private-web")["NetworkSettings"]
                                ["Networks"]["bridge"]["IPAddress"]) in subnet

    # and ours starting after the system one: same bridge, both still answer, and the
    # system's docker0 rules that dockerd's start flushes from the shared chains are back
    private.close()
    ours.stop()
    assert ours.network() == chosen and chosen["bridge"] not in _links()  # made again at start
    assert _get(system_port) == "system"
    docker0_rules = _docker0_rules()
    assert docker0_rules
    ours.start()
    assert set(docker0_rules) <= set(_docker0_rules())
    private = Engine.connect(ours.url)
    assert _bridge_of(private)[0] == chosen["bridge"]
    wait_for(lambda: _get(private_port) == "private", timeout=20, message="our httpd after our restart")
    assert _get(system_port) == "system"
    private.close()
    other.close()


class OldLayoutEngine(PrivateEngine):
    """A private engine as started before it had a bridge of its own (no ``--bridge``),
    in a network namespace of its own so its docker0 is not the host's."""

    def _sets_own_bridge(self) -> bool:
        return True

    def command(self) -> list[str]:
        return ["unshare", "--net", *super().command()]


def test_engine_up_on_a_state_dir_of_the_old_layout(host_network, engines, capsys):
    state = short_tmp()
    old = OldLayoutEngine(state)
    engines.append(old)
    old.start()
    before = Engine.connect(old.url)
    build_busybox(before)
    port = free_port()
    before.containers.create(BUSYBOX, [HTTPD[0], HTTPD[1], HTTPD[2].format(text="kept")], name="jc-test-kept",
                             ports=[f"127.0.0.1:{port}:80"])
    before.close()
    assert old.stop() and old.network() is None and not old.networkfile.exists()

    docker0_rules = _docker0_rules()
    new = PrivateEngine(state)
    engines.append(new)
    assert cli.main(["engine", "up", "--private", "--state-dir", str(state)]) == 0
    host_network.add(new.network()["bridge"])
    # dockerd drops the stored default bridge (docker0) and its rules: the host's docker0 keeps them
    assert set(docker0_rules) <= set(_docker0_rules())
    assert f"private engine answers at unix://{state}/docker.sock" in capsys.readouterr().out
    after = Engine.connect(new.url)
    assert _bridge_of(after)[0] == new.network()["bridge"]
    after.containers.start("jc-test-kept")  # made on the old bridge, runs on the new one
    wait_for(lambda: _get(port) == "kept", timeout=20, message="the old container's httpd")
    after.close()
    bridge = new.network()["bridge"]
    assert cli.main(["engine", "down", "--state-dir", str(state)]) == 0
    assert new.pid is None and bridge not in _links()
    assert not [rule for table in ("filter", "nat") for rule in _iptables(table) if bridge in rule.split()]


# -- stop only what we started -----------------------------------------------------

def _still_follows(tail: subprocess.Popen, path: Path, marker: str) -> bool:
    """Whether ``tail -f path`` is alive: it prints a line appended to the file now
    (appended again every half second, as tail may not have reached the end yet)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(path, "a") as file:
            file.write(marker + "\n")
        ready, _, _ = select.select([tail.stdout], [], [], 0.5)
        while ready:
            line = tail.stdout.readline()
            if not line:
                return False  # its end of output: it was killed
            if line.strip() == marker:
                return True
            ready, _, _ = select.select([tail.stdout], [], [], 0.5)
    return False


def test_stop_spares_a_tail_of_the_log_and_a_sibling_directory(second_engine):
    private, _ = second_engine
    sibling = Path(str(private.state_dir) + "-sibling")
    sibling.mkdir()
    (sibling / "dockerd.log").write_text("not ours\n")
    files = [private.logfile, sibling / "dockerd.log"]
    bystanders = [subprocess.Popen(["tail", "-n", "0", "-f", str(path)], stdout=subprocess.PIPE, text=True)
                  for path in files]
    try:
        assert all(_still_follows(tail, path, "before") for tail, path in zip(bystanders, files))
        daemon = private.pid
        assert daemon is not None
        assert private.stop() is True
        assert not _pid_alive(daemon)
        assert [_still_follows(tail, path, "after") for tail, path in zip(bystanders, files)] == [True, True], \
            "stop() killed a process it did not start"
        # a stale pidfile naming another process (as after a pid is reused) is not ours
        private.pidfile.write_text(str(bystanders[0].pid))
        assert private.pid is None and private.stop() is False
        assert _still_follows(bystanders[0], files[0], "stale")
    finally:
        for process in bystanders:
            process.kill()
            process.wait()
            process.stdout.close()
        shutil.rmtree(sibling, ignore_errors=True)


def test_a_daemon_started_before_the_start_record_is_still_ours(second_engine):
    private, engine = second_engine
    daemon = private.pid
    record = private.startfile.read_text()
    # a record that does not match the process (another start time): not ours, nothing touched
    private.startfile.write_text(json.dumps({**json.loads(record), "start_time": 1}))
    assert private.pid is None and private.stop() is False
    assert _pid_alive(daemon) and engine.ping() and private.socket.exists()
    private.startfile.write_text(record)
    private.startfile.unlink()  # as for the engine started by an older version
    assert private.pid == daemon  # recognised by its own command line naming our pidfile
    assert private.stop() is True and not _pid_alive(daemon)


def test_a_start_that_fails_leaves_no_bridge(host_network, short_dir):
    broken = PrivateEngine(short_dir, extra_args=["--no-such-flag"])
    with pytest.raises(EngineUnavailable):
        broken.start(timeout=20)
    chosen = broken.network()
    host_network.add(chosen["bridge"])
    assert chosen["bridge"] not in _links()
