"""Stage 3: validation into typed models (pydantic), each short syntax normalised to the long one.

``validate(data, source)`` raises ``ComposeFileError`` naming the file and the
path, e.g. ``<cell>: services.web.ports[0]: invalid port '99999:80' ...``.
Keys the specification has and we do not implement are refused by name, never ignored.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError,
                      field_validator, model_validator)

from .errors import ComposeFileError

# keys of the Compose Specification that this implementation does not do (yet)
UNSUPPORTED = {
    "links", "external_links", "pid", "ipc", "network_mode", "volumes_from", "devices", "dns", "dns_search",
    "dns_opt", "domainname", "mac_address", "sysctls", "security_opt", "shm_size", "platform", "logging",
    "cgroup_parent", "userns_mode", "isolation", "mem_reservation", "memswap_limit", "mem_swappiness",
    "oom_score_adj", "oom_kill_disable", "group_add", "device_cgroup_rules", "runtime", "storage_opt",
    "blkio_config", "cpu_shares", "cpu_quota", "cpu_period", "cpuset", "cpu_count", "cpu_percent",
    "cpu_rt_runtime", "cpu_rt_period", "pids_limit", "credential_spec", "develop", "post_start", "pre_stop",
    "annotations", "attach", "extends", "uts", "cgroup", "gpus", "label_file", "models", "provider",
    "use_api_socket", "ipv4_address", "ipv6_address", "link_local_ips", "priority", "driver_opts",
    "gw_priority", "mode", "placement", "restart_policy", "update_config", "rollback_config",
    "endpoint_mode", "reservations", "pids", "ipam", "enable_ipv6", "include", "consistency",
    "subpath", "selinux", "propagation", "template_driver", "environment", "content",
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(value: Any) -> float | None:
    """``1m30s``, ``10s``, ``500ms`` or a number of seconds -> seconds."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value is None else float(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {value!r}: use e.g. 10s, 1m30s or 500ms")
    return sum(float(n) * _UNIT[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def parse_size(value: Any) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", str(value).strip().lower())
    if not match:
        raise ValueError(f"invalid size {value!r}: use bytes or a number with k, m or g, e.g. 512m")
    return int(float(match[1]) * 1024 ** " kmgt".index(match[2] or " "))


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
Size = Annotated[int, BeforeValidator(parse_size), PlainSerializer(str)]


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise ValueError(f"expected a string, a number or a boolean, got {type(value).__name__}")
    return str(value)


def _mapping(separator: str):
    def convert(value: Any) -> dict:
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): _scalar_text(v) for k, v in value.items()}
        if not isinstance(value, list):
            raise ValueError("expected a mapping or a list of KEY" + separator + "VALUE")
        out = {}
        for item in value:
            key, eq, rest = str(item).partition(separator)
            out[key] = rest if eq else None
        return out
    return convert


def _words(value: Any) -> list[str] | None:
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} into words: {exc}") from None
    raise ValueError("expected a string or a list of strings")


def _list(value: Any) -> Any:
    return [value] if isinstance(value, (str, int)) else ([] if value is None else value)


Env = Annotated[dict[str, str | None], BeforeValidator(_mapping("="))]
Labels = Annotated[dict[str, str], BeforeValidator(_mapping("="))]
Words = Annotated[list[str] | None, BeforeValidator(_words)]
Strings = Annotated[list[str], BeforeValidator(_list)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data


class Build(Model):
    context: str | None = None
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: Env = {}
    target: str | None = None
    labels: Labels = {}

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"context": data} if isinstance(data, str) else data


_PORT = re.compile(r"^(?:(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<ip>\d+\.\d+\.\d+\.\d+)):)?(?:(?P<host>\d+(?:-\d+)?)?:)?"
                   r"(?P<target>\d+)(?:/(?P<proto>tcp|udp|sctp))?$")


