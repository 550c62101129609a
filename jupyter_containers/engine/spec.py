"""One container spec: what ``docker run`` flags and compose services both produce.

``ContainerSpec`` has one typed field per option of the Engine API's container
create call, named after it in snake case; each field records where it goes
(``Config``, ``HostConfig``) and under which name, so the translation to the
API is one loop (``create_body``), not a second list of the options. Values are
already parsed (bytes, nanoseconds, API objects): the parsers that make them
from what users type are in ``spec_parse``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, fields
from typing import Any, Mapping


def _config(name: str, default: Any = None):
    return field(default=default, metadata={"section": "config", "api": name})


def _host(name: str, default: Any = None):
    return field(default=default, metadata={"section": "host", "api": name})


@dataclass
class Endpoint:
    """How the container joins one network (``--network`` with ``--ip``, ``--network-alias``, ...)."""

    aliases: list[str] = field(default_factory=list)
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    mac_address: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict:
        ipam = {k: v for k, v in (("IPv4Address", self.ipv4_address), ("IPv6Address", self.ipv6_address),
                                  ("LinkLocalIPs", self.link_local_ips)) if v}
        body = {"Aliases": self.aliases or None, "Links": self.links or None,
                "IPAMConfig": ipam or None, "DriverOpts": self.driver_opts or None}
        if self.mac_address:
            body["MacAddress"] = self.mac_address
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class ContainerSpec:
    """Everything a container is created with. ``None`` (or empty) means the engine's default."""

    image: str
    name: str | None = None
    platform: str | None = None
    pull: str = "missing"  # missing | always | never
    # -- Config ------------------------------------------------------------------
    cmd: list[str] | None = _config("Cmd")
    entrypoint: list[str] | None = _config("Entrypoint")
    env: list[str] | None = _config("Env")
    labels: dict[str, str] | None = _config("Labels")
    working_dir: str | None = _config("WorkingDir")
    user: str | None = _config("User")
    hostname: str | None = _config("Hostname")
    domainname: str | None = _config("Domainname")
    tty: bool | None = _config("Tty")
    open_stdin: bool | None = _config("OpenStdin")
    stdin_once: bool | None = _config("StdinOnce")
    attach_stdin: bool | None = _config("AttachStdin")
    attach_stdout: bool | None = _config("AttachStdout")
    attach_stderr: bool | None = _config("AttachStderr")
    exposed_ports: dict[str, dict] | None = _config("ExposedPorts")
    volumes: dict[str, dict] | None = _config("Volumes")  # anonymous volumes: {"/data": {}}
    healthcheck: dict | None = _config("Healthcheck")  # Test, Interval, Timeout, StartPeriod (ns), Retries
    stop_signal: str | None = _config("StopSignal")
    stop_timeout: int | None = _config("StopTimeout")
    mac_address: str | None = _config("MacAddress")  # API < 1.44; the endpoint's for newer engines
    # -- HostConfig --------------------------------------------------------------
    binds: list[str] | None = _host("Binds")
    mounts: list[dict] | None = _host("Mounts")
    tmpfs: dict[str, str] | None = _host("Tmpfs")
    port_bindings: dict[str, list[dict]] | None = _host("PortBindings")
    publish_all_ports: bool | None = _host("PublishAllPorts")
    network_mode: str | None = _host("NetworkMode")
    restart_policy: dict | None = _host("RestartPolicy")
    auto_remove: bool | None = _host("AutoRemove")
    volume_driver: str | None = _host("VolumeDriver")
    volumes_from: list[str] | None = _host("VolumesFrom")
    links: list[str] | None = _host("Links")
    log_config: dict | None = _host("LogConfig")
    cap_add: list[str] | None = _host("CapAdd")
    cap_drop: list[str] | None = _host("CapDrop")
    cgroupns_mode: str | None = _host("CgroupnsMode")
    cgroup_parent: str | None = _host("CgroupParent")
    dns: list[str] | None = _host("Dns")
    dns_options: list[str] | None = _host("DnsOptions")
    dns_search: list[str] | None = _host("DnsSearch")
    extra_hosts: list[str] | None = _host("ExtraHosts")
    group_add: list[str] | None = _host("GroupAdd")
    ipc_mode: str | None = _host("IpcMode")
    pid_mode: str | None = _host("PidMode")
    uts_mode: str | None = _host("UTSMode")
    userns_mode: str | None = _host("UsernsMode")
    privileged: bool | None = _host("Privileged")
    readonly_rootfs: bool | None = _host("ReadonlyRootfs")
    security_opt: list[str] | None = _host("SecurityOpt")
    storage_opt: dict[str, str] | None = _host("StorageOpt")
    sysctls: dict[str, str] | None = _host("Sysctls")
    shm_size: int | None = _host("ShmSize")
    runtime: str | None = _host("Runtime")
    isolation: str | None = _host("Isolation")
    init: bool | None = _host("Init")
    oom_score_adj: int | None = _host("OomScoreAdj")
    annotations: dict[str, str] | None = _host("Annotations")
    # resources
    cpu_shares: int | None = _host("CpuShares")
    nano_cpus: int | None = _host("NanoCpus")
    cpu_period: int | None = _host("CpuPeriod")
    cpu_quota: int | None = _host("CpuQuota")
    cpu_rt_period: int | None = _host("CpuRealtimePeriod")
    cpu_rt_runtime: int | None = _host("CpuRealtimeRuntime")
    cpuset_cpus: str | None = _host("CpusetCpus")
    cpuset_mems: str | None = _host("CpusetMems")
    cpu_count: int | None = _host("CpuCount")
    cpu_percent: int | None = _host("CpuPercent")
    memory: int | None = _host("Memory")
    memory_reservation: int | None = _host("MemoryReservation")
    memory_swap: int | None = _host("MemorySwap")
    memory_swappiness: int | None = _host("MemorySwappiness")
    kernel_memory: int | None = _host("KernelMemory")
    oom_kill_disable: bool | None = _host("OomKillDisable")
    pids_limit: int | None = _host("PidsLimit")
    ulimits: list[dict] | None = _host("Ulimits")
    blkio_weight: int | None = _host("BlkioWeight")
    blkio_weight_device: list[dict] | None = _host("BlkioWeightDevice")
    blkio_device_read_bps: list[dict] | None = _host("BlkioDeviceReadBps")
    blkio_device_write_bps: list[dict] | None = _host("BlkioDeviceWriteBps")
    blkio_device_read_iops: list[dict] | None = _host("BlkioDeviceReadIOps")
    blkio_device_write_iops: list[dict] | None = _host("BlkioDeviceWriteIOps")
    io_maximum_iops: int | None = _host("IOMaximumIOps")
    io_maximum_bandwidth: int | None = _host("IOMaximumBandwidth")
    devices: list[dict] | None = _host("Devices")
    device_cgroup_rules: list[str] | None = _host("DeviceCgroupRules")
    device_requests: list[dict] | None = _host("DeviceRequests")
    # -- networks, in order: the first is joined at create, the others before start ----------
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def create_body(self, api_version: str = "1.41") -> dict:
        """The body of ``POST /containers/create``: Config, with HostConfig and the first network's
        NetworkingConfig in it."""
        config: dict[str, Any] = {"Image": self.image}
        host: dict[str, Any] = {}
        for spec_field in fields(self):
            meta = spec_field.metadata
            value = getattr(self, spec_field.name)
            if "api" in meta and value is not None:
                (config if meta["section"] == "config" else host)[meta["api"]] = value
        if self.endpoints:
            first, endpoint = next(iter(self.endpoints.items()))
            host.setdefault("NetworkMode", first)
            if _newer(api_version, "1.44") and self.mac_address and not endpoint.mac_address:
                endpoint.mac_address, config["MacAddress"] = self.mac_address, None  # moved in API 1.44
            elif not _newer(api_version, "1.44") and endpoint.mac_address:
                config["MacAddress"] = endpoint.mac_address  # where engines before 1.44 take it
            settings = endpoint.to_api()
            if settings:
                config["NetworkingConfig"] = {"EndpointsConfig": {first: settings}}
        config["HostConfig"] = host
        return {k: v for k, v in config.items() if v is not None}

    def later_endpoints(self) -> list[tuple[str, Endpoint]]:
        """The networks joined after create (the engines before API 1.44 take one at create)."""
        return list(self.endpoints.items())[1:]

    def host_paths(self) -> list[str]:
        """Host paths this container would mount: bind sources of ``binds`` and ``mounts``."""
        paths = [m["Source"] for m in self.mounts or () if m.get("Type") == "bind" and m.get("Source")]
        for bind in self.binds or ():
            source = bind.split(":")[0]
            if source.startswith("/"):
                paths.append(source)
        return paths

    def networks(self) -> list[str]:
        """Every network mode or network the container would join."""
        return [n for n in (self.network_mode, *self.endpoints) if n]


