"""Every flag of ``docker run`` / ``docker create``, parsed as the docker CLI parses them, into a ContainerSpec.

The help texts are the docker CLI's. A bad value is argparse's one-line error naming the flag;
a flag the engine here cannot do says so (``--annotation`` needs API 1.43 ...), as the CLI does.
"""

from __future__ import annotations

import argparse
import os
import shlex

from ..engine import spec_parse as sp
from ..engine.errors import InvalidArgument
from ..engine.spec import ContainerSpec, Endpoint
from ..engine.specs import parse_env
from .registry import arg, value

REST = argparse.REMAINDER


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def many(*flags, metavar="VALUE", **options):
    return arg(*flags, action="append", default=[], metavar=metavar, **options)


# boolean flags take --flag, --flag=true and --flag=false, as the CLI's
BOOLEANS = {"--rm", "--init", "--privileged", "--read-only", "-P", "--publish-all", "-t", "--tty", "-i",
            "--interactive", "-d", "--detach", "--oom-kill-disable", "--no-healthcheck", "--sig-proxy", "-q",
            "--quiet", "--disable-content-trust", "--session", "--use-api-socket"}

RUN_FLAGS = (
    arg("--name", help="Assign a name to the container"),
    many("-p", "--publish", metavar="[IP:][HOST:]PORT", help="Publish a container's port(s) to the host, "
         "e.g. 127.0.0.1:8080:80"),
    arg("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports"),
    many("--expose", metavar="PORT", type=value(lambda v: sp.parse_expose([v])), help="Expose a port or a range of ports"),
    many("-e", "--env", metavar="KEY[=VALUE]", help="Set environment variables"),
    many("--env-file", metavar="FILE", help="Read in a file of environment variables"),
    many("-v", "--volume", metavar="SRC:DST[:OPTS]", type=value(sp.parse_volume), help="Bind mount a volume"),
    many("--mount", metavar="type=...,src=...,dst=...", type=value(sp.parse_mount),
         help="Attach a filesystem mount to the container"),
    many("--tmpfs", metavar="PATH[:OPTS]", help="Mount a tmpfs directory"),
    many("--volumes-from", metavar="CONTAINER[:ro]", help="Mount volumes from the specified container(s)"),
    arg("--volume-driver", help="Optional volume driver for the container"),
    many("-l", "--label", metavar="KEY=VALUE", help="Set meta data on a container"),
    many("--label-file", metavar="FILE", help="Read in a line delimited file of labels"),
    arg("-w", "--workdir", help="Working directory inside the container"),
    arg("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    many("--group-add", metavar="GROUP", help="Add additional groups to join"),
    arg("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
    arg("-h", "--hostname", help="Container host name"),
    arg("--domainname", help="Container NIS domain name"),
    arg("--restart", type=value(sp.parse_restart), help="Restart policy to apply when a container exits "
        "(no, always, unless-stopped, on-failure[:N])"),
    arg("--stop-signal", help="Signal to stop the container"),
    arg("--stop-timeout", type=integer, help="Timeout (in seconds) to stop a container"),
    arg("--rm", action="store_true", help="Automatically remove the container and its associated anonymous "
        "volumes when it exits"),
    arg("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY"),
    arg("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached "
        "(%%container run -i sends the cell's text)"),
    many("-a", "--attach", metavar="STDIN|STDOUT|STDERR", help="Attach to STDIN, STDOUT or STDERR"),
    arg("--sig-proxy", action="store_true", default=True, help="Proxy received signals to the process "
        "(default true: one interrupt sends SIGINT)"),
    arg("--detach-keys", help="Override the key sequence for detaching a container (in a notebook the "
        "interrupt button detaches)"),
    arg("--init", action="store_true", help="Run an init inside the container that forwards signals and reaps "
        "processes"),
    arg("--privileged", action="store_true", help="Give extended privileges to this container"),
    arg("--read-only", action="store_true", help="Mount the container's root filesystem as read only"),
    many("--cap-add", metavar="CAP", help="Add Linux capabilities"),
    many("--cap-drop", metavar="CAP", help="Drop Linux capabilities"),
    many("--security-opt", metavar="OPT", help="Security Options"),
    many("--device", metavar="/dev/X[:/dev/Y][:rwm]", type=value(sp.parse_device),
         help="Add a host device to the container"),
    many("--device-cgroup-rule", metavar="RULE", help="Add a rule to the cgroup allowed devices list"),
    arg("--gpus", type=value(sp.parse_gpus), help="GPU devices to add to the container ('all' to pass all GPUs)"),
    many("--sysctl", metavar="KEY=VALUE", help="Sysctl options"),
    many("--ulimit", metavar="NAME=SOFT[:HARD]", type=value(sp.parse_ulimit), help="Ulimit options"),
    many("--storage-opt", metavar="KEY=VALUE", help="Storage driver options for the container"),
    arg("--ipc", type=value(lambda v: sp.check_namespace("--ipc", v)), help="IPC mode to use"),
    arg("--pid", type=value(lambda v: sp.check_namespace("--pid", v)), help="PID namespace to use"),
    arg("--uts", type=value(lambda v: sp.check_namespace("--uts", v)), help="UTS namespace to use"),
    arg("--userns", type=value(lambda v: sp.check_namespace("--userns", v)), help="User namespace to use"),
    arg("--cgroupns", type=value(lambda v: sp.check_namespace("--cgroupns", v)),
        help="Cgroup namespace to use (host|private)"),
    arg("--cgroup-parent", help="Optional parent cgroup for the container"),
    arg("--runtime", help="Runtime to use for this container"),
    arg("--isolation", help="Container isolation technology"),
    arg("--platform", help="Set platform if server is multi-platform capable"),
    many("--annotation", metavar="KEY=VALUE", help="Add an annotation to the container (passed through to "
         "the OCI runtime)"),
    arg("--log-driver", help="Logging driver for the container"),
    many("--log-opt", metavar="KEY=VALUE", help="Log driver options"),
    # network
    many("--network", metavar="NETWORK", help="Connect a container to a network (name, or "
         "name=NET,alias=A,ip=IP,... )"),
    many("--network-alias", metavar="ALIAS", help="Add network-scoped alias for the container"),
    arg("--ip", type=value(sp.check_ip, "--ip"), help="IPv4 address (e.g., 172.30.100.104)"),
    arg("--ip6", type=value(sp.check_ip, "--ip6"), help="IPv6 address (e.g., 2001:db8::33)"),
    many("--link-local-ip", metavar="IP", type=value(sp.check_ip, "--link-local-ip"),
         help="Container IPv4/IPv6 link-local addresses"),
    arg("--mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    many("--link", metavar="CONTAINER[:ALIAS]", help="Add link to another container"),
    many("--add-host", metavar="HOST:IP", type=value(sp.parse_extra_host),
         help="Add a custom host-to-IP mapping (host:ip)"),
    many("--dns", metavar="IP", type=value(sp.check_ip, "--dns"), help="Set custom DNS servers"),
    many("--dns-option", metavar="OPT", help="Set DNS options"),
    many("--dns-search", metavar="DOMAIN", help="Set custom DNS search domains"),
    # resources
    arg("--cpus", type=value(sp.parse_cpus), help="Number of CPUs"),
    arg("-c", "--cpu-shares", type=integer, help="CPU shares (relative weight)"),
    arg("--cpu-period", type=integer, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    arg("--cpu-quota", type=integer, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    arg("--cpu-rt-period", type=integer, help="Limit CPU real-time period in microseconds"),
    arg("--cpu-rt-runtime", type=integer, help="Limit CPU real-time runtime in microseconds"),
    arg("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
    arg("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
    arg("--cpu-count", type=integer, help="CPU count (Windows only)"),
    arg("--cpu-percent", type=integer, help="CPU percent (Windows only)"),
    arg("-m", "--memory", type=value(sp.parse_size), help="Memory limit"),
    arg("--memory-reservation", type=value(sp.parse_size), help="Memory soft limit"),
    arg("--memory-swap", type=value(lambda v: -1 if v == "-1" else sp.parse_size(v)),
        help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    arg("--memory-swappiness", type=integer, help="Tune container memory swappiness (0 to 100)"),
    arg("--kernel-memory", type=value(sp.parse_size), help="Kernel memory limit"),
    arg("--shm-size", type=value(sp.parse_size), help="Size of /dev/shm"),
    arg("--oom-kill-disable", action="store_true", help="Disable OOM Killer"),
    arg("--oom-score-adj", type=integer, help="Tune host's OOM preferences (-1000 to 1000)"),
    arg("--pids-limit", type=integer, help="Tune container pids limit (set -1 for unlimited)"),
    arg("--blkio-weight", type=integer, help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    many("--blkio-weight-device", metavar="DEVICE:WEIGHT", type=value(sp.parse_weight_device),
         help="Block IO weight (relative device weight)"),
    many("--device-read-bps", metavar="DEVICE:RATE", type=value(sp.parse_device_rate, "--device-read-bps", True),
         help="Limit read rate (bytes per second) from a device"),
    many("--device-write-bps", metavar="DEVICE:RATE",
         type=value(sp.parse_device_rate, "--device-write-bps", True),
         help="Limit write rate (bytes per second) to a device"),
    many("--device-read-iops", metavar="DEVICE:RATE",
         type=value(sp.parse_device_rate, "--device-read-iops", False),
         help="Limit read rate (IO per second) from a device"),
    many("--device-write-iops", metavar="DEVICE:RATE",
         type=value(sp.parse_device_rate, "--device-write-iops", False),
         help="Limit write rate (IO per second) to a device"),
    arg("--io-maxbandwidth", type=value(sp.parse_size),
        help="Maximum IO bandwidth limit for the system drive (Windows only)"),
    arg("--io-maxiops", type=integer, help="Maximum IOps limit for the system drive (Windows only)"),
    # health
    arg("--health-cmd", help="Command to run to check health"),
    arg("--health-interval", type=value(sp.parse_duration, "--health-interval"),
        help="Time between running the check (ms|s|m|h)"),
    arg("--health-timeout", type=value(sp.parse_duration, "--health-timeout"),
        help="Maximum time to allow one check to run (ms|s|m|h)"),
    arg("--health-start-period", type=value(sp.parse_duration, "--health-start-period"),
        help="Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)"),
    arg("--health-start-interval", type=value(sp.parse_duration, "--health-start-interval"),
        help="Time between running the check during the start period (ms|s|m|h)"),
    arg("--health-retries", type=integer, help="Consecutive failures needed to report unhealthy"),
    arg("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK"),
    # how it is made
    arg("--pull", choices=["missing", "never", "always"], default="missing",
        help='Pull image before running ("always", "missing", "never")'),
    arg("-q", "--quiet", action="store_true", help="Suppress the pull output"),
    arg("--cidfile", help="Write the container ID to the file"),
    arg("--disable-content-trust", action="store_true", help="Skip image verification (always: no content trust)"),
    arg("--use-api-socket", action="store_true", help="Bind mount Docker API socket (not supported here)"),
    arg("--session", action="store_true", help="Remove the container when this kernel ends (jupyter-containers)"),
    arg("image", help="the image to run"),
    arg("command", nargs=REST, help="command and arguments"),
)

# flags that only a newer engine, or another OS, can do: (flag, attribute, API version or "windows")
NEEDS = (("--annotation", "annotation", "1.43"), ("--health-start-interval", "health_start_interval", "1.44"),
         ("--cpu-count", "cpu_count", "windows"), ("--cpu-percent", "cpu_percent", "windows"),
         ("--io-maxbandwidth", "io_maxbandwidth", "windows"), ("--io-maxiops", "io_maxiops", "windows"))


def normalize(words: list[str]) -> list[str]:
    """``--rm=true`` -> ``--rm``, ``--rm=false`` -> nothing (``--sig-proxy=false`` -> ``--no-sig-proxy``),
    up to the image: what follows it is the container's command."""
    out, options = [], True
    for word in words:
        name, eq, setting = word.partition("=")
        if options and eq and name in BOOLEANS:
            if setting.lower() not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid argument {setting!r} for {name}: use true or false")
            if setting.lower() in ("true", "1"):
                out.append(name)
            elif name == "--sig-proxy":
                out.append("--no-sig-proxy")
            continue
        out.append(word)
        if options and not word.startswith("-") and (len(out) < 2 or not _takes_value(out[-2])):
            options = False  # the image: the rest is the command
    return out


def _takes_value(flag: str) -> bool:
    if not flag.startswith("-") or "=" in flag or flag in BOOLEANS or flag == "--no-sig-proxy":
        return False
    return not (len(flag) > 2 and flag[1] != "-")  # -p80 has its value; -dit none


def to_spec(args, api_version: str, os_type: str = "linux", cwd: str | None = None) -> ContainerSpec:
    """The parsed flags as a ContainerSpec; InvalidArgument for values and combinations the CLI refuses."""
    cwd = cwd or os.getcwd()
    for flag, attribute, needs in NEEDS:
        if getattr(args, attribute, None):
            if needs == "windows" and os_type != "windows":
                raise InvalidArgument(f"{flag} is only supported on an engine running on Windows; this one runs on "
                                      f"{os_type}")
            if needs != "windows" and _older(api_version, needs):
                raise InvalidArgument(f"{flag} requires API version {needs}, but the engine's API version is "
                                      f"{api_version}")
    if args.use_api_socket:
        raise InvalidArgument("--use-api-socket is not supported here; mount the engine's socket with -v if you "
                              "mean it")
    if args.no_healthcheck and any(getattr(args, f"health_{k}") is not None for k in
                                   ("cmd", "interval", "timeout", "start_period", "start_interval", "retries")):
        raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
    if args.rm and args.restart and args.restart["Name"] != "no":
        raise InvalidArgument("conflicting options: --restart and --rm")
    for flag, number, lo, hi in (("--oom-score-adj", args.oom_score_adj, -1000, 1000),
                                 ("--memory-swappiness", args.memory_swappiness, -1, 100),
                                 ("--blkio-weight", args.blkio_weight, 0, 1000)):
        if number is not None and not lo <= number <= hi:
            raise InvalidArgument(f"invalid {flag} {number}: use a number from {lo} to {hi}")
    attach = {stream.lower() for stream in args.attach}
    if attach - {"stdin", "stdout", "stderr"}:
        wrong = ", ".join(repr(s) for s in sorted(attach - {"stdin", "stdout", "stderr"}))
        raise InvalidArgument(f"invalid --attach {wrong}: use stdin, stdout or stderr")
    detached = getattr(args, "detach", False)
    if detached and attach:
        raise InvalidArgument("conflicting options: -a and -d")
    if not detached and not attach:
        attach = {"stdout", "stderr"} | ({"stdin"} if args.interactive else set())

    exposed, bindings = sp.parse_publish(args.publish)
    for ports in args.expose:
        exposed.update(ports)
    binds, anonymous = [], {}
    for bind, path in args.volume:
        if bind:
            binds.append(bind)
        else:
            anonymous[path] = {}
    env = [line for path in args.env_file for line in sp.read_env_file(path)] + parse_env(args.env)
    health = _healthcheck(args)
    spec = ContainerSpec(
        image=args.image, name=args.name, platform=args.platform, pull=args.pull,
        cmd=list(args.command) or None,
        entrypoint=([args.entrypoint] if args.entrypoint else [""]) if args.entrypoint is not None else None,
        env=env or None, labels=sp.read_labels(args.label, args.label_file) or None,
        working_dir=args.workdir, user=args.user, hostname=args.hostname, domainname=args.domainname,
        tty=args.tty or None, open_stdin=args.interactive or None,
        stdin_once=(args.interactive and "stdin" in attach) or None,
        attach_stdin="stdin" in attach or None, attach_stdout="stdout" in attach or None,
        attach_stderr="stderr" in attach or None,
        exposed_ports=exposed or None, volumes=anonymous or None, healthcheck=health,
        stop_signal=args.stop_signal, stop_timeout=args.stop_timeout,
        binds=binds or None, mounts=args.mount or None,
        tmpfs=sp.parse_tmpfs(args.tmpfs) or None, port_bindings=bindings or None,
        publish_all_ports=args.publish_all or None,
        restart_policy=args.restart or {"Name": "no", "MaximumRetryCount": 0},
        auto_remove=args.rm or None, volume_driver=args.volume_driver, volumes_from=args.volumes_from or None,
        links=args.link or None,
        log_config={"Type": args.log_driver or "", "Config": sp.parse_map(args.log_opt, "--log-opt")}
        if args.log_driver or args.log_opt else None,
        cap_add=sp.parse_capabilities(args.cap_add) or None, cap_drop=sp.parse_capabilities(args.cap_drop) or None, cgroupns_mode=args.cgroupns,
        cgroup_parent=args.cgroup_parent, dns=args.dns or None, dns_options=args.dns_option or None,
        dns_search=args.dns_search or None, extra_hosts=args.add_host or None, group_add=args.group_add or None,
        ipc_mode=args.ipc, pid_mode=args.pid, uts_mode=args.uts, userns_mode=args.userns,
        privileged=args.privileged or None, readonly_rootfs=args.read_only or None,
        security_opt=sp.read_security_opts(args.security_opt, cwd) or None,
        storage_opt=sp.parse_map(args.storage_opt, "--storage-opt") or None,
        sysctls=sp.parse_map(args.sysctl, "--sysctl") or None, shm_size=args.shm_size, runtime=args.runtime,
        isolation=args.isolation, init=args.init or None,
        annotations=sp.parse_map(args.annotation, "--annotation") or None,
        cpu_shares=args.cpu_shares, nano_cpus=args.cpus, cpu_period=args.cpu_period, cpu_quota=args.cpu_quota,
        cpu_rt_period=args.cpu_rt_period, cpu_rt_runtime=args.cpu_rt_runtime, cpuset_cpus=args.cpuset_cpus,
        cpuset_mems=args.cpuset_mems, cpu_count=args.cpu_count, cpu_percent=args.cpu_percent,
        memory=args.memory, memory_reservation=args.memory_reservation, memory_swap=args.memory_swap,
        memory_swappiness=None if args.memory_swappiness in (None, -1) else args.memory_swappiness,
        kernel_memory=args.kernel_memory, oom_kill_disable=args.oom_kill_disable or None,
        oom_score_adj=args.oom_score_adj, pids_limit=args.pids_limit, ulimits=args.ulimit or None,
        blkio_weight=args.blkio_weight, blkio_weight_device=args.blkio_weight_device or None,
        blkio_device_read_bps=args.device_read_bps or None, blkio_device_write_bps=args.device_write_bps or None,
        blkio_device_read_iops=args.device_read_iops or None,
        blkio_device_write_iops=args.device_write_iops or None,
        io_maximum_iops=args.io_maxiops, io_maximum_bandwidth=args.io_maxbandwidth,
        devices=args.device or None, device_cgroup_rules=args.device_cgroup_rule or None,
        device_requests=[args.gpus] if args.gpus else None,
    )
    _networks(spec, args)
    return spec


def _older(version: str, than: str) -> bool:
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    return as_tuple(version) < as_tuple(than)


def _healthcheck(args) -> dict | None:
    if args.no_healthcheck:
        return {"Test": ["NONE"]}
    check = {"Test": ["CMD-SHELL", args.health_cmd] if args.health_cmd else None,
             "Interval": args.health_interval, "Timeout": args.health_timeout,
             "StartPeriod": args.health_start_period, "StartInterval": args.health_start_interval,
             "Retries": args.health_retries}
    for key, number in check.items():
        if key != "Test" and number is not None and number < 0:
            raise InvalidArgument(f"--health-{key.lower()} cannot be negative")
    check = {k: v for k, v in check.items() if v is not None}
    return check or None


def _network_option(text: str) -> tuple[str, Endpoint]:
    """``--network NAME`` or the long form ``name=NET,alias=A,ip=IP,ip6=IP,mac-address=M,
    link-local-ip=IP,driver-opt=K=V``."""
    if "=" not in text:
        return text, Endpoint()
    endpoint, name = Endpoint(), None
    for item in text.split(","):
        key, _, val = item.partition("=")
        if key == "name":
            name = val
        elif key == "alias":
            endpoint.aliases.append(val)
        elif key == "ip":
            endpoint.ipv4_address = sp.check_ip(val, "--network ip")
        elif key == "ip6":
            endpoint.ipv6_address = sp.check_ip(val, "--network ip6")
        elif key == "mac-address":
            endpoint.mac_address = val
        elif key == "link-local-ip":
            endpoint.link_local_ips.append(sp.check_ip(val, "--network link-local-ip"))
        elif key == "driver-opt":
            endpoint.driver_opts.update(sp.parse_map([val], "--network driver-opt"))
        else:
            raise InvalidArgument(f"invalid --network {text!r}: unknown option {key!r}")
    if not name:
        raise InvalidArgument(f"invalid --network {text!r}: say name=NETWORK")
    return name, endpoint


def _networks(spec: ContainerSpec, args) -> None:
    """``--network`` (once or more) with ``--network-alias``, ``--ip``, ``--ip6``, ``--link-local-ip``,
    ``--link`` and ``--mac-address``: the first network's endpoint takes them, as the CLI does."""
    networks = [_network_option(text) for text in args.network if text] or [("default", Endpoint())]
    first_name, first = networks[0]
    builtin = first_name in ("default", "bridge", "host", "none") or first_name.startswith("container:")
    first.aliases += args.network_alias
    if args.network_alias and builtin:
        raise InvalidArgument("network-scoped aliases are only supported for user-defined networks")
    first.ipv4_address = first.ipv4_address or args.ip
    first.ipv6_address = first.ipv6_address or args.ip6
    first.link_local_ips += args.link_local_ip
    if not builtin and args.link:
        first.links = list(args.link)
    spec.mac_address = args.mac_address
    if len(networks) > 1 and any(name in ("host", "none") or name.startswith("container:") for name, _ in networks):
        raise InvalidArgument("conflicting options: host, none or container: networking goes alone")
    spec.network_mode = first_name
    spec.endpoints = dict(networks)


def command_text(spec: ContainerSpec) -> str:
    return shlex.join(spec.cmd or [])
