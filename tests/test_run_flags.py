"""``%container run`` against ``docker run``: the same flags give the same container.

Differential: each case runs the docker CLI (Debian's docker.io, /usr/bin/docker) and the magic
with the same flags, image and command, and compares the engine's ``inspect`` of both: Config,
HostConfig and the endpoints' settings, after removing what differs by nature (ids, names,
times, this project's labels, generated volume names). One table of cases; add a line to extend it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port, usage_error
from differential import differences, state

pytestmark = pytest.mark.usefixtures("busybox")

NET_SUBNET = "172.31.250.0/24"

# (id, flags, command, how): how = "run" (run -d, both started), "create" (flags a container here cannot start
# with: a GPU, a block device limit on a char device...), or "error" (both must refuse, ours in one line)
CASES = [
    ("identity", "-e A=1 -e B= --label x=y -w /tmp -u 1000:1000 --hostname h1 --domainname example.org",
     "sleep 60", "run"),
    ("env-files", "--env-file {envfile} -e C=3 --label-file {labelfile} -l k=override", "sleep 60", "run"),
    ("ports", "-p 127.0.0.1:{port}:80 -p 127.0.0.1::81/udp -p 127.0.0.1:{port2}-{port3}:82-83 --expose 90 "
     "--expose 7000-7002/udp", "sleep 60", "run"),
    ("publish-all", "-P --expose 85", "sleep 60", "create"),
    ("host-range", "-p 127.0.0.1:{port2}-{port3}:84", "sleep 60", "create"),
    ("volumes", "-v {tmp}:/h:ro -v /anon -v {volume}:/data:nocopy --tmpfs /x:size=1m,mode=1777", "sleep 60", "run"),
    ("mounts", "--mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 --mount type=bind,src={tmp},dst=/b,readonly "
     "--mount type=volume,dst=/v,volume-nocopy,volume-label=k=v --mount 'type=bind,\"source={tmp}\",target=/q'",
     "sleep 60", "run"),
    ("mount-propagation", "--mount type=bind,source={tmp},target=/p,bind-propagation=rslave,ro=false", "sleep 60",
     "create"),
    ("restart", "--restart on-failure:3 --stop-signal SIGUSR1 --stop-timeout 5 --init --read-only", "sleep 60", "run"),
    ("no-restart", "--restart no --rm", "sleep 60", "run"),
    ("resources", "--cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 --memory 64m --memory-reservation 32m "
     "--memory-swap 128m --pids-limit 50 --oom-score-adj 100 --shm-size 32m --ulimit nofile=100:200 "
     "--ulimit nproc=50", "sleep 60", "run"),
    ("cpu-cfs", "--cpu-period 100000 --cpu-quota 50000 --cpuset-mems 0", "sleep 60", "run"),
    ("blkio", "--blkio-weight 300 --blkio-weight-device /dev/null:200 --device-read-bps /dev/null:1mb "
     "--device-write-bps /dev/null:2mb --device-read-iops /dev/null:100 --device-write-iops /dev/null:200",
     "sleep 60", "create"),
    ("memory-extra", "--memory 64m --memory-swappiness 10 --kernel-memory 10m --oom-kill-disable", "sleep 60",
     "create"),
    ("capabilities", "--cap-add NET_ADMIN --cap-add SYS_TIME --cap-drop CHOWN --security-opt no-new-privileges "
     "--security-opt seccomp=unconfined --security-opt apparmor=unconfined", "sleep 60", "create"),
    ("capabilities-case", "--cap-add net_raw --cap-add CAP_KILL --cap-drop all", "sleep 60", "create"),
    ("privileged", "--privileged", "sleep 60", "create"),
    ("devices", "--device /dev/null:/dev/n2:r --device /dev/zero --device-cgroup-rule 'c 1:3 mr' --group-add 100 "
     "--sysctl net.ipv4.ip_unprivileged_port_start=80", "sleep 60", "run"),
    ("gpus", "--gpus all", "sleep 60", "create"),
    ("gpus-devices", "--gpus device=0,1", "sleep 60", "create"),
    ("hosts-dns", "--add-host a:1.2.3.4 --add-host b:host-gateway --add-host c:::1 --dns 192.0.2.53 "
     "--dns-search example.org --dns-option ndots:2", "sleep 60", "run"),
    ("logging", "--log-driver json-file --log-opt max-size=1m --log-opt max-file=2", "sleep 60", "run"),
    ("log-driver-none", "--log-driver none", "sleep 60", "run"),
    ("health", "--health-cmd 'true' --health-interval 1m30s --health-timeout 500ms --health-retries 3 "
     "--health-start-period 2s", "sleep 60", "run"),
    ("no-health", "--no-healthcheck", "sleep 60", "run"),
    ("network", "--network {net} --network-alias a1 --network-alias a2 --ip 172.31.250.10", "sleep 60", "run"),
    ("network-long", "--network name={net},alias=a3,ip=172.31.250.11", "sleep 60", "run"),
    ("network-none", "--network none", "sleep 60", "run"),
    ("network-container", "--network container:{other}", "sleep 60", "run"),
    ("link-default", "--link {other}:db", "sleep 60", "run"),
    ("link-user", "--network {net} --link {other_on_net}:db", "sleep 60", "run"),
    ("volumes-from", "--volumes-from {other}:ro", "sleep 60", "run"),
    ("namespaces", "--ipc private --pid host --uts host --cgroupns host", "sleep 60", "run"),
    ("ipc-shareable", "--ipc shareable --pid container:{other}", "sleep 60", "run"),
    ("entrypoint", "--entrypoint /bin/sh", "-c 'sleep 60'", "run"),
    ("entrypoint-empty", "--entrypoint ''", "sleep 60", "run"),
    ("tty", "-t -i", "sleep 60", "run"),
    ("attach-create", "-a stdout", "sleep 60", "create"),
    ("platform", "--platform linux/amd64", "sleep 60", "create"),
    ("runtime", "--runtime runc --isolation default", "sleep 60", "run"),
    ("cgroup-parent", "--cgroup-parent jc-test-parent", "sleep 60", "create"),
    ("volume-driver", "--volume-driver local -v {volume}:/d", "sleep 60", "run"),
    ("cpu-realtime", "--cpu-rt-period 1000000 --cpu-rt-runtime 0", "sleep 60", "create"),
    ("userns", "--userns host", "sleep 60", "create"),
    ("link-local", "--network {net} --link-local-ip 169.254.10.10", "sleep 60", "run"),
    ("stop-timeout-zero", "--stop-timeout 0 --stop-signal 9", "sleep 60", "run"),
    ("storage-opt", "--storage-opt size=1G", "true", "error"),  # the engine cannot here: both say so
    ("booleans", "--init=true --read-only=false --privileged=0 --sig-proxy=false", "sleep 60", "run"),
    ("pull-never", "--pull never", "sleep 60", "run"),
    # both must refuse
    ("bad-memory", "--memory lots", "true", "error"),
    ("bad-port", "-p 99999:80", "true", "error"),
    ("bad-mount-type", "--mount type=nope,dst=/x", "true", "error"),
    ("bad-mount-mix", "--mount type=bind,src=/tmp,dst=/x,volume-nocopy", "true", "error"),
    ("bad-restart", "--restart always:3", "true", "error"),
    ("bad-ulimit", "--ulimit nofiles=1", "true", "error"),
    ("bad-health", "--no-healthcheck --health-cmd true", "true", "error"),
    ("rm-restart", "--rm --restart always", "true", "error"),
    ("bad-device", "--device nodev", "true", "error"),
    ("bad-add-host", "--add-host nohost", "true", "error"),
    ("bad-dns", "--dns not-an-ip", "true", "error"),
    ("bad-ipc", "--ipc hostx", "true", "error"),
    ("annotation-old-api", "--annotation a=b", "true", "error"),
    ("windows-only", "--cpu-count 2", "true", "error"),
    ("bad-cpus", "--cpus many", "true", "error"),
    ("bad-duration", "--health-interval 10", "true", "error"),
]

def _docker(engine, *args, check=True) -> subprocess.CompletedProcess:
    binary = shutil.which("docker")
    if not binary:
        pytest.fail("the docker CLI is not installed; `make test` installs Debian's docker.io")
    env = {**os.environ, "DOCKER_HOST": engine.url}
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=60)
    if check and done.returncode:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done


@pytest.fixture(scope="module")
def context(root_engine, tmp_path_factory):
    """What the cases refer to: a user network, other containers, files, free ports (made once; the
    cases' own containers go after each case)."""
    engine = root_engine  # not with the run's label: the cleanup after each case would take them
    name = f"jc-test-flags-{uuid.uuid4().hex[:6]}"
    tmp_path = tmp_path_factory.mktemp("flags")
    network = f"{name}-net"
    _docker(engine, "network", "create", "--subnet", NET_SUBNET, network)
    others = [engine.containers.run(BUSYBOX, ["sleep", "600"], name=f"{name}-other", volumes=["/shared"]),
              engine.containers.run(BUSYBOX, ["sleep", "600"], name=f"{name}-other2", network=network)]
    (tmp_path / "env").write_text("# a comment\nFROM_FILE=1\nSPACES= kept \nC=from-file\n")
    (tmp_path / "labels").write_text("k=v\nplain\n")
    start = free_port()
    volume = f"{name}-vol"
    yield {"net": network, "other": others[0].name, "other_on_net": others[1].name, "tmp": str(tmp_path),
           "envfile": str(tmp_path / "env"), "labelfile": str(tmp_path / "labels"), "port": start,
           "port2": start + 1, "port3": start + 2, "volume": volume}
    for other in others:
        engine.containers.remove(other.id, force=True, volumes=True, missing_ok=True)
    _docker(engine, "volume", "rm", "-f", volume, check=False)
    _docker(engine, "network", "rm", network, check=False)


def _magic(ip, line: str):
    return ip.run_line_magic("container", line)


@pytest.mark.parametrize("case, flags, command, how", CASES, ids=[c[0] for c in CASES])
def test_same_flags_same_container(ip, engine, name, context, case, flags, command, how):
    flags = flags.format(**context)
    verb = ["create"] if how == "create" else ["run", "-d"]
    theirs, ours = f"{name}-cli", f"{name}-ours"
    cli = _docker(engine, *verb, "--name", theirs, "--label", f"{TEST_LABEL}={RUN_ID}", *shlex.split(flags),
                  BUSYBOX, *shlex.split(command), check=False)
    if how == "error":
        assert cli.returncode != 0, f"the docker CLI accepted {flags}"
        message = usage_error(ip, f"%container {' '.join(verb)} --name {ours} {flags} {BUSYBOX} {command}")
        assert message.startswith(f"container {verb[0]}: "), message
        assert not engine.containers.exists(ours), "a refused run left a container behind"
        return
    assert cli.returncode == 0, cli.stderr
    names = {theirs: "NAME", ours: "NAME"}
    expected = state(engine, theirs, names)
    engine.containers.remove(theirs, force=True, volumes=True)  # its ports and addresses are ours to take
    _magic(ip, f"{' '.join(verb)} --name {ours} {flags} {BUSYBOX} {command}")
    difference = differences(expected, state(engine, ours, names))
    assert not difference, "\n".join(difference)


def test_every_flag_of_docker_run_is_known(ip, engine):
    """The docker CLI's own list of ``run`` flags, each known to ``%container run --help``."""
    listed = _docker(engine, "run", "--help").stdout
    flags = {word.rstrip(",") for line in listed.splitlines() for word in line.split()[:2] if word.startswith("--")}
    from jupyter_containers.magics.container import container_commands

    parser = container_commands.commands["run"].parser("container")
    ours = {flag for action in parser._actions for flag in action.option_strings}
    assert flags - {"--help"} <= ours, sorted(flags - ours)


def test_cidfile_written_and_not_overwritten(ip, engine, name, tmp_path):
    cidfile = tmp_path / "cid"
    container = _magic(ip, f"run -d --name {name} --cidfile {cidfile} {BUSYBOX} sleep 60")
    assert cidfile.read_text() == container.id
    message = usage_error(ip, f"%container run -d --name {name}-2 --cidfile {cidfile} {BUSYBOX} true")
    assert "ID file" in message and not engine.containers.exists(f"{name}-2")


def test_mac_address_on_an_old_engine(ip, engine, name):
    """The docker CLI 28 refuses --mac-address on an API 1.41 engine; we put it where that engine takes it."""
    container = _magic(ip, f"run -d --name {name} --mac-address 92:d0:c6:0a:29:33 {BUSYBOX} sleep 60")
    settings = engine.containers.inspect(container.id)["NetworkSettings"]
    assert settings["MacAddress"] == "92:d0:c6:0a:29:33"


def test_seccomp_profile_file_is_sent_as_json(ip, engine, name, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    container = _magic(ip, f"create --name {name} --security-opt seccomp={profile} {BUSYBOX}")
    options = engine.containers.inspect(container.id)["HostConfig"]["SecurityOpt"]
    assert options == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']


def test_cell_body_is_stdin_with_i(ip, engine, name, capsys):
    ip.run_cell_magic("container", f"run -i --rm --name {name} {BUSYBOX} wc -l", "one\ntwo\nthree\n")
    assert capsys.readouterr().out.strip() == "3"
    assert not engine.containers.exists(name)


def test_cell_body_without_i_is_refused(ip, engine, name):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="add -i"):
        ip.run_cell_magic("container", f"run --name {name} {BUSYBOX} wc -l", "x\n")
    assert not engine.containers.exists(name)


def test_attach_stdout_only(ip, name, capsys):
    _magic(ip, f"run -a stdout --rm --name {name} {BUSYBOX} sh -c 'echo out; echo err >&2'")
    captured = capsys.readouterr()
    assert "out" in captured.out and "err" not in captured.out + captured.err


def test_alias_needs_a_user_network(ip, engine, name):
    """The docker CLI since 23 refuses this (20.10 let the engine ignore it): we refuse it."""
    message = usage_error(ip, f"%container run -d --name {name} --network-alias x {BUSYBOX} true")
    assert "only supported for user-defined networks" in message and not engine.containers.exists(name)


def test_unknown_flag_names_it(ip):
    message = usage_error(ip, f"%container run --frobnicate 1 {BUSYBOX}")
    assert "--frobnicate" in message


@pytest.mark.parametrize("line, expected", [
    ("--memory lots", "argument -m/--memory: invalid size 'lots'"),
    ("--mount type=nope,dst=/x", "argument --mount: invalid mount 'type=nope,dst=/x'"),
    ("-v a:b", "argument -v/--volume: invalid volume spec 'a:b'"),
    ("--cpus x", "argument --cpus"),
    ("--rm=maybe", "invalid argument 'maybe' for --rm"),
    ("-a stdout -a bogus", "invalid --attach 'bogus': use stdin, stdout or stderr"),  # quoted: the fuzz test sent a newline
])
def test_bad_values_name_the_flag(ip, line, expected):
    assert expected in usage_error(ip, f"%container run {line} {BUSYBOX}")


def test_flags_after_the_image_belong_to_the_command(ip, name, capsys):
    _magic(ip, f"run --rm --name {name} {BUSYBOX} echo --rm=false -d")
    assert capsys.readouterr().out.strip() == "--rm=false -d"


def test_hub_policy_refuses_escapes(ip, engine, name, monkeypatch):
    """The hub profile's rules, end to end through the run flags that ask for them: nothing is created."""
    magics = ip.magics_manager.registry["ContainerMagics"]
    policy = magics.policy
    saved = {k: getattr(policy, k) for k in ("allow_privileged", "allow_host_namespaces", "allow_devices",
                                             "allow_unconfined", "allow_host_pid", "allow_cap_add",
                                             "allow_host_network", "allowed_bind_paths")}
    try:
        for key in saved:
            setattr(policy, key, False if key != "allowed_bind_paths" else [os.path.expanduser("~")])
        for flags, rule in [("--privileged", "allow_privileged"), ("--ipc host", "allow_host_namespaces"),
                            ("--uts host", "allow_host_namespaces"), ("--cgroupns host", "allow_host_namespaces"),
                            ("--userns host", "allow_host_namespaces"), ("--pid host", "allow_host_pid"),
                            ("--device /dev/null", "allow_devices"), ("--gpus all", "allow_devices"),
                            ("--device-cgroup-rule 'c 1:3 mr'", "allow_devices"),
                            ("--security-opt seccomp=unconfined", "allow_unconfined"),
                            ("--security-opt label=disable", "allow_unconfined"),
                            ("--cap-add SYS_ADMIN", "allow_cap_add"), ("--network host", "allow_host_network"),
                            ("--network name=host", "allow_host_network"),
                            ("-v /etc:/e", "allowed_bind_paths"), ("--mount type=bind,src=/etc,dst=/e",
                                                                   "allowed_bind_paths"),
                            ("--mount type=volume,dst=/e,volume-opt=type=none,volume-opt=o=bind,"
                             "volume-opt=device=/etc", "allowed_bind_paths")]:
            message = usage_error(ip, f"%container run -d --name {name} {flags} {BUSYBOX} true")
            assert rule in message, (flags, message)
            assert not engine.containers.exists(name)
    finally:
        for key, value in saved.items():
            setattr(policy, key, value)


def test_a_unique_name_per_case():
    assert len({c[0] for c in CASES}) == len(CASES)
