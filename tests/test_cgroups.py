"""Reading containers' usage straight from the kernel (``jupyter_containers.stats.cgroups``).

The pure parsers are tested on the files of hand-written fixture trees laid out like
other hosts' ``/`` (``tests/fixtures/cgroups/<layout>/``, see its README): a cgroup v2
host with the systemd driver, a v2 host with ``--cgroup-parent``, a v1 hybrid host
with the systemd driver and CFQ counters, and a v1 host seen from inside a container.
``Reader(root)`` reads those trees as it reads ``/``; its raw frames go through the
docker CLI's formulas (``formulas.figures``), and every expected number below is
worked out by hand from the fixture files. A Hypothesis test feeds arbitrary text to
the parsers; one test reads this live machine (no docker needed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_containers.stats import formulas
from jupyter_containers.stats.cgroups import (
    UNLIMITED,
    Gone,
    Location,
    Reader,
    Unreadable,
    blkio_v1,
    cgroup_mounts,
    io_stat,
    join,
    keyed,
    locate,
    mem_total,
    memberships,
    memory_stats,
    net_dev,
    number,
    started_at,
    system_cpu,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cgroups"
HZ = 100  # USER_HZ, the unit of /proc/stat: 100 on every mainstream Linux architecture

V2_ID = "c65878348ff5f6b33d2d0fb27bb09afdab7412307d1fc20dc924faee50bd826f"  # v2-systemd, pid 48213
PARENT_ID = "e95f5ea021fdd51bf0320e154e3079604f592146d7ff5c05f58de4b27c79cd23"  # v2-cgroupfs-parent, pid 3177
STOPPED_ID = "3b87bda2723bcb802b9dbcddbe5926e13bc52aec6b74212b84a500d45fa69cfd"  # v2-cgroupfs-parent, pid 3420
V1_ID = "e8c6b098e79b1213dd2f3dc481c9e7bbc3ee7f2c590eddd4495d4d34172aa45d"  # v1-systemd-hybrid, pid 2954
TARGET_ID = "a0328a2bb07dc80c56d0ac89a732413bb8f2f1a628b68be355e68f54e212a3cc"  # v1-cgroupfs-nested-ns, pid 31870
SELF_ID = "8bec8872a4765bc8e5eb02c55f5324ce62c6b35c68b582e1409551f8485637e6"  # the container we run in there, 30511
SYSD_ID = "b0f110c2d2953d64b937be084e6baa972319802bd3f4921ebe17eabeb8944787"  # there too, systemd inside, 5120

V2_SCOPE = f"/system.slice/docker-{V2_ID}.scope"
V1_SCOPE = f"/system.slice/docker-{V1_ID}.scope"


def fixture(layout: str, path: str = "") -> str:
    return str(FIXTURES / layout / path) if path else str(FIXTURES / layout)


def text(layout: str, path: str) -> str:
    return (FIXTURES / layout / path).read_text()


def copy(layout: str, tmp_path: Path) -> Path:
    """A writable copy of a fixture tree, for tests that change or remove files."""
    return Path(shutil.copytree(FIXTURES / layout, tmp_path / layout))


class Opened:
    """The readers and targets a test opened, to close (their held descriptors) after it."""

    def __init__(self):
        self.things = []

    def reader(self, root) -> Reader:
        reader = Reader(str(root))
        self.things.append(reader)
        assert reader.ticks == HZ
        return reader

    def target(self, reader: Reader, id: str, name: str, pid: int, **kw):
        target = reader.target(id, name, pid, **kw)
        self.things.append(target)
        return target


@pytest.fixture
def opened():
    made = Opened()
    yield made
    for thing in made.things:
        thing.close()


# -- pure parsers ------------------------------------------------------------------

def test_cgroup_mounts_of_a_v2_host():
    assert cgroup_mounts(text("v2-systemd", "proc/self/mountinfo")) == {"": ("/sys/fs/cgroup", "/")}


def test_cgroup_mounts_of_a_hybrid_host_key_each_comounted_controller():
    mounts = cgroup_mounts(text("v1-systemd-hybrid", "proc/self/mountinfo"))
    assert mounts == {
        "": ("/sys/fs/cgroup/unified", "/"),
        "name=systemd": ("/sys/fs/cgroup/systemd", "/"),
        "cpu": ("/sys/fs/cgroup/cpu,cpuacct", "/"),
        "cpuacct": ("/sys/fs/cgroup/cpu,cpuacct", "/"),
        "memory": ("/sys/fs/cgroup/memory", "/"),
        "blkio": ("/sys/fs/cgroup/blkio", "/"),
        "pids": ("/sys/fs/cgroup/pids", "/"),
        "cpuset": ("/sys/fs/cgroup/cpuset", "/"),
    }  # devices, freezer, net_cls,net_prio: not needed, not keyed


def test_cgroup_mounts_inside_a_container_have_its_cgroup_as_root():
    mounts = cgroup_mounts(text("v1-cgroupfs-nested-ns", "proc/self/mountinfo"))
    assert mounts["memory"] == ("/sys/fs/cgroup/memory", f"/docker/{SELF_ID}")
    assert mounts["cpuacct"] == ("/sys/fs/cgroup/cpu,cpuacct", f"/docker/{SELF_ID}")
    assert "" not in mounts


def test_cgroup_mounts_unescape_octal_and_keep_the_first_mount():
    mountinfo = (
        "40 30 0:40 / /mnt/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw\n"
        "41 30 0:40 / /sys/fs/cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
        "42 30 0:41 /a\\134b /x rw - cgroup cgroup rw,memory\n"
        "a line without the separator\n"
        "43 30 0:42 / /y rw - cgroup\n"
    )
    assert cgroup_mounts(mountinfo) == {"": ("/mnt/my cgroups", "/"), "memory": ("/x", "/a\\b")}


def test_memberships_split_comounted_controllers():
    groups = memberships(text("v1-systemd-hybrid", "proc/2954/cgroup"))
    assert groups["cpu"] == groups["cpuacct"] == groups["memory"] == groups["pids"] == V1_SCOPE
    assert groups["net_cls"] == groups["net_prio"] == groups["name=systemd"] == V1_SCOPE
    assert groups["rdma"] == "/"
    assert groups[""] == V1_SCOPE
    assert memberships(f"0::/batch/{PARENT_ID}\n") == {"": f"/batch/{PARENT_ID}"}
    assert memberships("no colons here\n") == {}


@pytest.mark.parametrize("mount, path, directory", [
    (("/sys/fs/cgroup", "/"), V2_SCOPE, f"/sys/fs/cgroup{V2_SCOPE}"),
    (("/sys/fs/cgroup", "/"), "/", "/sys/fs/cgroup"),
    (("/sys/fs/cgroup/memory", "/docker/abc"), "/docker/abc", "/sys/fs/cgroup/memory"),
    (("/sys/fs/cgroup/memory", "/docker/abc"), "/docker/abc/sub", "/sys/fs/cgroup/memory/sub"),
])
def test_join(mount, path, directory):
    assert join(mount, path) == directory


@pytest.mark.parametrize("mount, path, reason", [
    (("/sys/fs/cgroup/memory", "/docker/abc"), "/docker/def", "not under the mount of /docker/abc"),
    (("/sys/fs/cgroup/memory", "/docker/abc"), "/docker/abcdef", "not under the mount"),  # a prefix, not a parent
    (("/sys/fs/cgroup", "/"), "/../../system.slice/docker-x.scope", "outside this process's cgroup namespace"),
])
def test_join_outside_the_mount_is_unreadable(mount, path, reason):
    with pytest.raises(Unreadable, match=reason):
        join(mount, path)


def test_keyed_reads_flat_keyed_files():
    stat = keyed(text("v2-systemd", f"sys/fs/cgroup{V2_SCOPE}/cpu.stat"))
    assert stat == {"usage_usec": 7328164711, "user_usec": 6120311009, "system_usec": 1207853702,
                    "nr_periods": 0, "nr_throttled": 0, "throttled_usec": 0, "nr_bursts": 0, "burst_usec": 0}
    memory = keyed(text("v1-systemd-hybrid", f"sys/fs/cgroup/memory{V1_SCOPE}/memory.stat"))
    assert memory["inactive_file"] == 62914560 and memory["total_inactive_file"] == 67108864
    assert memory["hierarchical_memory_limit"] == 9223372036854771712
    assert keyed("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nquota -1\n") == {"quota": -1}


def test_number():
    assert number("7\n") == 7
    assert number("max\n", unlimited=UNLIMITED) == UNLIMITED
    with pytest.raises(ValueError):
        number("max\n")


def test_system_cpu_sums_the_first_seven_fields_and_counts_cpus():
    # cpu  1304870 1872 368215 35210045 21304 0 9813 | 2207 0 0 (steal guest guest_nice left out)
    # 1304870 + 1872 + 368215 + 35210045 + 21304 + 0 + 9813 = 36916119 ticks = 369161190000000 ns
    assert system_cpu(text("v2-systemd", "proc/stat"), HZ) == (369_161_190_000_000, 4)
    assert system_cpu("cpu  1 2 3 4 5 6 7 800 900 1000\ncpu0 1 2 3 4 5 6 7 800 900 1000\nintr 5\n", 1000) \
        == (28_000_000, 1)
    assert system_cpu("", HZ) == (0, 0)


def test_started_at_is_field_22_after_the_command():
    assert started_at(text("v2-systemd", "proc/48213/stat")) == 8843201
    # a command holding spaces and parentheses: fields are counted after its last ")"
    assert started_at(text("v1-cgroupfs-nested-ns", "proc/2290/stat")) == 42900517
    with pytest.raises(ValueError):
        started_at("1 (init) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x 0")


def test_mem_total_in_bytes():
    assert mem_total(text("v2-systemd", "proc/meminfo")) == 16318480 * 1024 == 16_710_123_520
    assert mem_total("MemFree:  1 kB\n") == 0


def test_net_dev_leaves_out_lo():
    assert net_dev(text("v2-systemd", "proc/48213/net/dev")) == {"eth0": {"rx_bytes": 2380451, "tx_bytes": 118237}}
    assert net_dev("Inter-|\n face |\neth0:1 2 3\n") == {}  # too few counters


def test_blkio_v1_leaves_out_the_device_less_total():
    entries = blkio_v1(text("v1-systemd-hybrid", f"sys/fs/cgroup/blkio{V1_SCOPE}/blkio.throttle.io_service_bytes"))
    assert entries == [
        {"major": 8, "minor": 0, "op": "Read", "value": 16097280},
        {"major": 8, "minor": 0, "op": "Write", "value": 2109440},
        {"major": 8, "minor": 0, "op": "Sync", "value": 16977920},
        {"major": 8, "minor": 0, "op": "Async", "value": 1228800},
        {"major": 8, "minor": 0, "op": "Total", "value": 18206720},
    ]
    assert blkio_v1("Total 0\n") == []


def test_io_stat_gives_read_and_write_per_device():
    assert io_stat(text("v2-systemd", f"sys/fs/cgroup{V2_SCOPE}/io.stat")) == [
        {"major": 259, "minor": 0, "op": "read", "value": 22409216},
        {"major": 259, "minor": 0, "op": "write", "value": 8212480},
        {"major": 253, "minor": 0, "op": "read", "value": 22405120},
        {"major": 253, "minor": 0, "op": "write", "value": 8192000},
    ]
    assert io_stat("") == []


def test_memory_stats_clamp_the_limit_to_the_host():
    v1_stat = text("v1-systemd-hybrid", f"sys/fs/cgroup/memory{V1_SCOPE}/memory.stat")
    assert memory_stats(1, "251658240\n", "9223372036854771712\n", v1_stat, 4127465472) == {
        "usage": 251658240, "limit": 4127465472, "stats": {"total_inactive_file": 67108864}}
    v2_stat = text("v2-systemd", f"sys/fs/cgroup{V2_SCOPE}/memory.stat")
    assert memory_stats(2, "157286400\n", "max\n", v2_stat, 16710123520) == {
        "usage": 157286400, "limit": 16710123520, "stats": {"inactive_file": 41943040}}
    assert memory_stats(2, "73400320\n", "268435456\n", "", 8222273536)["limit"] == 268435456
    assert memory_stats(2, "1\n", "max\n", "", 0) == {"usage": 1, "limit": UNLIMITED, "stats": {"inactive_file": 0}}


def test_locate_v2_and_v1():
    v2 = locate(V2_ID, f"0::{V2_SCOPE}\n", {"": ("/sys/fs/cgroup", "/")}, pid=48213, root="/host")
    directory = f"/host/sys/fs/cgroup{V2_SCOPE}"
    assert v2 == Location(2, directory, directory, directory, directory, "/host/proc/48213/net/dev")
    mounts = cgroup_mounts(text("v1-systemd-hybrid", "proc/self/mountinfo"))
    v1 = locate(V1_ID, text("v1-systemd-hybrid", "proc/2954/cgroup"), mounts, pid=2954, host_network=True)
    assert v1 == Location(1, f"/sys/fs/cgroup/cpu,cpuacct{V1_SCOPE}", f"/sys/fs/cgroup/memory{V1_SCOPE}",
                          f"/sys/fs/cgroup/blkio{V1_SCOPE}", f"/sys/fs/cgroup/pids{V1_SCOPE}", None)


def test_locate_without_the_mounts_is_unreadable():
    with pytest.raises(Unreadable, match="not mounted here"):
        locate(V2_ID, f"0::{V2_SCOPE}\n", {"memory": ("/sys/fs/cgroup/memory", "/")}, pid=48213)


# -- Reader over fixture trees -----------------------------------------------------

def test_v2_systemd(opened):
    reader = opened.reader(fixture("v2-systemd"))
    target = opened.target(reader, V2_ID, "web", 48213)
    scope = fixture("v2-systemd", f"sys/fs/cgroup{V2_SCOPE}")
    assert target.location == Location(2, scope, scope, scope, scope, fixture("v2-systemd", "proc/48213/net/dev"))
    assert reader.sample(target) == {
        "id": V2_ID, "name": "web",
        "cpu_stats": {"cpu_usage": {"total_usage": 7_328_164_711_000},  # usage_usec x 1000
                      "system_cpu_usage": 369_161_190_000_000, "online_cpus": 4},
        "memory_stats": {"usage": 157286400, "limit": 16318480 * 1024, "stats": {"inactive_file": 41943040}},
        "networks": {"eth0": {"rx_bytes": 2380451, "tx_bytes": 118237}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 259, "minor": 0, "op": "read", "value": 22409216},
            {"major": 259, "minor": 0, "op": "write", "value": 8212480},
            {"major": 253, "minor": 0, "op": "read", "value": 22405120},
            {"major": 253, "minor": 0, "op": "write", "value": 8192000}]},
        "pids_stats": {"current": 7},
    }
    assert target.previous == reader.sample(target)["cpu_stats"]  # primed by target()


def test_host_network_reports_no_networks(opened):
    reader = opened.reader(fixture("v2-systemd"))
    target = opened.target(reader, V2_ID, "web", 48213, host_network=True)
    assert target.location.net_dev is None
    assert reader.sample(target)["networks"] == {}


def test_v2_cgroupfs_with_a_cgroup_parent(opened):
    reader = opened.reader(fixture("v2-cgroupfs-parent"))
    target = opened.target(reader, PARENT_ID, "job", 3177)
    assert target.location.memory == fixture("v2-cgroupfs-parent", f"sys/fs/cgroup/batch/{PARENT_ID}")
    raw = reader.sample(target)
    # 91024+187+30117+2210348+1520+3411+1802 + 90512+201+29874+2212023+1489+3207+610 = 4676325 ticks
    assert raw["cpu_stats"] == {"cpu_usage": {"total_usage": 48_203_117_000},
                                "system_cpu_usage": 46_763_250_000_000, "online_cpus": 2}
    assert raw["memory_stats"] == {"usage": 73400320, "limit": 268435456, "stats": {"inactive_file": 10485760}}
    assert raw["networks"] == {"eth0": {"rx_bytes": 56113, "tx_bytes": 20934}}
    assert raw["pids_stats"] == {"current": 3}
    raw["precpu_stats"] = target.previous  # the same counters: no CPU delta, no CPU figure
    # 70 MiB - 10 MiB of inactive page cache = 60 MiB, of 256 MiB
    assert formulas.figures(raw) == (0.0, 62914560, 268435456, 23.4375, 56113, 20934, 9486336, 1105920, 3)


def test_v1_systemd_hybrid_reads_cfq_counters(opened):
    reader = opened.reader(fixture("v1-systemd-hybrid"))
    target = opened.target(reader, V1_ID, "db", 2954)
    assert target.location.version == 1
    assert target.location.cpu == fixture("v1-systemd-hybrid", f"sys/fs/cgroup/cpu,cpuacct{V1_SCOPE}")
    raw = reader.sample(target)
    assert raw["cpu_stats"] == {"cpu_usage": {"total_usage": 48211937412},
                                "system_cpu_usage": 172_326_300_000_000, "online_cpus": 2}
    # limit_in_bytes 9223372036854771712 is no limit: MemTotal 4030728 kB
    assert raw["memory_stats"] == {"usage": 251658240, "limit": 4127465472, "stats": {"total_inactive_file": 67108864}}
    assert raw["networks"] == {"eth0": {"rx_bytes": 9824113, "tx_bytes": 731904}}
    assert raw["pids_stats"] == {"current": 23}
    entries = raw["blkio_stats"]["io_service_bytes_recursive"]
    assert entries[:2] == [{"major": 8, "minor": 0, "op": "Read", "value": 15953920},  # not the throttle's 16097280
                           {"major": 8, "minor": 0, "op": "Write", "value": 2105344}]
    assert formulas.block_io(raw) == (15953920, 2105344)


@pytest.mark.parametrize("change", ["cfq file without entries", "no cfq file"])
def test_v1_blkio_falls_back_to_the_throttle_counters(opened, tmp_path, change):
    tree = copy("v1-systemd-hybrid", tmp_path)
    blkio = tree / f"sys/fs/cgroup/blkio{V1_SCOPE}"
    if change == "no cfq file":  # a kernel without CFQ (5.0 and later)
        (blkio / "blkio.io_serviced_recursive").unlink()
        (blkio / "blkio.io_service_bytes_recursive").unlink()
    else:  # CFQ built in, but the device uses another scheduler
        (blkio / "blkio.io_serviced_recursive").write_text("Total 0\n")
        (blkio / "blkio.io_service_bytes_recursive").write_text("Total 0\n")
    reader = opened.reader(tree)
    raw = reader.sample(opened.target(reader, V1_ID, "db", 2954))
    assert formulas.block_io(raw) == (16097280, 2109440)


def test_nested_target_outside_our_mount_is_unreadable(opened):
    reader = opened.reader(fixture("v1-cgroupfs-nested-ns"))
    with pytest.raises(Unreadable, match=f"its cgroup /docker/{TARGET_ID} is not under the mount of /docker/{SELF_ID}"):
        reader.target(TARGET_ID, "web", 31870)


def test_a_pid_of_another_pid_namespace_is_unreadable(opened):
    reader = opened.reader(fixture("v1-cgroupfs-nested-ns"))
    with pytest.raises(Unreadable, match="process 30511 is not the container's.*another pid namespace"):
        reader.target(TARGET_ID, "web", 30511)  # the engine's pid 30511 is our own container's here
    with pytest.raises(Unreadable, match="process 99999 is not visible here"):
        reader.target(TARGET_ID, "web", 99999)


def test_nested_reads_its_own_container_at_the_mount_root(opened):
    reader = opened.reader(fixture("v1-cgroupfs-nested-ns"))
    target = opened.target(reader, SELF_ID, "lab", 30511)
    assert target.location.memory == fixture("v1-cgroupfs-nested-ns", "sys/fs/cgroup/memory")
    raw = reader.sample(target)
    assert raw["cpu_stats"] == {"cpu_usage": {"total_usage": 912004417280},
                                "system_cpu_usage": 1_718_276_140_000_000, "online_cpus": 4}
    assert raw["memory_stats"] == {"usage": 1073741824, "limit": 4294967296,
                                   "stats": {"total_inactive_file": 268435456}}
    assert raw["pids_stats"] == {"current": 31}
    # no CFQ here: the throttle counters of sda (8:0) and a loop device (7:1)
    assert formulas.block_io(raw) == (209715200 + 1048576, 52428800)
    assert formulas.network(raw) == (40318772, 2811390)


def test_find_pids_takes_the_first_started_process_of_the_container_cgroup(opened):
    reader = opened.reader(fixture("v1-cgroupfs-nested-ns"))
    # TARGET_ID: 31870 (started at tick 41022310), 31902 (41022398) and, pids having wrapped around,
    # 2290 (42900517) in /docker/<id>; 4077 in /docker/<id>/sub is left out. SYSD_ID has only
    # /docker/<id>/init.scope; 1 (init.scope) and 871 (containerd.service) are in no container.
    assert reader.find_pids([TARGET_ID, SELF_ID, SYSD_ID, "0" * 64]) == {TARGET_ID: 31870, SELF_ID: 30511}
    assert reader.find_pids([]) == {}


def test_find_pids_with_systemd_scopes(opened):
    reader = opened.reader(fixture("v2-systemd"))
    assert reader.find_pids([V2_ID]) == {V2_ID: 48213}  # 48261 is its second process; 1187 is dockerd


def test_find_pids_skips_a_process_that_ended_meanwhile(opened, tmp_path):
    tree = copy("v2-systemd", tmp_path)
    (tree / "proc/48213/stat").unlink()  # gone between reading its cgroup and its stat
    assert opened.reader(tree).find_pids([V2_ID]) == {V2_ID: 48261}


def test_a_stopped_container_is_gone(opened):
    reader = opened.reader(fixture("v2-cgroupfs-parent"))
    with pytest.raises(Gone, match="not running"):
        reader.target(PARENT_ID, "job", 0)
    with pytest.raises(Gone, match="stopped"):  # /proc/3420 still there, its cgroup directory removed
        reader.target(STOPPED_ID, "old", 3420)


def test_a_missing_file_of_a_running_container_is_unreadable(opened, tmp_path):
    tree = copy("v2-cgroupfs-parent", tmp_path)
    (tree / f"sys/fs/cgroup/batch/{PARENT_ID}/io.stat").unlink()  # the io controller not enabled
    reader = opened.reader(tree)
    with pytest.raises(Unreadable, match="cannot read its cgroup files: .*io.stat"):
        reader.target(PARENT_ID, "job", 3177)


def test_no_pids_left_is_gone(opened, tmp_path):
    tree = copy("v2-cgroupfs-parent", tmp_path)
    reader = opened.reader(tree)
    target = opened.target(reader, PARENT_ID, "job", 3177)
    (tree / f"sys/fs/cgroup/batch/{PARENT_ID}/pids.current").write_text("0\n")  # exited, cgroup not yet removed
    with pytest.raises(Gone, match="job stopped"):
        reader.sample(target)


def test_target_with_no_pids_left_is_gone(opened, tmp_path):
    tree = copy("v2-cgroupfs-parent", tmp_path)
    (tree / f"sys/fs/cgroup/batch/{PARENT_ID}/pids.current").write_text("0\n")
    reader = opened.reader(tree)
    with pytest.raises(Gone):
        reader.target(PARENT_ID, "job", 3177)


# -- two samples through the docker CLI's formulas -----------------------------------

@pytest.mark.parametrize("layout, id, pid, expected", [
    # system: +100 ticks per CPU in the first seven fields (steal +2 per CPU, left out) = 400 ticks = 4 s;
    # container: usage_usec +1250000 = 1.25 s; 1.25 / 4 x 4 CPUs x 100 = 125 %.
    # memory: 157286400 - inactive_file 41943040 = 115343360 of MemTotal 16318480 kB (limit max)
    ("v2-systemd", V2_ID, 48213,
     (125.0, 115343360, 16710123520, 115343360 / 16710123520 * 100,
      2380451, 118237, 22409216 + 22405120, 8212480 + 8192000, 7)),
    # system: +100 ticks per CPU = 200 ticks = 2 s; cpuacct.usage +437912055 ns;
    # 0.437912055 / 2 x 2 CPUs x 100 = 43.7912055 %.
    # memory: 251658240 - total_inactive_file 67108864 = 184549376 of MemTotal 4030728 kB (no limit)
    ("v1-systemd-hybrid", V1_ID, 2954,
     (43.7912055, 184549376, 4127465472, 184549376 / 4127465472 * 100,
      9824113, 731904, 15953920, 2105344, 23)),
])
def test_cpu_percent_from_two_samples(opened, tmp_path, layout, id, pid, expected):
    tree = copy(layout, tmp_path)
    reader = opened.reader(tree)
    target = opened.target(reader, id, "c", pid)  # the first sample
    shutil.copytree(FIXTURES / f"{layout}-later", tree, dirs_exist_ok=True)  # one second later
    raw = reader.sample(target)
    raw["precpu_stats"] = target.previous
    assert formulas.figures(raw) == pytest.approx(expected, rel=1e-12)


def test_cpu_percent_delta_by_hand():
    # the v2-systemd numbers without the reader: deltas 1.25e9 ns of 4e9 ns on 4 CPUs
    raw = {"cpu_stats": {"cpu_usage": {"total_usage": 7_329_414_711_000},
                         "system_cpu_usage": 369_165_190_000_000, "online_cpus": 4},
           "precpu_stats": {"cpu_usage": {"total_usage": 7_328_164_711_000},
                            "system_cpu_usage": 369_161_190_000_000, "online_cpus": 4}}
    assert formulas.cpu_percent(raw) == 125.0


# -- arbitrary text ----------------------------------------------------------------

PARSERS = {
    "cgroup_mounts": cgroup_mounts,
    "memberships": memberships,
    "keyed": keyed,
    "net_dev": net_dev,
    "blkio_v1": blkio_v1,
    "io_stat": io_stat,
    "system_cpu": lambda t: system_cpu(t, HZ),
    "mem_total": mem_total,
    "started_at": started_at,
    "number": number,
    "join": lambda t: join(("/sys/fs/cgroup/memory", "/docker/abc"), t),
    "memory_stats": lambda t: memory_stats(1, "4096", t, t, 8 << 30),
}
PIECES = ["cpu", "cpu0", "cpu ", " ", "  ", ":", "::", "0::/", "/", "/..", " - ", "-", "=", "rbytes=",
          "wbytes=", "8:0", "8:0:1", "Read", "Total", "lo:", "eth0:", "MemTotal:", " kB", "cgroup",
          "cgroup2", "rw,memory", "\\040", "\n", "\t", "\r", "max", "-1", "12", "4096", "\u00b2", "\u0663",
          "total_inactive_file ", "inactive_file ", "9223372036854771712"]
TEXTS = st.one_of(st.text(), st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map("".join))


@pytest.mark.parametrize("name", list(PARSERS))
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=TEXTS)
def test_parsers_take_any_text(name, data):
    try:
        PARSERS[name](data)
    except (ValueError, Unreadable):
        pass  # anything else (IndexError, KeyError, ...) fails the test


# -- this machine ------------------------------------------------------------------

def test_reader_on_this_machine():
    reader = Reader()
    try:
        assert "memory" in reader.mounts or "" in reader.mounts
        with open("/proc/self/mountinfo", encoding="utf-8") as file:
            assert reader.mounts == cgroup_mounts(file.read())
        assert reader.host_memory > 0
        system = reader.system()
        assert system["online_cpus"] >= 1 and system["system_cpu_usage"] > 0
        assert reader.find_pids(["0" * 64]) == {}  # scans the live /proc; no container has that id
    finally:
        reader.close()
