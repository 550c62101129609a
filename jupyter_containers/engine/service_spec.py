"""The docker CLI's ``docker service create`` / ``update`` flags as an Engine API ``ServiceSpec``.

Pure. ``create_spec(flags)`` and ``update_spec(current, flags)`` take a mapping of flag values
named as the flags are (``replicas``, ``update_delay``, ``env_add``; ``-`` as ``_``), already
typed as the parsers here and in ``spec_parse`` make them: durations in ns, sizes in bytes, CPUs
in nano CPUs, ports as lists of PortConfig, networks, mounts and placement preferences as the
API's objects. The spec is the one the CLI sends for the same words: ``Init`` and the endpoint
mode always; update, rollback and restart settings only when one of their flags is given, then
swarmkit's defaults for the rest of the group (the CLI's ``updateConfigFromDefaults``); what is
left out the engine fills in from the same defaults (``docker service inspect`` shows them, as it
asks for ``insertDefaults``). Every refusal is an ``InvalidArgument`` naming the flag, before
anything reaches the engine.
"""

from __future__ import annotations

import copy
import csv
import shlex
from typing import Any, Iterable, Mapping

from . import spec_parse as sp
from .errors import InvalidArgument
from .specs import check_reference, parse_env

SECOND = 10**9
UPDATE_DEFAULTS = {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5 * SECOND, "MaxFailureRatio": 0,
                   "Order": "stop-first"}  # swarmkit's defaults, as the CLI writes them into a spec
RESTART_DEFAULTS = {"Condition": "any", "Delay": 5 * SECOND, "MaxAttempts": 0}

MODES = ("replicated", "global")
ENDPOINT_MODES = ("vip", "dnsrr")
RESTART_CONDITIONS = ("none", "on-failure", "any")
ORDERS = ("start-first", "stop-first")
FAILURE_ACTIONS = {"update": ("pause", "continue", "rollback"), "rollback": ("pause", "continue")}

# flag -> where its value goes
_UPDATE_FIELDS = {"parallelism": "Parallelism", "delay": "Delay", "failure_action": "FailureAction",
                  "monitor": "Monitor", "max_failure_ratio": "MaxFailureRatio", "order": "Order"}
_RESTART_FIELDS = {"restart_condition": "Condition", "restart_delay": "Delay",
                   "restart_max_attempts": "MaxAttempts", "restart_window": "Window"}
_RESOURCE_FIELDS = {"limit_cpu": ("Limits", "NanoCPUs"), "limit_memory": ("Limits", "MemoryBytes"),
                    "limit_pids": ("Limits", "Pids"), "reserve_cpu": ("Reservations", "NanoCPUs"),
                    "reserve_memory": ("Reservations", "MemoryBytes")}
_CONTAINER_FIELDS = {"workdir": "Dir", "user": "User", "hostname": "Hostname", "stop_signal": "StopSignal",
                     "stop_grace_period": "StopGracePeriod", "init": "Init", "tty": "TTY", "read_only": "ReadOnly"}
_DURATIONS = ("update_delay", "update_monitor", "rollback_delay", "rollback_monitor", "restart_delay",
              "restart_window", "stop_grace_period", "health_interval", "health_timeout", "health_start_period")
_COUNTS = ("replicas", "replicas_max_per_node", "update_parallelism", "rollback_parallelism",
           "restart_max_attempts", "limit_pids", "health_retries")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


# -- values only services have --------------------------------------------------------------------
def parse_port(text: str) -> list[dict]:
    """``-p``: ``8080:80``, ``80``, ``8080-8081:80-81/udp`` (swarm's routing mesh, ``ingress``), or the long
    form ``published=8080,target=80,protocol=udp,mode=host`` -> PortConfigs. A service publishes on every
    interface of every node: an address in the short form is refused rather than ignored as the CLI does."""
    text = str(text).strip()
    if "=" in text:
        return [_long_port(text)]
    exposed, bindings = sp.parse_publish([text])
    ports = []
    for key in exposed:
        target, _, protocol = key.partition("/")
        for binding in bindings.get(key) or ():
            if binding.get("HostIp"):
                raise InvalidArgument(f"invalid port spec {text!r}: a service publishes on every interface of every "
                                      "node (swarm's routing mesh); give no address, or use mode=host")
            first, _, last = (binding.get("HostPort") or "0").partition("-")
            for published in range(int(first), int(last or first) + 1):
                ports.append({"Protocol": protocol, "TargetPort": int(target), "PublishedPort": published,
                              "PublishMode": "ingress"})
    return ports


