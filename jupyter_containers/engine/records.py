"""Typed, frozen records of what the engine returns, each keeping its ``.raw``.

A record is built from one listing row or one inspect answer; it never calls
the engine itself (no N+1 look-ups hidden behind attributes).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MANAGED_LABEL = "io.jupyter.containers.managed"
SESSION_LABEL = "io.jupyter.containers.session"
CLEANUP_LABEL = "io.jupyter.containers.cleanup"  # "session": removed when its kernel ends


def _ts(value: Any) -> datetime | None:
    """Engine times come as unix seconds (listings) or RFC 3339 (inspect)."""
    if value in (None, "", 0, "0001-01-01T00:00:00Z"):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    if "." in text:  # the engine gives nanoseconds; Python takes micro
        head, tail = text.split(".", 1)
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:min(digits, 6)]}{tail[digits:]}"
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Port:
    container_port: int
    protocol: str = "tcp"
    host_ip: str | None = None
    host_port: int | None = None

    def __str__(self) -> str:
        inside = f"{self.container_port}/{self.protocol}"
        if self.host_port is None:
            return inside
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}->{inside}"

    @property
    def url(self) -> str | None:
        """A link a browser on this machine can open, for published TCP ports."""
        if self.host_port is None or self.protocol != "tcp":
            return None
        host = self.host_ip if self.host_ip not in (None, "", "0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.host_port}"


def _ports_from_list(rows: list[dict]) -> tuple[Port, ...]:
    ports = {Port(r["PrivatePort"], r.get("Type", "tcp"), r.get("IP"), r.get("PublicPort"))
             for r in rows or []}
    return tuple(sorted(ports, key=lambda p: (p.container_port, p.protocol, p.host_port or 0, p.host_ip or "")))


def _ports_from_inspect(mapping: dict | None) -> tuple[Port, ...]:
    ports = []
    for key, bindings in (mapping or {}).items():
        number, _, proto = key.partition("/")
        for b in bindings or [{}]:
            host_port = int(b["HostPort"]) if b.get("HostPort") else None
            ports.append(Port(int(number), proto or "tcp", b.get("HostIp") or None, host_port))
    return tuple(sorted(set(ports), key=lambda p: (p.container_port, p.protocol, p.host_port or 0, p.host_ip or "")))


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str
    command: str
    created: datetime | None
    state: str
    status: str
    ports: tuple[Port, ...]
    labels: dict = field(hash=False)
    health: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @classmethod
    def from_list(cls, row: dict) -> "Container":
        names = row.get("Names") or [""]
        status = row.get("Status", "")
        health = next((h for h in ("healthy", "unhealthy", "starting") if f"({h})" in status
                       or f"(health: {h})" in status), None)
        return cls(id=row["Id"], name=names[0].lstrip("/"), image=row.get("Image", ""),
                   command=row.get("Command", ""), created=_ts(row.get("Created")),
                   state=row.get("State", ""), status=status,
                   ports=_ports_from_list(row.get("Ports")), labels=row.get("Labels") or {},
                   health=health, raw=row)

    @classmethod
    def from_inspect(cls, data: dict) -> "Container":
        config, state = data.get("Config") or {}, data.get("State") or {}
        command = " ".join((config.get("Entrypoint") or []) + (config.get("Cmd") or []))
        return cls(id=data["Id"], name=data.get("Name", "").lstrip("/"),
                   image=config.get("Image", ""), command=command,
                   created=_ts(data.get("Created")), state=state.get("Status", ""),
                   status=_status_text(state), labels=config.get("Labels") or {},
                   ports=_ports_from_inspect((data.get("NetworkSettings") or {}).get("Ports")),
                   health=(state.get("Health") or {}).get("Status"), raw=data)

    def _repr_html_(self) -> str:
        colour = {"running": "var(--jp-success-color1, #2e7d32)",
                  "exited": "var(--jp-error-color1, #c62828)",
                  "paused": "var(--jp-warn-color1, #ef6c00)"}.get(self.state, "inherit")
        links = ", ".join(
            f'<a href="{p.url}" target="_blank">{html.escape(str(p))}</a>' if p.url else html.escape(str(p))
            for p in self.ports) or "&mdash;"
        health = f" ({html.escape(self.health)})" if self.health else ""
        return (
            '<table class="jp-containers-record"><tbody>'
            f"<tr><th>container</th><td><b>{html.escape(self.name)}</b> <code>{self.short_id}</code></td></tr>"
            f"<tr><th>image</th><td>{html.escape(self.image)}</td></tr>"
            f'<tr><th>state</th><td style="color:{colour}">{html.escape(self.state)}{health}</td></tr>'
            f"<tr><th>ports</th><td>{links}</td></tr>"
            "</tbody></table>")


def _status_text(state: dict) -> str:
    status = state.get("Status", "")
    if status == "exited":
        return f"Exited ({state.get('ExitCode', 0)})"
    return status.capitalize()


@dataclass(frozen=True)
class Image:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    created: datetime | None
    size: int
    labels: dict = field(hash=False)
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @classmethod
    def from_list(cls, row: dict) -> "Image":
        return cls(id=row["Id"], tags=tuple(t for t in row.get("RepoTags") or () if t != "<none>:<none>"),
                   digests=tuple(d for d in row.get("RepoDigests") or () if not d.startswith("<none>")),
                   created=_ts(row.get("Created")), size=int(row.get("Size") or 0),
                   labels=row.get("Labels") or {}, raw=row)

    @classmethod
    def from_inspect(cls, data: dict) -> "Image":
        return cls(id=data["Id"], tags=tuple(data.get("RepoTags") or ()),
                   digests=tuple(data.get("RepoDigests") or ()), created=_ts(data.get("Created")),
                   size=int(data.get("Size") or 0),
                   labels=(data.get("Config") or {}).get("Labels") or {}, raw=data)

    def _repr_html_(self) -> str:
        tags = ", ".join(html.escape(t) for t in self.tags) or "&lt;none&gt;"
        return (
            '<table class="jp-containers-record"><tbody>'
            f"<tr><th>image</th><td><b>{tags}</b> <code>{self.short_id}</code></td></tr>"
            f"<tr><th>size</th><td>{self.size / 1e6:.1f} MB</td></tr>"
            f"<tr><th>created</th><td>{self.created:%Y-%m-%d %H:%M:%S}</td></tr>"
            "</tbody></table>") if self.created else f"<code>{tags} {self.short_id}</code>"


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    mountpoint: str
    created: datetime | None
    labels: dict = field(hash=False)
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_raw(cls, data: dict) -> "Volume":
        return cls(name=data["Name"], driver=data.get("Driver", ""),
                   mountpoint=data.get("Mountpoint", ""), created=_ts(data.get("CreatedAt")),
                   labels=data.get("Labels") or {}, raw=data)


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    driver: str
    scope: str
    internal: bool
    created: datetime | None
    labels: dict = field(hash=False)
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_raw(cls, data: dict) -> "Network":
        return cls(id=data["Id"], name=data.get("Name", ""), driver=data.get("Driver", ""),
                   scope=data.get("Scope", ""), internal=bool(data.get("Internal")),
                   created=_ts(data.get("Created")), labels=data.get("Labels") or {}, raw=data)


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str
    stderr: str = ""

    def __str__(self) -> str:
        return self.output

    def _repr_pretty_(self, printer, cycle) -> None:
        text = (self.output + self.stderr).rstrip("\n")
        if self.exit_code:
            text += ("\n" if text else "") + f"[exit code {self.exit_code}]"
        printer.text(text)


@dataclass(frozen=True)
class Event:
    """One line of the engine's event stream."""
    type: str
    action: str
    id: str
    name: str | None
    time: datetime | None
    attributes: dict = field(hash=False)
    raw: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_raw(cls, data: dict) -> "Event":
        actor = data.get("Actor") or {}
        attrs = actor.get("Attributes") or {}
        nanos = data.get("timeNano")
        return cls(type=data.get("Type", ""), action=data.get("Action", ""),
                   id=actor.get("ID", data.get("id", "")), name=attrs.get("name"),
                   time=_ts(nanos / 1e9) if nanos else _ts(data.get("time")),
                   attributes=attrs, raw=data)