class Port(Model):
    target: int = Field(ge=1, le=65535)
    published: str | None = None
    host_ip: str | None = None
    protocol: Literal["tcp", "udp", "sctp"] = "tcp"
    mode: Literal["ingress", "host"] = "ingress"
    name: str | None = None
    app_protocol: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"target": data}
        if not isinstance(data, str):
            return data
        match = _PORT.match(data.strip())
        if not match:
            raise ValueError(f"invalid port {data!r}: use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], "
                             "e.g. 127.0.0.1:8080:80")
        return {"target": int(match["target"]), "published": match["host"],
                "host_ip": match["ip6"] or match["ip"], "protocol": match["proto"] or "tcp"}

    @field_validator("published")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None:
            bounds = [int(p) for p in value.split("-")] if re.fullmatch(r"\d+(-\d+)?", value) else []
            if not bounds or not all(1 <= b <= 65535 for b in bounds) or bounds != sorted(bounds):
                raise ValueError(f"invalid published port {value!r}: ports go from 1 to 65535")
        return value


class Mount(Model):
    type: Literal["volume", "bind", "tmpfs"]
    source: str | None = None
    target: str
    read_only: bool = False
    volume: dict[Literal["nocopy"], bool] | None = None
    bind: dict[Literal["create_host_path"], bool] | None = None
    tmpfs: dict[Literal["size"], Size] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        parts = data.split(":")
        if len(parts) == 1:
            return {"type": "volume", "target": parts[0]}
        if len(parts) > 3 or not parts[0] or not parts[1]:
            raise ValueError(f"invalid volume {data!r}: use SOURCE:TARGET[:ro|rw] or TARGET")
        source, target, *mode = parts
        options = set(mode[0].split(",")) if mode else set()
        if options - {"ro", "rw", "z", "Z", "nocopy"}:
            raise ValueError(f"invalid volume {data!r}: unknown mode {mode[0]!r}")
        kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
        out = {"type": kind, "source": source, "target": target, "read_only": "ro" in options}
        if kind == "bind":
            out["bind"] = {"create_host_path": True}
        if "nocopy" in options:
            out["volume"] = {"nocopy": True}
        return out

    @model_validator(mode="after")
    def _check(self) -> "Mount":
        if not self.target.startswith("/"):
            raise ValueError(f"the target {self.target!r} must be an absolute path in the container")
        if self.type == "bind" and not self.source:
            raise ValueError("a bind mount needs a source")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount takes no source")
        return self


class Healthcheck(Model):
    test: list[str] | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    start_period: Duration | None = None
    start_interval: Duration | None = None
    retries: int | None = None
    disable: bool = False

    @field_validator("test", mode="before")
    @classmethod
    def _test(cls, value: Any) -> Any:
        if isinstance(value, str):
            return ["CMD-SHELL", value]
        if isinstance(value, list) and (not value or value[0] not in ("NONE", "CMD", "CMD-SHELL")):
            raise ValueError("a test list starts with CMD, CMD-SHELL or NONE")
        return value


class Dependency(Model):
    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = \
        "service_started"
    restart: bool = False
    required: bool = True


class ServiceNetwork(Model):
    aliases: list[str] = []


class Ulimit(Model):
    soft: int
    hard: int

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        return {"soft": data, "hard": data} if isinstance(data, int) else data


class FileRef(Model):
    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data


