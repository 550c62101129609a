"""Parsing of the docker CLI's option syntax into Engine API values.

Everything here is pure and raises ``InvalidArgument`` naming the bad value,
before anything is created on the engine.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

from .errors import InvalidArgument

def _range(text: str, spec: str) -> list[int]:
    first, _, last = text.partition("-")
    lo, hi = int(first), int(last or first)
    if not (1 <= lo <= hi <= 65535):
        raise InvalidArgument(f"invalid port spec {spec!r}: ports go from 1 to 65535")
    return list(range(lo, hi + 1))


def _split_port(spec: str) -> tuple[str | None, str, str, str]:
    """``[IP:][HOST:]CONTAINER[/PROTO]`` -> (ip, host, container, proto)."""
    rest, _, proto = spec.partition("/")
    ip = None
    if rest.startswith("["):  # [::1]:8080:80
        ip, _, rest = rest[1:].partition("]:")
    parts = rest.split(":")
    if ip is None and len(parts) == 3:
        ip = parts.pop(0)
    host, container = parts if len(parts) == 2 else ("", parts[0])
    proto = proto or "tcp"
    if len(parts) > 2 or proto not in {"tcp", "udp", "sctp"} or not re.fullmatch(r"\d+(-\d+)?", container) \
            or not re.fullmatch(r"(\d+(-\d+)?)?", host):
        raise InvalidArgument(f"invalid port spec {spec!r}: use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], "
                              "e.g. 127.0.0.1:8080:80")
    return ip or None, host, container, proto


def parse_ports(specs: Iterable[str] | Mapping | None) -> dict[str, list]:
    """``["127.0.0.1:8080:80", "9000:90/udp", "80"]`` -> {"80/tcp": [("127.0.0.1", 8080)], ...}.

    A missing host port means a random one. A mapping is taken as docker-py's
    ``port_bindings`` form and passed through.
    """
    if not specs:
        return {}
    if isinstance(specs, Mapping):
        return {str(k) if "/" in str(k) else f"{k}/tcp": v if isinstance(v, list) else [v]
                for k, v in specs.items()}
    bindings: dict[str, list] = {}
    for spec in specs:
        ip, host, container, proto = _split_port(str(spec).strip())
        inside = _range(container, spec)
        outside = _range(host, spec) if host else [None] * len(inside)
        if len(outside) != len(inside):
            raise InvalidArgument(f"invalid port spec {spec!r}: host and container ranges differ in size")
        for container_port, host_port in zip(inside, outside):
            key = f"{container_port}/{proto}"
            bindings.setdefault(key, []).append((ip, host_port or "") if ip else host_port)
    return bindings


def parse_volumes(specs: Iterable[str] | None, cwd: str | None = None) -> tuple[list[str], list[str]]:
    """``["data:/data", "./src:/src:ro", "/scratch"]`` -> (binds, anonymous volume paths)."""
    binds, anonymous = [], []
    for spec in specs or ():
        parts = str(spec).split(":")
        if len(parts) == 1:
            target = parts[0]
            if not target.startswith("/"):
                raise InvalidArgument(f"invalid volume spec {spec!r}: the path in the container must be absolute")
            anonymous.append(target)
            continue
        if len(parts) > 3 or not parts[0] or not parts[1]:
            raise InvalidArgument(f"invalid volume spec {spec!r}: use SOURCE:TARGET[:ro|rw]")
        source, target, *mode = parts
        if not target.startswith("/"):
            raise InvalidArgument(f"invalid volume spec {spec!r}: the path in the container must be absolute")
        for option in (mode[0].split(",") if mode else []):
            if option not in {"ro", "rw", "z", "Z", "shared", "slave", "private", "rshared",
                              "rslave", "rprivate", "nocopy", "consistent", "cached", "delegated"}:
                raise InvalidArgument(f"invalid volume spec {spec!r}: unknown mode {option!r}")
        if source.startswith((".", "~")):
            source = str((Path(cwd or os.getcwd()) / Path(source).expanduser()).resolve())
        elif "/" in source and not source.startswith("/"):
            raise InvalidArgument(f"invalid volume spec {spec!r}: a host path must start with /, ./ or ~")
        binds.append(":".join([source, target, *mode]))
    return binds, anonymous


def parse_env(env: Mapping | Iterable[str] | None) -> list[str]:
    """A mapping or ``K=V`` strings; a bare ``K`` takes this process's value, as the CLI does."""
    if not env:
        return []
    if isinstance(env, Mapping):
        return [f"{k}={v}" for k, v in env.items()]
    out = []
    for item in env:
        key, eq, value = str(item).partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable {item!r}: use KEY=VALUE")
        if eq:
            out.append(f"{key}={value}")
        elif key in os.environ:
            out.append(f"{key}={os.environ[key]}")
    return out