def _long_port(text: str) -> dict:
    port: dict[str, Any] = {"Protocol": "tcp", "PublishMode": "ingress"}
    for item in _csv(text, "port spec"):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq:
            raise InvalidArgument(f"invalid port spec {text!r}: {item!r} is not KEY=VALUE")
        if key in ("target", "published"):
            if not value.isdigit() or not 0 <= int(value) <= 65535 or (key == "target" and int(value) == 0):
                raise InvalidArgument(f"invalid port spec {text!r}: {key} is a port number, not {value!r}")
            port["TargetPort" if key == "target" else "PublishedPort"] = int(value)
        elif key == "protocol":
            if value not in ("tcp", "udp", "sctp"):
                raise InvalidArgument(f"invalid port spec {text!r}: the protocol is tcp, udp or sctp")
            port["Protocol"] = value
        elif key == "mode":
            if value not in ("ingress", "host"):
                raise InvalidArgument(f"invalid port spec {text!r}: the mode is ingress or host")
            port["PublishMode"] = value
        else:
            raise InvalidArgument(f"invalid port spec {text!r}: unknown field {key!r} (target, published, "
                                  "protocol, mode)")
    if "TargetPort" not in port:
        raise InvalidArgument(f"invalid port spec {text!r}: target is required")
    return {"Protocol": port["Protocol"], "TargetPort": port["TargetPort"],
            **({"PublishedPort": port["PublishedPort"]} if "PublishedPort" in port else {}),
            "PublishMode": port["PublishMode"]}


def parse_network(text: str) -> dict:
    """``--network NAME`` or ``name=NET,alias=A,driver-opt=K=V`` -> a NetworkAttachmentConfig."""
    text = str(text)
    if "=" not in text:
        if not text.strip():
            raise InvalidArgument("invalid --network '': name a network")
        return {"Target": text}
    network: dict[str, Any] = {}
    for item in _csv(text, "--network"):
        key, _, value = item.partition("=")
        if key == "name":
            network["Target"] = value
        elif key == "alias":
            network.setdefault("Aliases", []).append(value)
        elif key == "driver-opt":
            network.setdefault("DriverOpts", {}).update(sp.parse_map([value], "--network driver-opt"))
        else:
            raise InvalidArgument(f"invalid --network {text!r}: unknown option {key!r} (name, alias, driver-opt)")
    if not network.get("Target"):
        raise InvalidArgument(f"invalid --network {text!r}: say name=NETWORK")
    return {"Target": network.pop("Target"), **network}


def parse_placement_pref(text: str) -> dict:
    """``--placement-pref spread=node.labels.zone`` -> a placement preference."""
    strategy, eq, descriptor = str(text).partition("=")
    if not eq or not descriptor:
        raise InvalidArgument(f"invalid --placement-pref {text!r}: use spread=node.labels.NAME")
    if strategy.strip().lower() != "spread":
        raise InvalidArgument(f"invalid --placement-pref {text!r}: only spread is supported")
    return {"Spread": {"SpreadDescriptor": descriptor}}


def service_mount(text: str, cwd: str | None = None) -> dict:
    """``--mount``: the CSV of ``docker run --mount`` (``spec_parse.parse_mount``), as a service's Mount;
    volume options carry a DriverConfig as the CLI's do."""
    mount = sp.parse_mount(text, cwd)
    if mount["Type"] not in ("bind", "volume", "tmpfs", "npipe"):
        raise InvalidArgument(f"invalid mount {text!r}: a service mounts bind, volume, tmpfs or npipe")
    if "VolumeOptions" in mount:
        mount["VolumeOptions"].setdefault("DriverConfig", {})
    return mount


def parse_host(text: str) -> str:
    """``--host name:ip`` -> the ``"ip name"`` of a service's Hosts."""
    name, _, address = sp.parse_extra_host(text).partition(":")
    return f"{address} {name}"


def parse_words(text: str, what: str = "--entrypoint") -> list[str]:
    """``--entrypoint "/bin/sh -c"``, ``--args "sleep 60"``: shell words."""
    try:
        return shlex.split(str(text))
    except ValueError as exc:
        raise InvalidArgument(f"invalid {what} {text!r}: {exc}") from None


def scale_target(text: str) -> tuple[str, int]:
    """``SERVICE=REPLICAS`` of ``service scale``."""
    name, eq, count = str(text).partition("=")
    if not name or not eq:
        raise InvalidArgument(f"invalid scale specifier {text!r}: use SERVICE=REPLICAS")
    if not count.isdigit():
        raise InvalidArgument(f"invalid replicas value {count!r} for {name}: a number of 0 or more")
    return name, int(count)