class EnvFile(Model):
    path: str
    required: bool = True
    format: Literal["raw"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class Limits(Model):
    cpus: float | None = None
    memory: Size | None = None


class Resources(Model):
    limits: Limits | None = None


class Deploy(Model):
    replicas: int | None = Field(None, ge=0)
    resources: Resources | None = None


def _names(value: Any) -> Any:
    if isinstance(value, list):
        return {str(name): None for name in value}
    return value


def _depends(value: Any) -> Any:
    value = _names(value)
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


def _hosts(value: Any) -> Any:
    if isinstance(value, dict):
        return [f"{k}:{v}" for k, v in value.items()]
    if isinstance(value, list):
        return [re.sub(r"^([^:=]+)=", r"\1:", str(v)) for v in value]
    return value


class Service(Model):
    image: str | None = None
    build: Build | None = None
    pull_policy: Literal["always", "never", "missing", "if_not_present", "build"] | None = None
    command: Words = None
    entrypoint: Words = None
    environment: Env = {}
    env_file: Annotated[list[EnvFile], BeforeValidator(_list)] = []
    ports: list[Port] = []
    expose: Strings = []
    volumes: list[Mount] = []
    tmpfs: Strings = []
    networks: Annotated[dict[str, ServiceNetwork | None], BeforeValidator(_names)] = {}
    depends_on: Annotated[dict[str, Dependency], BeforeValidator(_depends)] = {}
    healthcheck: Healthcheck | None = None
    restart: str | None = None
    labels: Labels = {}
    working_dir: str | None = None
    user: str | None = None
    init: bool | None = None
    hostname: str | None = None
    stop_signal: str | None = None
    stop_grace_period: Duration | None = None
    extra_hosts: Annotated[list[str], BeforeValidator(_hosts)] = []
    cap_add: list[str] = []
    cap_drop: list[str] = []
    read_only: bool | None = None
    privileged: bool | None = None
    tty: bool | None = None
    stdin_open: bool | None = None
    ulimits: dict[str, Ulimit] = {}
    deploy: Deploy | None = None
    scale: int | None = Field(None, ge=0)
    profiles: list[str] = []
    container_name: str | None = None
    cpus: float | None = None
    mem_limit: Size | None = None
    configs: list[FileRef] = []
    secrets: list[FileRef] = []

    @field_validator("restart")
    @classmethod
    def _restart(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"no|always|unless-stopped|on-failure(:\d+)?", value):
            raise ValueError(f"invalid restart policy {value!r}: use no, always, unless-stopped "
                             "or on-failure[:N]")
        return value

    @field_validator("container_name")
    @classmethod
    def _container_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", value):
            raise ValueError(f"invalid container name {value!r}")
        return value

    @property
    def replicas(self) -> int:
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1 if self.scale is None else self.scale


class NetworkSpec(Model):
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, str] = {}
    external: bool = False
    internal: bool = False
    attachable: bool = False
    labels: Labels = {}


class VolumeSpec(Model):
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, str] = {}
    external: bool = False
    labels: Labels = {}


class FileObject(Model):
    name: str | None = None
    file: str | None = None
    external: bool = False

    @model_validator(mode="after")
    def _needs_file(self) -> "FileObject":
        if not self.file and not self.external:
            raise ValueError("give a file: (environment: and content: are not supported)")
        if self.external:
            raise ValueError("external configs and secrets are a Swarm feature; use file:")
        return self


class ComposeFile(Model):
    version: str | None = None  # obsolete; accepted and ignored, as Compose does
    name: str | None = None
    services: dict[str, Service] = {}
    networks: dict[str, NetworkSpec | None] = {}
    volumes: dict[str, VolumeSpec | None] = {}
    configs: dict[str, FileObject] = {}
    secrets: dict[str, FileObject] = {}

    @field_validator("services")
    @classmethod
    def _service_names(cls, value: dict) -> dict:
        for name in value:
            if not re.fullmatch(r"[a-zA-Z0-9._-]+", name):
                raise ValueError(f"invalid service name {name!r}: use letters, digits, '.', '_' and '-'")
        return value


# -- error messages ------------------------------------------------------------------------------
def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or str(part) in ("function-after", "function-before"):
            continue  # pydantic's own names for union branches and validators
        else:
            out += f".{part}" if out else str(part)
    return out


def describe(error: dict) -> str:
    loc = error["loc"]
    key = str(loc[-1]) if loc else ""
    if error["type"] == "extra_forbidden":
        if key in UNSUPPORTED:
            return f"{_path(loc)}: {key!r} is not supported by jupyter-containers' compose"
        return f"{_path(loc)}: unknown key {key!r}"
    if error["type"] == "missing":
        return f"{_path(loc)}: required"
    message = error["msg"].removeprefix("Value error, ")
    return f"{_path(loc)}: {message}" if loc else message


def validate(data: dict, source: str) -> ComposeFile:
    """The mapping as a ``ComposeFile``; the first problem (and how many more) as one line."""
    try:
        return ComposeFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ComposeFileError(f"{source}: {describe(errors[0])}{more}") from None