def parse_labels(labels: Mapping | Iterable[str] | None) -> dict[str, str]:
    if not labels:
        return {}
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    return dict(str(item).partition("=")[::2] for item in labels)


def parse_restart(policy: str | Mapping | None) -> dict | None:
    if not policy or policy == "no":
        return None
    if isinstance(policy, Mapping):
        return dict(policy)
    name, _, count = policy.partition(":")
    if name not in {"always", "unless-stopped", "on-failure"} or (count and not count.isdigit()):
        raise InvalidArgument(f"invalid restart policy {policy!r}: use no, always, unless-stopped or on-failure[:N]")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str | int | float | datetime | None) -> int | float | None:
    """A time for ``--since``/``--until``: a datetime, unix seconds, RFC 3339, or a duration like ``10m``."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text)
    if match:
        return time.time() - float(match[1]) * _UNITS[match[2]]
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidArgument(f"invalid time {value!r}: use a duration like 10m, unix seconds or 2024-01-31T12:00:00") from None


def parse_bytes(value: str | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    from docker.utils import parse_bytes as docker_parse_bytes
    from docker.errors import DockerException

    try:
        return docker_parse_bytes(str(value))
    except DockerException:
        raise InvalidArgument(f"invalid size {value!r}: use bytes or a number with b, k, m or g") from None


def parse_filters(filters: Mapping | Iterable[str] | None) -> dict[str, list[str]] | None:
    """``{"label": "a=b"}`` or ``["label=a=b", "status=running"]`` -> the Engine's filter map."""
    if not filters:
        return None
    items = filters.items() if isinstance(filters, Mapping) else (
        str(f).partition("=")[::2] for f in filters)
    out: dict[str, list[str]] = {}
    for key, value in items:
        if not key:
            raise InvalidArgument(f"invalid filter {key}={value}: use KEY=VALUE")
        values = value if isinstance(value, (list, tuple)) else [value]
        out.setdefault(key, []).extend(str(v) for v in values)
    return out


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>(?:[a-zA-Z0-9-]+\.?)+(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-fA-F0-9]{32,}))?$")


def check_reference(ref: str) -> str:
    """``ref`` if it is a valid image reference, else ``InvalidArgument``."""
    text = str(ref or "")
    match = _REFERENCE.match(text)
    domain = match and match["domain"]
    # a first component without a dot, a colon or "localhost" is a path, so lowercase
    if domain and not ("." in domain or ":" in domain or domain == "localhost"):
        domain = None if re.fullmatch(_COMPONENT, match["domain"]) else "bad"
    if not match or domain == "bad" or len(text) > 255:
        raise InvalidArgument(
            f"invalid image reference {text!r}: use lowercase NAME[:TAG] or REGISTRY/NAME[:TAG], "
            "e.g. 127.0.0.1:5000/tools/web:1.0")
    return text


def split_reference(ref: str) -> tuple[str, str | None]:
    """``host:5000/name:tag`` -> (``host:5000/name``, ``tag``); a digest counts as the tag."""
    from docker.utils import parse_repository_tag

    return parse_repository_tag(check_reference(ref))