def _csv(text: str, what: str) -> list[str]:
    try:
        return next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise InvalidArgument(f"invalid {what} {text!r}: use KEY=VALUE,...") from None


# -- checks shared by create and update ----------------------------------------------------------
def _check(flags: Mapping[str, Any]) -> None:
    for key in _DURATIONS:
        if (flags.get(key) or 0) < 0:
            raise InvalidArgument(f"invalid {_flag(key)}: a duration cannot be negative")
    for key in _COUNTS:
        if (flags.get(key) or 0) < 0:
            raise InvalidArgument(f"invalid {_flag(key)} {flags[key]}: a number of 0 or more")
    for kind in ("update", "rollback"):
        ratio = flags.get(f"{kind}_max_failure_ratio")
        if ratio is not None and not 0 <= ratio <= 1:
            raise InvalidArgument(f"invalid --{kind}-max-failure-ratio {ratio}: a fraction from 0 to 1")
        for key, allowed in ((f"{kind}_failure_action", FAILURE_ACTIONS[kind]), (f"{kind}_order", ORDERS)):
            if flags.get(key) is not None and flags[key] not in allowed:
                raise InvalidArgument(f"invalid {_flag(key)} {flags[key]!r}: use {' or '.join(allowed)}")
    for key, allowed in (("mode", MODES), ("endpoint_mode", ENDPOINT_MODES),
                         ("restart_condition", RESTART_CONDITIONS)):
        if flags.get(key) is not None and flags[key] not in allowed:
            raise InvalidArgument(f"invalid {_flag(key)} {flags[key]!r}: use {', '.join(allowed)}")
    for key in ("limit_cpu", "reserve_cpu", "limit_memory", "reserve_memory"):
        if (flags.get(key) or 0) < 0:
            raise InvalidArgument(f"invalid {_flag(key)}: cannot be negative")


def _settings(current: Mapping | None, flags: Mapping[str, Any], prefix: str) -> dict:
    """UpdateConfig / RollbackConfig: the current one (or the defaults) with the ``--PREFIX-*`` flags given."""
    config = dict(current or UPDATE_DEFAULTS)
    for key, field in _UPDATE_FIELDS.items():
        if flags.get(f"{prefix}_{key}") is not None:
            config[field] = flags[f"{prefix}_{key}"]
    return config


def _restart(current: Mapping | None, flags: Mapping[str, Any]) -> dict:
    policy = dict(current or RESTART_DEFAULTS)
    for key, field in _RESTART_FIELDS.items():
        if flags.get(key) is not None:
            policy[field] = flags[key]
    return policy


def _resources(current: Mapping | None, flags: Mapping[str, Any]) -> dict:
    resources = {"Limits": dict((current or {}).get("Limits") or {}),
                 "Reservations": dict((current or {}).get("Reservations") or {})}
    for key, (section, field) in _RESOURCE_FIELDS.items():
        if flags.get(key) is not None:
            resources[section][field] = flags[key]
    return resources


def _health(flags: Mapping[str, Any]) -> dict | None:
    keys = {"health_cmd": "Test", "health_interval": "Interval", "health_timeout": "Timeout",
            "health_retries": "Retries", "health_start_period": "StartPeriod"}
    given = {field: flags[key] for key, field in keys.items() if flags.get(key) not in (None, "")}
    if flags.get("no_healthcheck"):
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    if "Test" in given:
        given["Test"] = ["CMD-SHELL", given["Test"]]
    return given


def _labels(items: Iterable[str] | None, what: str) -> dict[str, str]:
    return sp.parse_map(list(items or ()), what, require_value=False)


def _pruned(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}


