"""Parsing of the docker CLI's option syntax into Engine API values.

Everything here is pure and raises ``InvalidArgument`` naming the bad value,
before anything is created on the engine.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from typing import Iterable, Mapping

from .errors import InvalidArgument

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


_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10 ** 6, "s": 10 ** 9, "m": 60 * 10 ** 9,
          "h": 3600 * 10 ** 9, "d": 86400 * 10 ** 9}
_PART = r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)"
_DATE = r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
_CLOCK = [r"T(?P<h>\d{1,2})", r"T(?P<h>\d{1,2}):(?P<mi>\d{2})",
          r"T(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d+))?"]
_ZONE = r"(?P<z>Z|[+-]\d{2}:\d{2})"
TIME_FORMATS = "RFC 3339 (2024-01-31T12:00:00.5Z), a date (2024-01-31), unix seconds (1700000000.5) or a duration (10m, 1h30m)"


def _duration_ns(text: str) -> int | None:
    """A Go duration (``1h30m``, ``1.5s``, ``-10m``) in nanoseconds, or None if text is not one."""
    match = re.fullmatch(rf"([-+]?)((?:{_PART})+)", text)
    if not match:
        return None
    from decimal import Decimal

    total = int(sum(Decimal(number) * _UNITS[unit] for number, unit in re.findall(_PART, match[2])))
    if total >= 2 ** 63:
        raise InvalidArgument(f"invalid duration {text!r}: longer than 292 years")
    return -total if match[1] == "-" else total


def _timestamp_ns(text: str) -> int | None:
    """An RFC 3339 time or a date, in Unix nanoseconds, chosen as the docker CLI's GetTimestamp does:
    without a zone (no Z, + or zone -hh:mm) it is local time. None if text does not look like one."""
    from calendar import timegm

    local = not any(c in text for c in "zZ+") and text.count("-") != 3
    if "." in text:
        clock = _CLOCK[2]
    elif "T" in text:
        colons = text.count(":") - (not local and "z" not in text.lower() and ":" in text)
        clock = _CLOCK[min(colons, 2)]
    else:
        clock = ""
    match = re.fullmatch(_DATE + clock + ("" if local else _ZONE), text)
    if not match:
        if "-" in text:
            raise InvalidArgument(f"invalid time {text!r}: use {TIME_FORMATS}")
        return None
    part = {k: int(v) for k, v in match.groupdict().items() if v and k not in ("f", "z")}
    try:
        moment = datetime(part["y"], part["mo"], part["d"], part.get("h", 0), part.get("mi", 0), part.get("s", 0))
    except ValueError as exc:
        raise InvalidArgument(f"invalid time {text!r}: {exc}") from None
    zone = match.groupdict().get("z")
    if local:
        offset = int(datetime.now().astimezone().utcoffset().total_seconds())
    elif zone == "Z":
        offset = 0
    else:
        offset = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = int((match["f"] or "")[:9].ljust(9, "0")) if "f" in match.groupdict() else 0
    return (timegm(moment.timetuple()) - offset) * 10 ** 9 + fraction


def unix_nanoseconds(value: str | int | float | datetime) -> int:
    """A time for ``--since``/``--until`` in Unix nanoseconds, exactly. Strings take the docker CLI's
    formats: a Go duration before now (``10m``, ``1h30m``, ``1.5s``), RFC 3339 with a fraction and a
    zone (``2024-01-31T12:00:00.123456789Z``; local time without one), a date (``2024-01-31``) or
    Unix seconds (``1700000000.5``)."""
    from decimal import Decimal

    if isinstance(value, datetime):
        from calendar import timegm

        moment = value if value.tzinfo else value.astimezone()  # naive: local time
        return timegm(moment.utctimetuple()) * 10 ** 9 + moment.microsecond * 1000
    if isinstance(value, (int, float)):
        return int(Decimal(repr(value)) * 10 ** 9)
    text = str(value).strip()
    duration = _duration_ns(text) if text != "0" else None
    if duration is not None:
        return time.time_ns() - duration
    stamp = _timestamp_ns(text)
    if stamp is not None:
        return stamp
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", text)
    if not match:
        raise InvalidArgument(f"invalid time {value!r}: use {TIME_FORMATS}")
    return int(match[1]) * 10 ** 9 + int((match[2] or "")[:9].ljust(9, "0"))


def api_time(value: str | int | float | datetime) -> str:
    """``since``/``until`` as the Engine API takes them at full precision: ``SECONDS.NANOSECONDS``."""
    seconds, nanos = divmod(unix_nanoseconds(value), 10 ** 9)
    return f"{seconds}.{nanos:09d}"


def parse_since(value: str | int | float | datetime | None) -> int | float | None:
    """A time for ``--since``/``--until`` as Unix seconds (a float; numbers are kept as they are).
    See ``unix_nanoseconds`` for the formats, and ``api_time`` for the exact value to send."""
    if value is None or isinstance(value, (int, float)):
        return value
    return unix_nanoseconds(value) / 1e9


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
    rf"^(?:(?P<domain>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::\d+)?|\[[0-9a-fA-F:]+\](?::\d+)?)/)?"
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
