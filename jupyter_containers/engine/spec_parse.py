"""Parsers of the docker CLI's option values, shared by ``docker run`` flags and compose services.

Pure functions; each raises ``InvalidArgument`` naming the bad value before anything reaches the engine.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from .errors import InvalidArgument


def _read_lines(path: str | os.PathLike, what: str) -> list[str]:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        raise InvalidArgument(f"cannot read the {what} {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    return [line.lstrip() for line in text.splitlines()]


def read_env_file(path: str | os.PathLike, what: str = "env file") -> list[str]:
    """``--env-file`` (and ``--label-file``): ``KEY=VALUE`` lines as the docker CLI reads them (no quotes
    are removed, ``#`` starts a comment line, a bare ``KEY`` takes this process's value when it has one)."""
    from .specs import parse_env

    lines = [line for line in _read_lines(path, what) if line and not line.startswith("#")]
    for line in lines:
        key = line.partition("=")[0]
        if not key:
            raise InvalidArgument(f"invalid line in {what} {str(path)!r}: {line!r} has no variable name")
        if key != key.rstrip() or " " in key or "\t" in key:
            raise InvalidArgument(f"invalid line in {what} {str(path)!r}: variable {key!r} contains whitespace")
    return parse_env(lines)




# -- sizes, durations, numbers ---------------------------------------------------------------
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$", re.IGNORECASE)


def parse_size(value: str | int, what: str = "size") -> int:
    """``512m``, ``1.5g``, ``1024``, ``64KiB`` -> bytes (powers of 1024, as the docker CLI's ``bytes``)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value).strip())
    if not match:
        raise InvalidArgument(f"invalid {what} {value!r}: use bytes or a number with b, k, m or g, e.g. 512m")
    power = "kmgtp".find((match[2] or "").lower()) + 1 if match[2] else 0
    return int(float(match[1]) * 1024 ** power)


_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                   "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: str | int | float, what: str = "duration") -> int:
    """Go's duration syntax (``1m30s``, ``1.5s``, ``300ms``; ``0``) -> nanoseconds."""
    if isinstance(value, (int, float)):
        return int(value * 10**9)
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    parts = _DURATION_PART.findall(body)
    if not body or "".join(a + b for a, b in parts) != body:
        raise InvalidArgument(f"invalid {what} {value!r}: use a duration like 30s, 1m30s or 500ms")
    return sign * int(sum(Decimal(number) * _DURATION_UNITS[unit] for number, unit in parts))


def parse_cpus(value: str | float) -> int:
    """``--cpus 1.5`` -> NanoCpus, exactly (no float rounding), as the CLI's decimal."""
    try:
        nano = Decimal(str(value)) * 10**9
    except ArithmeticError:
        nano = Decimal("NaN")
    if not nano.is_finite() or nano < 0 or nano != nano.to_integral_value():
        raise InvalidArgument(f"invalid --cpus {value!r}: use a number of CPUs, e.g. 0.5 or 2")
    return int(nano)


# -- key/value lists ---------------------------------------------------------------------------
def parse_map(items, what: str, require_value: bool = True) -> dict[str, str]:
    """``["k=v", ...]`` (or a mapping) -> dict; every item needs a key (and ``=`` when ``require_value``)."""
    if isinstance(items, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in items.items()}
    out = {}
    for item in items or ():
        key, eq, value = str(item).partition("=")
        if not key or (require_value and not eq):
            raise InvalidArgument(f"invalid {what} {item!r}: use KEY=VALUE")
        out[key] = value
    return out


def read_labels(labels=(), files=()) -> dict[str, str]:
    """``--label-file`` files first, then ``--label`` (the CLI's order: later ones win)."""
    from_files = [line for path in files for line in read_env_file(path, "label file")]
    return parse_map([*from_files, *labels], "label", require_value=False)


# -- ports ---------------------------------------------------------------------------------------
def _port_range(text: str, spec: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise InvalidArgument(f"invalid port spec {spec!r}: use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], "
                              "e.g. 127.0.0.1:8080:80")
    lo, hi = int(first), int(last or first)
    if not 1 <= lo <= hi <= 65535:
        raise InvalidArgument(f"invalid port spec {spec!r}: ports go from 1 to 65535")
    return lo, hi


def parse_publish(specs) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """``-p`` values -> (ExposedPorts, PortBindings) as the docker CLI makes them: ``80``,
    ``8080:80``, ``127.0.0.1:8080:80``, ``127.0.0.1::80``, ``[::1]:8080:80``, ranges on both
    sides, a host range for one container port (the engine picks one), ``/udp``."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for spec in specs or ():
        spec = str(spec).strip()
        rest, _, proto = spec.partition("/")
        proto = proto or "tcp"
        ip = ""
        if rest.startswith("["):
            ip, _, rest = rest[1:].partition("]:")
            rest = ":" + rest
            host, _, container = rest[1:].rpartition(":")
        else:
            parts = rest.split(":")
            if len(parts) > 3:
                raise InvalidArgument(f"invalid port spec {spec!r}: use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]")
            container = parts[-1]
            host = parts[-2] if len(parts) >= 2 else ""
            ip = parts[0] if len(parts) == 3 else ""
        if proto not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"invalid port spec {spec!r}: the protocol is tcp, udp or sctp")
        lo, hi = _port_range(container, spec)
        if host:
            hlo, hhi = _port_range(host, spec)
            if hi - lo != hhi - hlo and lo != hi:
                raise InvalidArgument(f"invalid port spec {spec!r}: the host and container ranges differ in size")
        for offset, port in enumerate(range(lo, hi + 1)):
            key = f"{port}/{proto}"
            exposed[key] = {}
            if not host:
                host_port = ""
            elif lo == hi and hlo != hhi:
                host_port = f"{hlo}-{hhi}"
            else:
                host_port = str(hlo + offset)
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host_port})
    return exposed, bindings


def parse_expose(specs) -> dict[str, dict]:
    """``--expose 80``, ``--expose 7000-7010/udp`` -> ExposedPorts."""
    exposed = {}
    for spec in specs or ():
        port, _, proto = str(spec).partition("/")
        lo, hi = _port_range(port, str(spec))
        for number in range(lo, hi + 1):
            exposed[f"{number}/{proto or 'tcp'}"] = {}
    return exposed


# -- mounts ----------------------------------------------------------------------------------
_VOLUME_MODES = {"ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate", "nocopy",
                 "consistent", "cached", "delegated"}


def parse_volume(spec: str, cwd: str | None = None) -> tuple[str | None, str | None]:
    """One ``-v`` value -> (a Binds entry, or an anonymous volume's path)."""
    parts = str(spec).split(":")
    if len(parts) == 1:
        if not parts[0].startswith("/"):
            raise InvalidArgument(f"invalid volume spec {spec!r}: the path in the container must be absolute")
        return None, parts[0]
    if len(parts) > 3 or not parts[0] or not parts[1]:
        raise InvalidArgument(f"invalid volume spec {spec!r}: use SOURCE:TARGET[:OPTIONS]")
    source, target, *mode = parts
    if not target.startswith("/"):
        raise InvalidArgument(f"invalid volume spec {spec!r}: the path in the container must be absolute")
    for option in mode[0].split(",") if mode else ():
        if option not in _VOLUME_MODES:
            raise InvalidArgument(f"invalid volume spec {spec!r}: unknown option {option!r}")
    if source.startswith((".", "~")):
        source = os.path.abspath(os.path.join(cwd or os.getcwd(), os.path.expanduser(source)))
    elif "/" in source and not source.startswith("/"):
        raise InvalidArgument(f"invalid volume spec {spec!r}: a host path starts with /, ./ or ~")
    return ":".join([source, target, *mode]), None


def _bool(value: str, key: str, spec: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise InvalidArgument(f"invalid mount {spec!r}: {key} takes true or false, not {value!r}")


def parse_mount(spec: str, cwd: str | None = None) -> dict:
    """One ``--mount`` value (CSV of key=value) -> an Engine API Mount, with the CLI's rules."""
    try:
        items = next(csv.reader([str(spec)]))
    except (csv.Error, StopIteration):
        raise InvalidArgument(f"invalid mount {spec!r}: use type=bind|volume|tmpfs,source=...,target=...") from None
    mount: dict[str, Any] = {"Type": "volume"}
    options: dict[str, dict] = {"BindOptions": {}, "VolumeOptions": {}, "TmpfsOptions": {}}
    for item in items:
        key, eq, value = item.strip().partition("=")
        key = key.lower()
        if key in ("readonly", "ro") and not eq:
            mount["ReadOnly"] = True
            continue
        if key == "volume-nocopy" and not eq:
            options["VolumeOptions"]["NoCopy"] = True
            continue
        if not eq:
            raise InvalidArgument(f"invalid mount {spec!r}: {item!r} is not KEY=VALUE")
        if key == "type":
            if value not in ("bind", "volume", "tmpfs", "npipe", "cluster"):
                raise InvalidArgument(f"invalid mount {spec!r}: type is bind, volume or tmpfs, not {value!r}")
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _bool(value, key, spec)
        elif key == "consistency":
            mount["Consistency"] = value
        elif key == "bind-propagation":
            if value not in ("shared", "slave", "private", "rshared", "rslave", "rprivate"):
                raise InvalidArgument(f"invalid mount {spec!r}: unknown bind-propagation {value!r}")
            options["BindOptions"]["Propagation"] = value
        elif key == "bind-nonrecursive":
            options["BindOptions"]["NonRecursive"] = _bool(value, key, spec)
        elif key == "volume-nocopy":
            options["VolumeOptions"]["NoCopy"] = _bool(value, key, spec)
        elif key == "volume-label":
            options["VolumeOptions"].setdefault("Labels", {}).update(parse_map([value], "volume-label", False))
        elif key == "volume-driver":
            options["VolumeOptions"].setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            driver = options["VolumeOptions"].setdefault("DriverConfig", {})
            driver.setdefault("Options", {}).update(parse_map([value], "volume-opt"))
        elif key == "volume-subpath":
            options["VolumeOptions"]["Subpath"] = value
        elif key == "tmpfs-size":
            options["TmpfsOptions"]["SizeBytes"] = parse_size(value, "tmpfs-size")
        elif key == "tmpfs-mode":
            try:
                options["TmpfsOptions"]["Mode"] = int(value, 8)
            except ValueError:
                raise InvalidArgument(f"invalid mount {spec!r}: tmpfs-mode is octal, e.g. 1770") from None
        else:
            raise InvalidArgument(f"invalid mount {spec!r}: unknown option {key!r}")
    kind = mount["Type"]
    if not mount.get("Target"):
        raise InvalidArgument(f"invalid mount {spec!r}: target is required")
    for name, body in options.items():
        if body and name != {"bind": "BindOptions", "volume": "VolumeOptions", "tmpfs": "TmpfsOptions"}.get(kind):
            prefix = name.removesuffix("Options").lower()
            raise InvalidArgument(f"invalid mount {spec!r}: {prefix}-* options do not go with type={kind}")
        if body:
            mount[name] = body
    if kind == "bind":
        if not mount.get("Source"):
            raise InvalidArgument(f"invalid mount {spec!r}: a bind mount needs a source")
        mount["Source"] = os.path.abspath(os.path.join(cwd or os.getcwd(), os.path.expanduser(mount["Source"])))
    if kind == "tmpfs" and mount.get("Source"):
        raise InvalidArgument(f"invalid mount {spec!r}: a tmpfs mount has no source")
    return mount


def parse_tmpfs(specs) -> dict[str, str]:
    """``--tmpfs /run:size=64m,mode=1777`` -> HostConfig.Tmpfs."""
    out = {}
    for spec in specs or ():
        path, _, options = str(spec).partition(":")
        if not path.startswith("/"):
            raise InvalidArgument(f"invalid tmpfs {spec!r}: the path in the container must be absolute")
        out[path] = options
    return out


# -- devices, limits, hosts ----------------------------------------------------------------
def parse_device(spec: str) -> dict:
    """``/dev/x[:/dev/y][:rwm]`` -> an Engine API device mapping."""
    parts = str(spec).split(":")
    source, target, permissions = parts[0], parts[0], "rwm"
    if len(parts) == 2:
        if parts[1] and set(parts[1]) <= set("rwm"):
            permissions = parts[1]
        else:
            target = parts[1]
    elif len(parts) == 3:
        target, permissions = parts[1], parts[2]
    if len(parts) > 3 or not source.startswith("/") or not target.startswith("/") \
            or not permissions or not set(permissions) <= set("rwm"):
        raise InvalidArgument(f"invalid device {spec!r}: use /dev/HOST[:/dev/CONTAINER][:rwm]")
    return {"PathOnHost": source, "PathInContainer": target, "CgroupPermissions": permissions}


def parse_device_rate(spec: str, what: str, size: bool) -> dict:
    """``/dev/sda:1mb`` (bps, a size) or ``/dev/sda:1000`` (iops, weight) -> {Path, Rate}."""
    path, _, value = str(spec).rpartition(":")
    if not path.startswith("/") or not value:
        raise InvalidArgument(f"invalid {what} {spec!r}: use /dev/DEVICE:{'RATE (e.g. 1mb)' if size else 'NUMBER'}")
    if size:
        return {"Path": path, "Rate": parse_size(value, what)}
    if not value.isdigit():
        raise InvalidArgument(f"invalid {what} {spec!r}: {value!r} is not a whole number")
    return {"Path": path, "Rate": int(value)}


def parse_weight_device(spec: str) -> dict:
    path, _, value = str(spec).rpartition(":")
    if not path.startswith("/") or not value.isdigit() or not (10 <= int(value) <= 1000 or value == "0"):
        raise InvalidArgument(f"invalid --blkio-weight-device {spec!r}: use /dev/DEVICE:WEIGHT (10 to 1000)")
    return {"Path": path, "Weight": int(value)}


ULIMITS = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
           "rtprio", "rttime", "sigpending", "stack"}


def parse_ulimit(spec: str | Mapping) -> dict:
    """``nofile=1024[:2048]`` -> {Name, Soft, Hard}."""
    name, _, values = str(spec).partition("=")
    soft, _, hard = values.partition(":")
    if name not in ULIMITS:
        raise InvalidArgument(f"invalid ulimit {spec!r}: unknown name {name!r}; one of {', '.join(sorted(ULIMITS))}")
    try:
        soft_value, hard_value = int(soft), int(hard or soft)
    except ValueError:
        raise InvalidArgument(f"invalid ulimit {spec!r}: use NAME=SOFT[:HARD], e.g. nofile=1024:2048") from None
    if soft_value > hard_value and hard_value != -1:
        raise InvalidArgument(f"invalid ulimit {spec!r}: the soft limit is above the hard one")
    return {"Name": name, "Soft": soft_value, "Hard": hard_value}


def parse_gpus(spec: str) -> dict:
    """``all``, ``2``, ``device=0,2``, ``count=1,capabilities=utility,driver=nvidia`` -> a DeviceRequest."""
    request: dict[str, Any] = {"Driver": "", "Count": 0, "DeviceIDs": None, "Capabilities": [["gpu"]],
                               "Options": {}}
    try:
        items = next(csv.reader([str(spec)]))
    except (csv.Error, StopIteration):
        items = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq and key == "all" or key == "count" and value == "all":
            request["Count"] = -1
        elif not eq and key.isdigit() or key == "count" and value.isdigit():
            request["Count"] = int(value or key)
        elif key == "device" and value:  # device=0,1 unquoted is device 0 and a count of 1, as the CLI reads it
            request["DeviceIDs"] = value.split(",")
        elif key == "driver" and value:
            request["Driver"] = value
        elif key == "capabilities" and value:
            request["Capabilities"] = [["gpu", *value.split(",")]]
        elif key == "options" and value:
            request["Options"].update(parse_map(value.split(","), "gpu option"))
        else:
            raise InvalidArgument(f"invalid --gpus {spec!r}: use all, a count, or device=ID[,ID...]")
    return request


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def parse_extra_host(spec: str) -> str:
    """``name:ip`` or ``name=ip`` (ip may be IPv6 or ``host-gateway``) -> ``name:ip`` as the engine takes it."""
    text = str(spec)
    name, eq, address = text.partition("=")
    if not eq:
        name, _, address = text.partition(":")
    address = address.strip("[]")
    if not name or not (address == "host-gateway" or _ip(address)):
        raise InvalidArgument(f"invalid --add-host {spec!r}: use HOST:IP, e.g. db:10.0.0.2 or h:host-gateway")
    return f"{name}:{address}"


def parse_capabilities(names) -> list[str]:
    """``net_admin``, ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN``; ``all`` -> ``ALL`` (the CLI's normal form)."""
    out = set()
    for name in names or ():
        upper = str(name).upper()
        out.add(upper if upper == "ALL" or upper.startswith("CAP_") else f"CAP_{upper}")
    return sorted(out)


def check_ip(value: str, flag: str) -> str:
    if not _ip(str(value)):
        raise InvalidArgument(f"invalid {flag} {value!r}: not an IP address")
    return str(value)


def parse_restart(policy: str | None) -> dict | None:
    """``no``, ``always``, ``unless-stopped``, ``on-failure[:N]`` -> RestartPolicy."""
    if policy is None:
        return None
    name, colon, count = str(policy).partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure") or (colon and not count.isdigit()):
        raise InvalidArgument(f"invalid restart policy {policy!r}: use no, always, unless-stopped or on-failure[:N]")
    if colon and name != "on-failure":
        raise InvalidArgument(f"invalid restart policy {policy!r}: only on-failure takes a maximum retry count")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


NAMESPACE_MODES = {
    "--ipc": re.compile(r"^(|none|private|shareable|host|container:.+)$"),
    "--pid": re.compile(r"^(|host|container:.+)$"),
    "--uts": re.compile(r"^(|host)$"),
    "--userns": re.compile(r"^(|host)$"),
    "--cgroupns": re.compile(r"^(|host|private)$"),
}


def check_namespace(flag: str, value: str | None) -> str | None:
    if value is not None and not NAMESPACE_MODES[flag].match(value):
        raise InvalidArgument(f"invalid {flag} {value!r}: use {'host or container:NAME' if flag == '--pid' else 'host'}"
                              f"{', private, shareable or none' if flag == '--ipc' else ''}"
                              f"{' or private' if flag == '--cgroupns' else ''}")
    return value


def read_security_opts(options, cwd: str | None = None) -> list[str]:
    """``--security-opt``: a ``seccomp=FILE`` profile is read and sent as its JSON, as the CLI does."""
    out = []
    for option in options or ():
        key, eq, value = str(option).replace(":", "=", 1).partition("=") if "=" in option or ":" in option \
            else (str(option), "", "")
        if key == "seccomp" and value not in ("unconfined", "builtin", ""):
            path = os.path.join(cwd or os.getcwd(), os.path.expanduser(value))
            try:
                profile = json.loads(Path(path).read_text())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"invalid --security-opt {option!r}: cannot read the seccomp profile: "
                                      f"{getattr(exc, 'strerror', None) or exc}") from None
            out.append("seccomp=" + json.dumps(profile, separators=(",", ":")))
        elif key not in ("seccomp", "apparmor", "label", "no-new-privileges", "systempaths", "proc-opts",
                         "writable-cgroups", "mask", "unmask"):
            raise InvalidArgument(f"invalid --security-opt {option!r}: unknown option {key!r}")
        else:
            out.append(str(option))
    return out