# -- create ---------------------------------------------------------------------------------------
def create_spec(flags: Mapping[str, Any]) -> dict:
    """The ServiceSpec of ``docker service create [flags] IMAGE [ARG...]`` (``image`` and ``command``
    among the flags)."""
    _check(flags)
    image = check_reference(flags.get("image") or "")
    mode = flags.get("mode") or "replicated"
    if mode != "replicated" and flags.get("replicas") is not None:
        raise InvalidArgument("--replicas can only be used with replicated mode")
    if mode != "replicated" and flags.get("replicas_max_per_node"):
        raise InvalidArgument("--replicas-max-per-node can only be used with replicated mode")
    env = [line for path in flags.get("env_file") or () for line in sp.read_env_file(path)]
    env += parse_env(list(flags.get("env") or ()))
    container = _pruned({
        "Image": str(image), "Labels": _labels(flags.get("container_label"), "--container-label"),
        "Command": parse_words(flags["entrypoint"]) if flags.get("entrypoint") else None,
        "Args": list(flags.get("command") or ()) or None, "Hostname": flags.get("hostname"), "Env": env,
        "Dir": flags.get("workdir"), "User": flags.get("user"), "Groups": list(flags.get("group") or ()),
        "StopSignal": flags.get("stop_signal"), "TTY": bool(flags.get("tty")) or None,
        "ReadOnly": bool(flags.get("read_only")) or None, "Mounts": list(flags.get("mount") or ()),
        "Hosts": [parse_host(h) for h in flags.get("host") or ()], "Healthcheck": _health(flags),
        "CapabilityAdd": sp.parse_capabilities(flags.get("cap_add")),
        "CapabilityDrop": sp.parse_capabilities(flags.get("cap_drop")),
    })
    container["Init"] = bool(flags.get("init"))
    if flags.get("stop_grace_period") is not None:
        container["StopGracePeriod"] = flags["stop_grace_period"]
    container["DNSConfig"] = _pruned({"Nameservers": [sp.check_ip(d, "--dns") for d in flags.get("dns") or ()],
                                      "Search": list(flags.get("dns_search") or ()),
                                      "Options": list(flags.get("dns_option") or ())})
    task = {"ContainerSpec": container, "Resources": _resources(None, flags),
            "Placement": _pruned({"Constraints": list(flags.get("constraint") or ()),
                                  "Preferences": list(flags.get("placement_pref") or ()),
                                  "MaxReplicas": flags.get("replicas_max_per_node")})}
    if any(flags.get(key) is not None for key in _RESTART_FIELDS):
        task["RestartPolicy"] = _restart(None, flags)
    if flags.get("network"):
        task["Networks"] = list(flags["network"])
    if flags.get("log_driver") or flags.get("log_opt"):
        task["LogDriver"] = _pruned({"Name": flags.get("log_driver") or "",
                                     "Options": sp.parse_map(flags.get("log_opt") or (), "--log-opt")})
    replicas = flags.get("replicas")
    spec = {"Labels": _labels(flags.get("label"), "--label"), "TaskTemplate": task,
            "Mode": {"Global": {}} if mode == "global" else
            {"Replicated": {"Replicas": 1 if replicas is None else int(replicas)}},
            "EndpointSpec": _pruned({"Mode": flags.get("endpoint_mode") or "vip",
                                     "Ports": [p for group in flags.get("publish") or () for p in group]})}
    for prefix, field in (("update", "UpdateConfig"), ("rollback", "RollbackConfig")):
        if any(flags.get(f"{prefix}_{key}") is not None for key in _UPDATE_FIELDS):
            spec[field] = _settings(None, flags, prefix)
    if flags.get("name"):
        spec = {"Name": str(flags["name"]), **spec}
    return spec


# -- update ---------------------------------------------------------------------------------------
NOT_SPEC = {"service", "rollback", "force", "detach", "quiet", "timeout", "no_resolve_image", "resolve_image"}


def given(flags: Mapping[str, Any]) -> list[str]:
    """The flags of an update that change the spec."""
    return [key for key, v in flags.items() if key not in NOT_SPEC and v is not None and v not in ([], (), "")]