def _newer(version: str, than: str) -> bool:
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    return as_tuple(version) >= as_tuple(than)


def spec_from_options(image: str, command=None, *, name=None, entrypoint=None, env=None, ports=None, volumes=None,
                      labels=None, workdir=None, user=None, restart=None, cpus=None, memory=None, network=None,
                      auto_remove=False, tty=False, stdin_open=False, hostname=None, privileged=False,
                      pull="missing", mounts=None, tmpfs=None, healthcheck=None, init=None, cap_add=None,
                      cap_drop=None, extra_hosts=None, ulimits=None, read_only=False, stop_signal=None,
                      stop_timeout=None, networks=None, expose=None) -> ContainerSpec:
    """The keyword form of ``Containers.create`` (Python callers, the REST API, compose) as a spec,
    through the same parsers as the docker CLI's flags."""
    from . import spec_parse as sp
    from .specs import InvalidArgument, parse_env

    if network and networks:
        raise InvalidArgument("give either network or networks, not both")
    if isinstance(ports, Mapping):  # docker-py's port_bindings: {"80/tcp": [(ip, port)] or port}
        exposed, bindings = {}, {}
        for key, values in ports.items():
            key = str(key) if "/" in str(key) else f"{key}/tcp"
            exposed[key] = {}
            for value in values if isinstance(values, list) else [values]:
                ip, port = value if isinstance(value, tuple) else ("", value)
                bindings.setdefault(key, []).append({"HostIp": ip or "", "HostPort": "" if port in (None, "") else
                                                     str(port)})
    else:
        exposed, bindings = sp.parse_publish(ports)
    exposed.update(sp.parse_expose(expose))
    binds, anonymous = [], {}
    for volume in volumes or ():
        bind, path = sp.parse_volume(volume)
        if bind:
            binds.append(bind)
        else:
            anonymous[path] = {}
    if isinstance(tmpfs, Mapping):
        tmpfs = dict(tmpfs)
    elif tmpfs:
        tmpfs = sp.parse_tmpfs(tmpfs)
    if isinstance(ulimits, Mapping):
        ulimits = [{"Name": k, "Soft": v[0], "Hard": v[1]} if isinstance(v, tuple) else
                   {"Name": k, "Soft": v, "Hard": v} for k, v in ulimits.items()]
    names = {"test": "Test", "interval": "Interval", "timeout": "Timeout", "retries": "Retries",
             "start_period": "StartPeriod", "start_interval": "StartInterval"}
    health = {names.get(k, k): v for k, v in (healthcheck or {}).items() if v is not None} or None
    endpoints = {n: Endpoint(aliases=list(a or [])) for n, a in (networks or {}).items()}
    split = lambda v: v if v is None or isinstance(v, (list, tuple)) else shlex.split(v)  # noqa: E731
    hosts = [f"{k}:{v}" for k, v in extra_hosts.items()] if isinstance(extra_hosts, Mapping) else extra_hosts
    return ContainerSpec(
        image=image, name=name, pull=pull, cmd=list(split(command)) if command is not None else None,
        entrypoint=list(split(entrypoint)) if entrypoint is not None else None, env=parse_env(env) or None,
        labels=sp.parse_map(labels, "label", require_value=False) or None, working_dir=workdir, user=user or None,
        hostname=hostname, tty=tty or None, open_stdin=stdin_open or None, exposed_ports=exposed or None,
        stdin_once=stdin_open or None, attach_stdin=stdin_open or None,  # as docker-py's create did
        volumes=anonymous or None, healthcheck=health, stop_signal=stop_signal, stop_timeout=stop_timeout,
        binds=binds or None, mounts=list(mounts) if mounts else None, tmpfs=tmpfs or None,
        port_bindings=bindings or None, network_mode=network or next(iter(endpoints), None),
        restart_policy=sp.parse_restart(restart) if restart else None, auto_remove=auto_remove or None,
        cap_add=list(cap_add) if cap_add else None, cap_drop=list(cap_drop) if cap_drop else None,
        extra_hosts=list(hosts) if hosts else None, privileged=privileged or None,
        readonly_rootfs=read_only or None, init=init,
        nano_cpus=sp.parse_cpus(cpus) if cpus else None,
        memory=sp.parse_size(memory, "memory") if memory not in (None, "") else None,
        ulimits=ulimits or None, endpoints=endpoints)
