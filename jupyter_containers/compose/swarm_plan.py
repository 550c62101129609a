"""A compose file as a Swarm stack's plan, the way ``docker stack deploy`` reads one (pure).

``stack_plan(project)``: every service as an Engine API ``ServiceSpec`` named
``STACK_SERVICE``, the overlay networks, configs and secrets to create, and one warning
line per key a swarm cannot honour; a key ``docker stack deploy`` refuses is an error
before anything is created. ``comparable(spec)`` strips what the engine fills in, so a
second deploy updates only the services whose spec changed. ``swarm_stack.py`` carries
a plan out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from ..engine import spec_parse as sp
from ..engine.records import MANAGED_LABEL
from ..engine.swarm import NAMESPACE_LABEL
from .errors import ComposeFileError
from .keys import Deploy
from .models import NetworkSpec, Service, parse_duration
from .project import Project, check_name

if TYPE_CHECKING:

    pass

IMAGE_LABEL = "com.docker.stack.image"  # the image as the file names it (docker stack deploy's label)

# service keys a swarm service has no field for: one warning line each, and the key is left out
_NO_FIELD = "not a swarm service's option"
IGNORED = {
    "build": "a swarm runs images; build and push the image first",
    "depends_on": "a swarm starts services in no order",
    "container_name": "a swarm names the containers of a service itself",
    "expose": "services on one network reach each other on any port",
    "links": "services reach each other by name on their networks",
    "external_links": "services reach each other by name on their networks",
    "network_mode": "a swarm service joins networks",
    **dict.fromkeys(("ipc", "pid", "uts", "userns_mode", "privileged", "security_opt"), _NO_FIELD),
    "shm_size": f"{_NO_FIELD}; mount a tmpfs volume at /dev/shm",
    **dict.fromkeys(("cgroup", "cgroup_parent", "devices", "device_cgroup_rules", "gpus", "domainname"), _NO_FIELD),
    "mac_address": "a swarm assigns addresses", "tmpfs": "use a volume of type tmpfs",
    **dict.fromkeys(("pull_policy", "pull_refresh_after"), "each node pulls the image when a task needs it"),
    **dict.fromkeys(("annotations", "blkio_config", "cpu_period", "cpu_rt_period", "cpu_rt_runtime",
                     "mem_swappiness", "oom_kill_disable", "storage_opt", "runtime"), _NO_FIELD),
    "platform": "use deploy.placement.constraints (node.platform.os, node.platform.arch)",
    **dict.fromkeys(("post_start", "pre_stop"), "lifecycle hooks are docker compose's"),
    "develop": "watch is docker compose's",
}
# keys docker stack deploy refuses ("Compose file contains unsupported options"): an error here too
FORBIDDEN = {
    "volumes_from": "to share a volume between services, declare it under the top-level volumes and mount it "
                    "in each service",
    **dict.fromkeys(("cpu_quota", "cpu_shares", "cpuset", "mem_limit", "memswap_limit"),
                    "set resource limits with deploy.resources"),
}
UPDATE_KEYS = {"parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"}
PLACEMENT_KEYS = {"constraints", "preferences", "max_replicas_per_node"}


@dataclass
class StackPlan:
    """What a stack is made of, before anything is created."""

    name: str
    services: dict[str, dict]  # compose service -> ServiceSpec (config and secret ids filled in at deploy)
    networks: dict[str, dict]  # network name -> options of Networks.create
    external_networks: list[str]
    configs: dict[str, tuple[bytes, dict]]  # name -> (data, labels)
    secrets: dict[str, tuple[bytes, dict]]
    warnings: list[str] = field(default_factory=list)


# -- the pure part ----------------------------------------------------------------------------
def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1e9))


def _duration(value, where: str) -> int | None:
    try:
        return _ns(parse_duration(value))
    except ValueError as exc:
        raise ComposeFileError(f"{where}: {exc}") from None


def _clean(value):
    """Without None values, recursively (what the docker CLI's ``omitempty`` leaves out)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _is_set(svc: Service, key: str) -> bool:
    value = getattr(svc, key)
    return value not in (None, [], {}) and value != Service.model_fields[key].get_default(call_default_factory=True)


def _older(version: str, than: str) -> bool:
    return tuple(int(p) for p in version.split(".")) < tuple(int(p) for p in than.split("."))


def service_warnings(project: Project, service: str, api_version: str = "1.41") -> list[str]:
    """One line per key of ``service`` a swarm cannot honour (``docker stack deploy``'s
    "Ignoring unsupported options"); ``ComposeFileError`` for a key it refuses."""
    svc = project.services[service]
    where = f"services.{service}"
    for key, why in FORBIDDEN.items():
        if _is_set(svc, key):
            raise ComposeFileError(f"{where}.{key}: unsupported by a swarm stack: {why}")
    if not svc.image:
        raise ComposeFileError(f"{where}: a swarm service needs an image (build it and push it to a registry "
                               "every node can reach)")
    out = [f"Ignoring unsupported options: {key} ({where}: {why})" for key, why in IGNORED.items()
           if _is_set(svc, key)]
    deploy = svc.deploy
    if svc.restart and deploy is not None and deploy.restart_policy is not None:
        out.append(f"Ignoring unsupported options: restart ({where}: deploy.restart_policy wins)")
    if deploy is not None and deploy.resources and deploy.resources.reservations and \
            deploy.resources.reservations.devices:
        out.append(f"Ignoring unsupported options: deploy.resources.reservations.devices ({where}: not a swarm "
                   "service's option)")
    if svc.oom_score_adj is not None and _older(api_version, "1.46"):
        out.append(f"Ignoring unsupported options: oom_score_adj ({where}: this engine (API {api_version}) "
                   "cannot set it on a service)")
    for key, options in svc.networks.items():
        if options is not None and (options.ipv4_address or options.ipv6_address or options.link_local_ips
                                    or options.mac_address):
            out.append(f"Ignoring unsupported options: networks.{key} addresses ({where}: a swarm assigns them)")
    return out


def _network_target(project: Project, key: str) -> str:
    spec = project.model.networks.get(key)
    if spec is not None and spec.external:
        return spec.name or key
    return project.network_name(key)


def _volume_source(project: Project, key: str) -> str:
    spec = project.model.volumes.get(key)
    if spec is not None and spec.external:
        return spec.name or key
    return project.volume_name(key)


def _mounts(project: Project, svc: Service, where: str, labels: Mapping[str, str]) -> list[dict]:
    out = []
    for i, m in enumerate(svc.volumes):
        here = f"{where}.volumes[{i}]"
        mount = {"Type": m.type, "Target": m.target, "ReadOnly": m.read_only or None, "Consistency": m.consistency}
        if m.type == "volume":
            if m.volume is not None and m.volume.subpath:
                raise ComposeFileError(f"{here}.volume.subpath: not for a swarm service on this engine")
            if m.source:
                spec = project.model.volumes.get(m.source)
                mount["Source"] = _volume_source(project, m.source)
                options: dict = {"NoCopy": (m.volume.nocopy or None) if m.volume else None}
                if spec is None or not spec.external:
                    options["Labels"] = {**labels, **(spec.labels if spec else {}),
                                         **(m.volume.labels if m.volume else {}), NAMESPACE_LABEL: project.name}
                    if spec is not None and (spec.driver or spec.driver_opts):
                        options["DriverConfig"] = {"Name": spec.driver or "", "Options": spec.driver_opts or None}
                mount["VolumeOptions"] = options
            elif m.volume is not None and m.volume.nocopy:
                mount["VolumeOptions"] = {"NoCopy": True}
        elif m.type == "bind":
            mount["Source"] = m.source
            if m.bind is not None and m.bind.propagation:
                mount["BindOptions"] = {"Propagation": m.bind.propagation}
        elif m.type == "tmpfs":
            if m.tmpfs is not None:
                mount["TmpfsOptions"] = {"SizeBytes": m.tmpfs.size, "Mode": m.tmpfs.mode}
        else:
            raise ComposeFileError(f"{here}: a mount of type {m.type} is not for a swarm service here")
        out.append(mount)
    return out


def _networks(project: Project, service: str, svc: Service) -> list[dict]:
    out = []
    for key, options in (svc.networks or {"default": None}).items():
        target = _network_target(project, key)
        aliases = list(options.aliases) if options is not None else []
        if target not in ("bridge", "host", "none"):  # only user-defined networks take aliases
            aliases.append(service)
        out.append({"Target": target, "Aliases": aliases or None,
                    "DriverOpts": (options.driver_opts or None) if options is not None else None})
    return sorted(out, key=lambda n: n["Target"])


def _ports(svc: Service, where: str) -> list[dict]:
    out = []
    for i, port in enumerate(svc.ports):
        if port.host_ip:
            raise ComposeFileError(f"{where}.ports[{i}]: a swarm publishes a port on every interface of every "
                                   f"node; it cannot publish on {port.host_ip} only (leave the address out)")
        if port.published and not port.published.isdigit():
            raise ComposeFileError(f"{where}.ports[{i}]: a swarm publishes one port per target, not the range "
                                   f"{port.published}")
        out.append({"Protocol": port.protocol, "TargetPort": port.target, "Name": port.name,
                    "PublishedPort": int(port.published) if port.published else None, "PublishMode": port.mode})
    return sorted(out, key=lambda p: (p["PublishedPort"] or 0, p["TargetPort"], p["Protocol"]))


def _mode(svc: Service, deploy: Deploy, where: str) -> dict:
    mode = deploy.mode or "replicated"
    if mode == "global":
        if deploy.replicas is not None:
            raise ComposeFileError(f"{where}.deploy.replicas: replicas can only be used with replicated mode")
        return {"Global": {}}
    if mode != "replicated":
        raise ComposeFileError(f"{where}.deploy.mode: unknown mode {mode!r}: use replicated or global")
    return {"Replicated": {"Replicas": svc.replicas}}


def _update_config(value: dict | None, where: str, rollback: bool = False) -> dict | None:
    if value is None:
        return None
    unknown = sorted(set(value) - UPDATE_KEYS)
    if unknown:
        raise ComposeFileError(f"{where}: unknown key {unknown[0]!r} (use {', '.join(sorted(UPDATE_KEYS))})")
    actions = ("continue", "pause") if rollback else ("continue", "rollback", "pause")
    action, order = value.get("failure_action"), value.get("order")
    if action is not None and action not in actions:
        raise ComposeFileError(f"{where}.failure_action: {action!r} is not one of {', '.join(actions)}")
    if order is not None and order not in ("stop-first", "start-first"):
        raise ComposeFileError(f"{where}.order: {order!r} is not stop-first or start-first")
    try:
        parallelism = int(value.get("parallelism", 1))
        ratio = float(value["max_failure_ratio"]) if value.get("max_failure_ratio") is not None else None
    except (TypeError, ValueError):
        raise ComposeFileError(f"{where}: parallelism is a whole number and max_failure_ratio a number") from None
    return {"Parallelism": parallelism, "Delay": _duration(value.get("delay"), f"{where}.delay"),
            "FailureAction": action, "Monitor": _duration(value.get("monitor"), f"{where}.monitor"),
            "MaxFailureRatio": ratio, "Order": order}


def _placement(value: dict | None, where: str) -> dict | None:
    if not value:
        return None
    unknown = sorted(set(value) - PLACEMENT_KEYS)
    if unknown:
        raise ComposeFileError(f"{where}: unknown key {unknown[0]!r} (use {', '.join(sorted(PLACEMENT_KEYS))})")
    preferences = []
    for i, pref in enumerate(value.get("preferences") or []):
        if not isinstance(pref, dict) or set(pref) != {"spread"}:
            raise ComposeFileError(f"{where}.preferences[{i}]: a preference is {{spread: node.labels.KEY}}")
        preferences.append({"Spread": {"SpreadDescriptor": str(pref["spread"])}})
    constraints = value.get("constraints") or []
    if not isinstance(constraints, list):
        raise ComposeFileError(f"{where}.constraints: a list of expressions, e.g. [node.role == manager]")
    return {"Constraints": [str(c) for c in constraints] or None, "Preferences": preferences or None,
            "MaxReplicas": value.get("max_replicas_per_node")}


def _restart_policy(svc: Service, deploy: Deploy, where: str) -> dict | None:
    policy = deploy.restart_policy
    if policy is not None:
        return {"Condition": policy.condition, "MaxAttempts": policy.max_attempts,
                "Delay": _duration(policy.delay, f"{where}.deploy.restart_policy.delay"),
                "Window": _duration(policy.window, f"{where}.deploy.restart_policy.window")}
    if not svc.restart or svc.restart == "no":
        return None
    name, _, count = svc.restart.partition(":")  # as docker stack deploy reads the older key
    return {"Condition": "on-failure" if name == "on-failure" else "any",
            "MaxAttempts": int(count) if count and int(count) > 0 else None}


def _resources(svc: Service, deploy: Deploy, spec) -> dict:
    reserve = deploy.resources.reservations if deploy.resources else None
    generic = []
    for item in (reserve.generic_resources if reserve else []):
        for key, api in (("discrete_resource_spec", "DiscreteResourceSpec"), ("named_resource_spec",
                                                                               "NamedResourceSpec")):
            if key in item:
                generic.append({api: {k.capitalize(): v for k, v in item[key].items()}})
    return {"Limits": {"NanoCPUs": spec.nano_cpus, "MemoryBytes": spec.memory, "Pids": spec.pids_limit},
            "Reservations": {"NanoCPUs": sp.parse_cpus(reserve.cpus) if reserve and reserve.cpus else None,
                             "MemoryBytes": spec.memory_reservation, "GenericResources": generic or None}}


def _file_refs(project: Project, svc: Service, kind: str) -> list[dict]:
    out = []
    for ref in getattr(svc, kind):
        obj = getattr(project.model, kind)[ref.source]
        file = {"Name": ref.target or ref.source, "UID": ref.uid or "0", "GID": ref.gid or "0",
                "Mode": ref.mode if ref.mode is not None else 0o444}
        name = obj.name or f"{project.name}_{ref.source}"
        out.append({"File": file, ("SecretName" if kind == "secrets" else "ConfigName"): name})
    return sorted(out, key=lambda r: r.get("SecretName") or r.get("ConfigName"))


def service_spec(project: Project, service: str, api_version: str = "1.41",
                 labels: Mapping[str, str] | None = None) -> dict:
    """The ``ServiceSpec`` of ``service`` (config and secret references by name): the container part
    from the same ContainerSpec ``docker run`` flags and compose containers use, the rest from ``deploy``."""
    svc = project.services[service]
    where = f"services.{service}"
    deploy = svc.deploy or Deploy()
    spec = project.create_spec(service, 1, api_version)
    namespace = {NAMESPACE_LABEL: project.name}
    container_labels = {k: v for k, v in (spec.labels or {}).items() if not k.startswith("com.docker.compose.")}
    dns = {"Nameservers": spec.dns, "Search": spec.dns_search, "Options": spec.dns_options}
    container = {
        "Image": spec.image, "Command": spec.entrypoint, "Args": spec.cmd, "Hostname": spec.hostname,
        "Env": sorted(spec.env) if spec.env else None, "Labels": {**container_labels, **namespace},
        "Dir": spec.working_dir, "User": spec.user, "Groups": spec.group_add,
        "Hosts": [f"{ip} {host}" for host, _, ip in (h.partition(":") for h in spec.extra_hosts or ())] or None,
        "DNSConfig": dns if any(dns.values()) else None, "Healthcheck": spec.healthcheck,
        "StopSignal": spec.stop_signal, "StopGracePeriod": _ns(svc.stop_grace_period), "TTY": spec.tty,
        "OpenStdin": spec.open_stdin, "ReadOnly": spec.readonly_rootfs, "Init": spec.init, "Sysctls": spec.sysctls,
        "CapabilityAdd": spec.cap_add, "CapabilityDrop": spec.cap_drop, "Isolation": spec.isolation,
        "Ulimits": sorted(spec.ulimits, key=lambda u: u["Name"]) if spec.ulimits else None,
        "Mounts": _mounts(project, svc, where, labels or {}) or None,
        "Configs": _file_refs(project, svc, "configs") or None, "Secrets": _file_refs(project, svc, "secrets") or None,
    }
    if svc.oom_score_adj is not None and not _older(api_version, "1.46"):
        container["OomScoreAdj"] = svc.oom_score_adj
    log = spec.log_config
    template = {"ContainerSpec": container, "Resources": _resources(svc, deploy, spec),
                "RestartPolicy": _restart_policy(svc, deploy, where),
                "Placement": _placement(deploy.placement, f"{where}.deploy.placement"),
                "Networks": _networks(project, service, svc),
                "LogDriver": {"Name": log["Type"], "Options": log["Config"] or None} if log else None}
    endpoint_mode = deploy.endpoint_mode
    if endpoint_mode is not None and endpoint_mode not in ("vip", "dnsrr"):
        raise ComposeFileError(f"{where}.deploy.endpoint_mode: {endpoint_mode!r} is not vip or dnsrr")
    ports = _ports(svc, where)
    if endpoint_mode == "dnsrr" and any(p["PublishMode"] == "ingress" for p in ports):
        raise ComposeFileError(f"{where}.ports: endpoint_mode dnsrr cannot publish ports through the routing "
                               "mesh; use mode: host")
    body = {"Name": f"{project.name}_{service}",
            "Labels": {**(labels or {}), **{k: v or "" for k, v in deploy.labels.items()}, **namespace,
                       IMAGE_LABEL: svc.image},
            "TaskTemplate": template, "Mode": _mode(svc, deploy, where),
            "UpdateConfig": _update_config(deploy.update_config, f"{where}.deploy.update_config"),
            "RollbackConfig": _update_config(deploy.rollback_config, f"{where}.deploy.rollback_config", True),
            "EndpointSpec": {"Mode": endpoint_mode, "Ports": ports or None}}
    return _clean(body)


def _file_objects(project: Project, kind: str) -> dict[str, tuple[bytes, dict]]:
    out = {}
    for key, obj in getattr(project.model, kind).items():
        if obj.file:
            try:
                data = Path(obj.file).read_bytes()
            except OSError as exc:
                raise ComposeFileError(f"{kind}.{key}: cannot read {obj.file}: {exc.strerror or exc}") from None
        elif obj.content is not None:
            data = obj.content.encode()
        else:
            raise ComposeFileError(f"{kind}.{key}: its environment variable {obj.environment} is not set")
        out[obj.name or f"{project.name}_{key}"] = (data, {**obj.labels, NAMESPACE_LABEL: project.name})
    return out


def _ipam(ipam) -> dict | None:
    if ipam is None:
        return None
    pools = [_clean({"Subnet": p.subnet, "IPRange": p.ip_range, "Gateway": p.gateway,
                     "AuxiliaryAddresses": p.aux_addresses or None}) for p in ipam.config]
    return _clean({"Driver": ipam.driver, "Config": pools or None, "Options": ipam.options or None})


def stack_plan(project: Project, api_version: str = "1.41", labels: Mapping[str, str] | None = None) -> StackPlan:
    """What ``docker stack deploy`` would make of ``project`` (its name is the stack's); ``labels``
    go on the services and their volumes too. ``ComposeFileError`` before anything is made."""
    check_name(project.name)
    warnings = [w for w in project.warnings if "Swarm" not in w]  # those say "ignored here": not in a swarm
    services = {}
    for service in project.services:
        warnings += service_warnings(project, service, api_version)
        services[service] = service_spec(project, service, api_version, labels)
    networks, external = {}, []
    for key in project.used_networks():
        spec = project.model.networks.get(key)
        if spec is not None and spec.external:
            external.append(spec.name or key)
            continue
        spec = spec or NetworkSpec()
        networks[project.network_name(key)] = dict(
            driver=spec.driver or "overlay", internal=spec.internal, attachable=spec.attachable,
            labels={**spec.labels, NAMESPACE_LABEL: project.name}, options=spec.driver_opts or None,
            ipam=_ipam(spec.ipam), enable_ipv6=spec.enable_ipv6)
    return StackPlan(project.name, services, networks, sorted(external), _file_objects(project, "configs"),
                     _file_objects(project, "secrets"), warnings)


# -- comparing a wanted spec with what the engine keeps ------------------------------------------
_ENGINE_DEFAULTS = (  # (path, value) the engine fills in when a spec leaves them out
    (("TaskTemplate", "ContainerSpec", "Isolation"), "default"),
    (("TaskTemplate", "Runtime"), "container"),
    (("EndpointSpec", "Mode"), "vip"),
    (("UpdateConfig", "FailureAction"), "pause"),
    (("UpdateConfig", "Order"), "stop-first"),
    (("RollbackConfig", "FailureAction"), "pause"),
    (("RollbackConfig", "Order"), "stop-first"),
)


OWN_LABELS = MANAGED_LABEL.rpartition(".")[0] + "."  # what an Engine object labels its objects with


def _pruned(value):
    if isinstance(value, dict):
        value = {k: _pruned(v) for k, v in value.items() if not str(k).startswith(OWN_LABELS)}
        return {k: v for k, v in value.items() if v not in (None, "", [], {}, 0, False)}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def comparable(spec: Mapping, network_names: Mapping[str, str] | None = None) -> dict:
    """A ``ServiceSpec`` without what the engine adds by itself (defaults, empty values, the
    ForceUpdate counter), without the labels an ``Engine`` object adds (which kernel deployed it
    changes nothing) and with network ids as names: two specs equal here make the same tasks."""
    spec = copy.deepcopy(dict(spec))
    template = spec.get("TaskTemplate") or {}
    template.pop("ForceUpdate", None)
    for net in template.get("Networks") or ():
        net["Target"] = (network_names or {}).get(net.get("Target"), net.get("Target"))
    for path, default in _ENGINE_DEFAULTS:
        where = spec
        for key in path[:-1]:
            where = where.get(key) or {}
        if where.get(path[-1]) == default:
            where.pop(path[-1])
    return _pruned(spec)