def update_spec(current: Mapping, flags: Mapping[str, Any]) -> dict:
    """``current`` (a service's ``Spec``) changed as ``docker service update [flags]`` changes it."""
    if flags.get("rollback") and given(flags):
        raise InvalidArgument(f"other flags may not be combined with --rollback ({_flag(given(flags)[0])})")
    _check(flags)
    spec = copy.deepcopy(dict(current))
    task = spec.setdefault("TaskTemplate", {})
    container = task.setdefault("ContainerSpec", {})
    if flags.get("image"):
        container["Image"] = check_reference(flags["image"])
    if flags.get("args") is not None:
        container["Args"] = parse_words(flags["args"], "--args")
    if flags.get("entrypoint") is not None:
        container["Command"] = parse_words(flags["entrypoint"])
    for key, field in _CONTAINER_FIELDS.items():
        if flags.get(key) is not None:
            container[field] = flags[key]
    env = [e for e in container.get("Env") or () if e.partition("=")[0] not in set(flags.get("env_rm") or ())]
    for item in parse_env(list(flags.get("env_add") or ())):
        key = item.partition("=")[0]
        env = [item if e.partition("=")[0] == key else e for e in env] + \
            ([item] if all(e.partition("=")[0] != key for e in env) else [])
    container["Env"] = env
    container["Labels"] = _relabel(container.get("Labels"), flags, "container_label")
    spec["Labels"] = _relabel(spec.get("Labels"), flags, "label")
    mounts = [m for m in container.get("Mounts") or () if m.get("Target") not in set(flags.get("mount_rm") or ())]
    for mount in flags.get("mount_add") or ():
        mounts = [m for m in mounts if m.get("Target") != mount["Target"]] + [mount]
    container["Mounts"] = mounts
    placement = task.setdefault("Placement", {})
    placement["Constraints"] = _edit(placement.get("Constraints"), flags.get("constraint_rm"),
                                     flags.get("constraint_add"))
    placement["Preferences"] = _edit(placement.get("Preferences"), flags.get("placement_pref_rm"),
                                     flags.get("placement_pref_add"))
    if flags.get("replicas_max_per_node") is not None:
        placement["MaxReplicas"] = flags["replicas_max_per_node"]
    removed = set(flags.get("network_rm") or ())
    networks = [n for n in task.get("Networks") or () if n.get("Target") not in removed]
    for network in flags.get("network_add") or ():
        networks = [n for n in networks if n.get("Target") != network["Target"]] + [network]
    task["Networks"] = networks
    task["Resources"] = _resources(task.get("Resources"), flags)
    if any(flags.get(key) is not None for key in _RESTART_FIELDS):
        task["RestartPolicy"] = _restart(task.get("RestartPolicy"), flags)
    for prefix, field in (("update", "UpdateConfig"), ("rollback", "RollbackConfig")):
        if any(flags.get(f"{prefix}_{key}") is not None for key in _UPDATE_FIELDS):
            spec[field] = _settings(spec.get(field), flags, prefix)
    if flags.get("replicas") is not None:
        if "Replicated" not in (spec.get("Mode") or {}):
            raise InvalidArgument("--replicas can only be used with replicated mode")
        spec["Mode"] = {"Replicated": {"Replicas": int(flags["replicas"])}}
    endpoint = spec.setdefault("EndpointSpec", {})
    if flags.get("endpoint_mode"):
        endpoint["Mode"] = flags["endpoint_mode"]
    ports = [p for p in endpoint.get("Ports") or ()
             if (p.get("TargetPort"), p.get("Protocol", "tcp")) not in _port_keys(flags.get("publish_rm"))]
    for group in flags.get("publish_add") or ():
        for port in group:
            ports = [p for p in ports if (p.get("PublishedPort"), p.get("Protocol")) !=
                     (port.get("PublishedPort"), port["Protocol"]) or not port.get("PublishedPort")] + [port]
    endpoint["Ports"] = ports
    return _tidy(spec)


def _relabel(labels: Mapping | None, flags: Mapping[str, Any], key: str) -> dict:
    out = {k: v for k, v in (labels or {}).items() if k not in set(flags.get(f"{key}_rm") or ())}
    out.update(_labels(flags.get(f"{key}_add"), _flag(f"{key}_add")))
    return out


def _edit(items: Iterable | None, remove: Iterable | None, add: Iterable | None) -> list:
    out = [item for item in items or () if item not in list(remove or ())]
    return out + [item for item in add or () if item not in out]


def _port_keys(texts: Iterable[str] | None) -> set[tuple[int, str]]:
    """``--publish-rm 80``, ``80/udp`` or a whole port spec: the target ports (and protocols) to remove."""
    keys = set()
    for text in texts or ():
        number, _, protocol = str(text).partition("/")
        if number.isdigit():
            keys.add((int(number), protocol or "tcp"))
        else:
            keys.update((p["TargetPort"], p["Protocol"]) for p in parse_port(text))
    return keys


def _tidy(spec: dict) -> dict:
    """Empty lists and maps the edits left out, as a spec the CLI sends has none."""
    task = spec.get("TaskTemplate") or {}
    for owner, keys in ((task.get("ContainerSpec") or {}, ("Env", "Labels", "Mounts")),
                        (task.get("Placement") or {}, ("Constraints", "Preferences")),
                        (task, ("Networks",)), (spec.get("EndpointSpec") or {}, ("Ports",))):
        for key in keys:
            if key in owner and not owner[key]:
                del owner[key]
    return spec
