"""A compose service as the ContainerSpec that ``docker run`` flags also make (engine/spec.py).

Docker Compose v2's semantics: names of other services (``links``, ``volumes_from``,
``network_mode: service:X``, ``ipc``/``pid: service:X``) become their first container,
``deploy.resources`` wins over the older ``cpus``/``mem_*`` keys, networks are joined in
``priority`` order. Pure: it reads the project, never the engine.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..engine import spec_parse as sp
from ..engine.spec import ContainerSpec, Endpoint
from .errors import ComposeFileError

if TYPE_CHECKING:
    from .models import Service
    from .project import Project

PULL = {"always": "always", "never": "never", "build": "never", "missing": "missing", "if_not_present": "missing",
        "refresh": "always", None: "missing"}


def service_spec(project: "Project", service: str, number: int, api_version: str = "1.41") -> ContainerSpec:
    svc = project.services[service]
    where = f"services.{service}"
    limits = svc.deploy.resources.limits if svc.deploy and svc.deploy.resources else None
    reserve = svc.deploy.resources.reservations if svc.deploy and svc.deploy.resources else None
    exposed, bindings = {}, {}
    for port in svc.ports:
        key = f"{port.target}/{port.protocol}"
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": port.host_ip or "", "HostPort": port.published or ""})
    exposed.update(sp.parse_expose(svc.expose))
    binds, mounts, anonymous = _mounts(project, svc, where, api_version)
    binds += [f"{source}:{target}:ro" for source, target in project.mounted_files(service)]
    labels = dict(sp.read_labels((), [project.path(f) for f in svc.label_file]))
    labels.update(project.container_labels(service, number))
    memory = limits.memory if limits and limits.memory else svc.mem_limit
    cpus = limits.cpus if limits and limits.cpus else svc.cpus
    requests = [_device_request(d) for d in [*svc.gpus, *(reserve.devices if reserve else [])]]
    if svc.healthcheck is not None and svc.healthcheck.start_interval and _older(api_version, "1.44"):
        raise ComposeFileError(f"{where}.healthcheck.start_interval: this engine (API {api_version}) cannot do it; "
                               "it needs API 1.44")
    if svc.annotations and _older(api_version, "1.43"):
        raise ComposeFileError(f"{where}.annotations: this engine (API {api_version}) cannot do it; it needs 1.43")
    for key in ("cpu_count", "cpu_percent", "credential_spec"):
        if getattr(svc, key, None):
            raise ComposeFileError(f"{where}.{key}: a Windows engine's option; this engine runs Linux containers")
    for ref, obj, _ in project._file_refs(service):
        if obj.environment is not None and obj.content is None:
            raise ComposeFileError(f"{ref.source}: its environment variable {obj.environment} is not set; "
                                   f"set it for service {service}")
    stop = svc.stop_grace_period
    spec = ContainerSpec(
        image=project.image(service), name=project.container_name(service, number), platform=svc.platform,
        pull=("missing" if svc.pull_refresh_after else PULL.get(svc.pull_policy, "missing"))  # (then periodic)
        if svc.build is None or svc.pull_policy != "build" else "never",
        cmd=svc.command, entrypoint=svc.entrypoint,
        env=[f"{k}={v}" for k, v in svc.environment.items() if v is not None] or None, labels=labels,
        working_dir=svc.working_dir, user=svc.user, hostname=svc.hostname, domainname=svc.domainname,
        tty=svc.tty, open_stdin=svc.stdin_open, exposed_ports=exposed or None, volumes=anonymous or None,
        healthcheck=_healthcheck(svc), stop_signal=svc.stop_signal,
        stop_timeout=math.ceil(stop) if stop is not None else None,
        binds=binds or None, mounts=mounts or None, tmpfs=sp.parse_tmpfs(svc.tmpfs) or None,
        port_bindings=bindings or None, restart_policy=_restart(svc), links=_links(project, svc) or None,
        volumes_from=[_volumes_from(project, v) for v in svc.volumes_from] or None,
        log_config={"Type": svc.logging.driver or "", "Config": {k: v for k, v in svc.logging.options.items()
                                                                 if v is not None}} if svc.logging else None,
        cap_add=svc.cap_add or None, cap_drop=svc.cap_drop or None, cgroupns_mode=svc.cgroup,
        cgroup_parent=svc.cgroup_parent, dns=svc.dns or None, dns_options=svc.dns_opt or None,
        dns_search=svc.dns_search or None, extra_hosts=svc.extra_hosts or None, group_add=svc.group_add or None,
        ipc_mode=_service_ref(project, svc.ipc), pid_mode=_service_ref(project, svc.pid), uts_mode=svc.uts,
        userns_mode=svc.userns_mode, privileged=svc.privileged, readonly_rootfs=svc.read_only,
        security_opt=svc.security_opt or None, storage_opt=svc.storage_opt or None,
        sysctls=svc.sysctls or None, shm_size=svc.shm_size, runtime=svc.runtime, isolation=svc.isolation,
        init=svc.init, oom_score_adj=svc.oom_score_adj, annotations=svc.annotations or None,
        cpu_shares=svc.cpu_shares, nano_cpus=sp.parse_cpus(cpus) if cpus else None, cpu_period=svc.cpu_period,
        cpu_quota=svc.cpu_quota, cpu_rt_period=svc.cpu_rt_period, cpu_rt_runtime=svc.cpu_rt_runtime,
        cpuset_cpus=svc.cpuset, cpu_count=svc.cpu_count, cpu_percent=svc.cpu_percent, memory=memory,
        memory_reservation=reserve.memory if reserve and reserve.memory else svc.mem_reservation,
        memory_swap=svc.memswap_limit, memory_swappiness=svc.mem_swappiness,
        oom_kill_disable=svc.oom_kill_disable,
        pids_limit=limits.pids if limits and limits.pids else svc.pids_limit,
        ulimits=[{"Name": k, "Soft": u.soft, "Hard": u.hard} for k, u in svc.ulimits.items()] or None,
        devices=[{"PathOnHost": d.source, "PathInContainer": d.target or d.source,
                  "CgroupPermissions": d.permissions} for d in svc.devices] or None,
        device_cgroup_rules=svc.device_cgroup_rules or None, device_requests=requests or None,
        mac_address=svc.mac_address)
    _blkio(spec, svc)
    _network(project, service, svc, spec)
    return spec


def _older(version: str, than: str) -> bool:
    return tuple(int(p) for p in version.split(".")) < tuple(int(p) for p in than.split("."))


def _mounts(project: "Project", svc: "Service", where: str, api_version: str):
    binds, mounts, anonymous = [], [], {}
    for i, m in enumerate(svc.volumes):
        if m.type == "bind":
            bind = m.bind
            if bind is None or bind.create_host_path and not bind.recursive:  # the -v form, as docker compose
                modes = ["ro" if m.read_only else "rw"] + [x for x in (bind and bind.propagation,
                                                                       bind and bind.selinux) if x]
                binds.append(f"{m.source}:{m.target}:{','.join(modes)}")
                continue
            mount = {"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
            options = {"Propagation": bind.propagation, "NonRecursive": bind.recursive == "disabled" or None}
            if bind.recursive in ("writable", "readonly"):
                raise ComposeFileError(f"{where}.volumes[{i}].bind.recursive: {bind.recursive!r} needs API 1.44; "
                                       f"this engine has {api_version}")
            if bind.selinux:
                raise ComposeFileError(f"{where}.volumes[{i}].bind.selinux: needs create_host_path (the -v form)")
            mount["BindOptions"] = {k: v for k, v in options.items() if v} or None
        elif m.type == "volume":
            if not m.source:
                if m.volume is None and not m.read_only:
                    anonymous[m.target] = {}
                    continue
            mount = {"Type": "volume", "Target": m.target, "ReadOnly": m.read_only,
                     "Source": project.volume_name(m.source) if m.source else ""}
            if m.volume is not None:
                if m.volume.subpath:
                    raise ComposeFileError(f"{where}.volumes[{i}].volume.subpath: needs API 1.45; this engine has "
                                           f"{api_version}")
                options = {"NoCopy": m.volume.nocopy or None, "Labels": m.volume.labels or None}
                mount["VolumeOptions"] = {k: v for k, v in options.items() if v} or None
        elif m.type == "image":
            if _older(api_version, "1.47"):
                raise ComposeFileError(f"{where}.volumes[{i}]: an image mount needs API 1.47; this engine has "
                                       f"{api_version}")
            mount = {"Type": "image", "Source": m.source, "Target": m.target, "ReadOnly": True,
                     "ImageOptions": {"Subpath": m.image["subpath"]} if m.image else None}
        elif m.type in ("npipe", "cluster"):
            raise ComposeFileError(f"{where}.volumes[{i}]: a mount of type {m.type} is "
                                   f"{'a Windows' if m.type == 'npipe' else 'a Swarm (CSI)'} feature")
        else:
            mount = {"Type": "tmpfs", "Target": m.target, "ReadOnly": m.read_only}
            if m.tmpfs is not None:
                options = {"SizeBytes": m.tmpfs.size, "Mode": m.tmpfs.mode}
                mount["TmpfsOptions"] = {k: v for k, v in options.items() if v is not None} or None
        if m.consistency:
            mount["Consistency"] = m.consistency
        mounts.append({k: v for k, v in mount.items() if v is not None})
    return binds, mounts, anonymous


def _healthcheck(svc: "Service") -> dict | None:
    h = svc.healthcheck
    if h is None:
        return None
    if h.disable:
        return {"Test": ["NONE"]}
    ns = lambda s: int(round(s * 1e9)) if s is not None else None  # noqa: E731
    check = {"Test": h.test, "Interval": ns(h.interval), "Timeout": ns(h.timeout), "StartPeriod": ns(h.start_period),
             "StartInterval": ns(h.start_interval), "Retries": h.retries}
    return {k: v for k, v in check.items() if v is not None}


def _restart(svc: "Service") -> dict | None:
    policy = svc.deploy.restart_policy if svc.deploy else None
    if policy is not None:  # deploy.restart_policy wins, as in docker compose
        name = {"none": "no", "on-failure": "on-failure", "any": "always"}[policy.condition]
        return {"Name": name, "MaximumRetryCount": policy.max_attempts or 0 if name == "on-failure" else 0}
    return sp.parse_restart(svc.restart) if svc.restart else None


def _device_request(device) -> dict:
    count = -1 if device.count == "all" or (device.count is None and not device.device_ids) else device.count
    return {"Driver": device.driver or "", "Count": count or 0, "DeviceIDs": device.device_ids,
            "Capabilities": [device.capabilities], "Options": device.options}


def _blkio(spec: ContainerSpec, svc: "Service") -> None:
    blkio = svc.blkio_config
    if blkio is None:
        return
    rates = lambda items: [{"Path": d.path, "Rate": d.rate} for d in items] or None  # noqa: E731
    spec.blkio_weight = blkio.weight
    spec.blkio_weight_device = [{"Path": d.path, "Weight": d.weight} for d in blkio.weight_device] or None
    spec.blkio_device_read_bps, spec.blkio_device_write_bps = rates(blkio.device_read_bps), rates(
        blkio.device_write_bps)
    spec.blkio_device_read_iops, spec.blkio_device_write_iops = rates(blkio.device_read_iops), rates(
        blkio.device_write_iops)


def _service_ref(project: "Project", value: str | None) -> str | None:
    """``service:db`` -> ``container:PROJECT-db-1``; anything else as it is."""
    if value and value.startswith("service:"):
        return "container:" + project.container_name(value.removeprefix("service:"), 1)
    return value


def _links(project: "Project", svc: "Service") -> list[str]:
    """``db:database`` -> the container of db as ``database``, ``db-1`` and ``PROJECT-db-1``, as docker
    compose links them."""
    out = []
    for link in svc.links:
        name, _, alias = link.partition(":")
        container = project.container_name(name, 1)
        out += [f"{container}:{alias or name}", f"{container}:{name}-1", f"{container}:{project.name}-{name}-1"]
    for link in svc.external_links:
        name, _, alias = link.partition(":")
        out.append(f"{name}:{alias or name}")
    return out


def _volumes_from(project: "Project", value: str) -> str:
    if value.startswith("container:"):
        return value.removeprefix("container:")
    name, colon, mode = value.partition(":")
    return project.container_name(name, 1) + (colon + mode)


def _network(project: "Project", service: str, svc: "Service", spec: ContainerSpec) -> None:
    if svc.network_mode is not None:
        spec.network_mode = _service_ref(project, svc.network_mode)
        return
    keys = svc.networks or {"default": None}
    ordered = sorted(keys.items(), key=lambda item: -(item[1].priority if item[1] else 0))
    for key, options in ordered:
        endpoint = Endpoint(aliases=[service], links=list(spec.links or []))
        if options is not None:
            endpoint.aliases += options.aliases
            endpoint.ipv4_address, endpoint.ipv6_address = options.ipv4_address, options.ipv6_address
            endpoint.link_local_ips = list(options.link_local_ips)
            endpoint.mac_address, endpoint.driver_opts = options.mac_address, dict(options.driver_opts)
            for unsupported in ("gw_priority", "interface_name"):
                if getattr(options, unsupported):
                    raise ComposeFileError(f"services.{service}.networks.{key}.{unsupported}: this engine "
                                           "(API 1.41) cannot do it")
        spec.endpoints[project.network_name(key)] = endpoint
    spec.network_mode = next(iter(spec.endpoints))
