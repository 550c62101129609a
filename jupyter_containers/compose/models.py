"""Stage 3: validation into typed models (pydantic), each short syntax normalised to the long one.

``validate(data, source)`` raises ``ComposeFileError`` naming the file and the
path, e.g. ``<cell>: services.web.ports[0]: invalid port '99999:80' ...``.
Keys the specification has and we do not implement are refused by name, never ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (BeforeValidator, Field, PlainSerializer, ValidationError,
                      field_validator, model_validator)

from .errors import ComposeFileError
from .keys import (BlkioConfig, Deploy, Device, Env, Gpus, Hook, Ipam, Labels, Logging, Micros, Model, Size,
                   Words)

# keys of the Compose Specification that cannot be honoured here, each with the reason
UNSUPPORTED = {
    "credential_spec": "a Windows container feature",
    "models": "a Docker Desktop feature (the model runner)",
    "provider": "a Docker Desktop feature (provider plugins)",
    "use_api_socket": "not supported here: mount the engine's socket as a volume if you mean it",
}


def parse_duration(value: Any) -> float | None:
    """``1m30s``, ``10s``, ``500ms`` (Go's syntax, as the CLI's) or a number of seconds -> seconds."""
    from ..engine import spec_parse
    from ..engine.errors import InvalidArgument

    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value is None else float(value)
    try:
        return spec_parse.parse_duration(str(value)) / 1e9
    except InvalidArgument:
        raise ValueError(f"invalid duration {value!r}: use e.g. 10s, 1m30s or 500ms") from None


def format_duration(seconds: float) -> str:
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms" if float(seconds * 1000).is_integer() else f"{round(seconds * 1e6)}us"


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration)]


def _list(value: Any) -> Any:
    return [value] if isinstance(value, (str, int)) else ([] if value is None else value)


Strings = Annotated[list[str], BeforeValidator(_list)]




BUILDKIT_ONLY = ("additional_contexts", "ssh", "secrets", "cache_to", "ulimits", "privileged", "entitlements",
                 "provenance", "sbom")


class Build(Model):
    context: str | None = None
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: Env = {}
    target: str | None = None
    labels: Labels = {}
    cache_from: list[str] = []
    network: str | None = None
    shm_size: Size | None = None
    extra_hosts: Annotated[list[str], BeforeValidator(lambda v: _hosts(v))] = []
    isolation: str | None = None
    platforms: list[str] = []
    tags: list[str] = []
    no_cache: bool = False
    pull: bool = False
    # what only BuildKit can do: refused by name when asked for (see BUILDKIT_ONLY)
    additional_contexts: Labels = {}
    ssh: Strings = []
    secrets: list[Any] = []
    cache_to: list[str] = []
    ulimits: dict[str, Any] = {}
    privileged: bool = False
    entitlements: list[str] = []
    provenance: bool | str | None = None
    sbom: bool | str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"context": data} if isinstance(data, str) else data

    def buildkit_only(self) -> list[str]:
        """The keys asking for what the engine's classic build API cannot do."""
        return [key for key in BUILDKIT_ONLY if getattr(self, key) not in (None, False, [], {}, "false")]


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
        if isinstance(data, str):
            from ..engine import spec_parse
            from ..engine.errors import InvalidArgument

            try:
                spec_parse.parse_publish([data.strip()])
            except InvalidArgument as exc:
                raise ValueError(f"invalid port {data!r}: {str(exc).partition(': ')[2]}") from None
            expanded = _ports([data])
            if len(expanded) != 1:
                raise ValueError(f"invalid port {data!r}: a range here makes several ports")
            return expanded[0]
        return data

    @field_validator("published")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None:
            bounds = [int(p) for p in value.split("-")] if re.fullmatch(r"\d+(-\d+)?", value) else []
            if not bounds or not all(1 <= b <= 65535 for b in bounds) or bounds != sorted(bounds):
                raise ValueError(f"invalid published port {value!r}: ports go from 1 to 65535")
        return value


def _ports(value: Any) -> Any:
    """The short syntax through the docker CLI's parser: ``8000-8002:80-82`` is three ports."""
    from ..engine import spec_parse
    from ..engine.errors import InvalidArgument

    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if not isinstance(item, str):
            out.append(item)
            continue
        try:
            _, bindings = spec_parse.parse_publish([item.strip()])
        except InvalidArgument:
            out.append(item)  # Port says what is wrong with it, at its index
            continue
        for key, entries in bindings.items():
            target, _, protocol = key.partition("/")
            for entry in entries:
                out.append({"target": int(target), "published": entry["HostPort"] or None,
                            "host_ip": entry["HostIp"] or None, "protocol": protocol})
    return out


class BindOptions(Model):
    create_host_path: bool = True
    propagation: Literal["shared", "slave", "private", "rshared", "rslave", "rprivate"] | None = None
    selinux: Literal["z", "Z"] | None = None
    recursive: Literal["enabled", "disabled", "writable", "readonly"] | None = None


class VolumeOptions(Model):
    nocopy: bool = False
    subpath: str | None = None
    labels: dict[str, str] = {}


class TmpfsOptions(Model):
    size: Size | None = None
    mode: int | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _octal(cls, value: Any) -> Any:
        return int(value, 8) if isinstance(value, str) else value


class Mount(Model):
    type: Literal["volume", "bind", "tmpfs", "npipe", "cluster", "image"]
    source: str | None = None
    target: str
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: dict[Literal["subpath"], str] | None = None

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
        propagation = options & {"shared", "slave", "private", "rshared", "rslave", "rprivate"}
        if options - {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"} - propagation:
            raise ValueError(f"invalid volume {data!r}: unknown mode {mode[0]!r}")
        kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
        out = {"type": kind, "source": source, "target": target, "read_only": "ro" in options}
        if kind == "bind":
            out["bind"] = {"create_host_path": True, **({"selinux": "z" if "z" in options else "Z"}
                                                        if options & {"z", "Z"} else {}),
                           **({"propagation": propagation.pop()} if propagation else {})}
        if "nocopy" in options:
            out["volume"] = {"nocopy": True}
        return out

    @model_validator(mode="after")
    def _check(self) -> "Mount":
        if not self.target.startswith("/"):
            raise ValueError(f"the target {self.target!r} must be an absolute path in the container")
        if self.type in ("bind", "image") and not self.source:
            raise ValueError(f"a {self.type} mount needs a source")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount takes no source")
        for kind in ("bind", "volume", "tmpfs"):
            if getattr(self, kind) is not None and self.type != kind:
                raise ValueError(f"{kind} options do not go with a mount of type {self.type}")
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
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = []
    mac_address: str | None = None
    driver_opts: dict[str, str] = {}
    priority: int = 0
    gw_priority: int = 0
    interface_name: str | None = None


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

    @field_validator("mode", mode="before")
    @classmethod
    def _octal(cls, value: Any) -> Any:
        return int(value, 8) if isinstance(value, str) else value

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


_PULL_POLICY = re.compile(r"always|never|missing|if_not_present|build|refresh|daily|weekly|every_(\d+[wdhms])+")


def _pull_policy(value: Any) -> Any:
    if value is not None and not _PULL_POLICY.fullmatch(str(value)):
        raise ValueError(f"invalid pull_policy {value!r}: use always, never, missing, build, refresh, daily, weekly "
                         "or every_<duration> (e.g. every_12h)")
    return value


def _refresh_after(value: Any) -> Any:
    if value is not None and not re.fullmatch(r"(\d+[wdhms])+", str(value)):
        raise ValueError(f"invalid pull_refresh_after {value!r}: use a duration like 12h, 1d or 1w2d")
    return value


def pull_period(policy: str | None, refresh_after: str | None = None) -> float | None:
    """Seconds after which ``daily``, ``weekly``, ``every_<duration>`` and ``refresh`` with
    ``pull_refresh_after`` pull the image again."""
    if policy == "refresh" and refresh_after:
        policy = f"every_{refresh_after}"
    if policy in ("daily", "weekly"):
        return 86400.0 if policy == "daily" else 7 * 86400.0
    if policy and policy.startswith("every_"):
        units = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
        return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([wdhms])", policy)))
    return None


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
    pull_policy: Annotated[str | None, BeforeValidator(_pull_policy)] = None
    pull_refresh_after: Annotated[str | None, BeforeValidator(_refresh_after)] = None
    command: Words = None
    entrypoint: Words = None
    environment: Env = {}
    env_file: Annotated[list[EnvFile], BeforeValidator(_list)] = []
    ports: Annotated[list[Port], BeforeValidator(_ports)] = []
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
    # the engine's container options, as docker run's flags
    annotations: Labels = {}
    attach: bool = True
    blkio_config: BlkioConfig | None = None
    cgroup: Literal["host", "private"] | None = None
    cgroup_parent: str | None = None
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpu_period: Micros | None = None
    cpu_quota: Micros | None = None
    cpu_rt_period: Micros | None = None
    cpu_rt_runtime: Micros | None = None
    cpu_shares: int | None = None
    cpuset: str | None = None
    develop: dict | None = None
    device_cgroup_rules: list[str] = []
    devices: list[Device] = []
    dns: Strings = []
    dns_opt: list[str] = []
    dns_search: Strings = []
    domainname: str | None = None
    external_links: list[str] = []
    gpus: Gpus = []
    group_add: Annotated[list[str], BeforeValidator(lambda v: [str(x) for x in v or []])] = []
    ipc: str | None = None
    isolation: str | None = None
    label_file: Strings = []
    links: list[str] = []
    logging: Logging | None = None
    mac_address: str | None = None
    mem_reservation: Size | None = None
    mem_swappiness: int | None = Field(None, ge=0, le=100)
    memswap_limit: Size | None = None
    network_mode: str | None = None
    oom_kill_disable: bool | None = None
    oom_score_adj: int | None = Field(None, ge=-1000, le=1000)
    pid: str | None = None
    pids_limit: int | None = None
    platform: str | None = None
    post_start: list[Hook] = []
    pre_stop: list[Hook] = []
    runtime: str | None = None
    security_opt: list[str] = []
    shm_size: Size | None = None
    storage_opt: dict[str, str] = {}
    sysctls: Labels = {}
    userns_mode: str | None = None
    uts: str | None = None
    volumes_from: list[str] = []

    @model_validator(mode="after")
    def _network_mode(self) -> "Service":
        if self.network_mode is not None and self.networks:
            raise ValueError("network_mode and networks cannot be combined")
        return self

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
    ipam: Ipam | None = None
    enable_ipv6: bool | None = None
    enable_ipv4: bool | None = None


class VolumeSpec(Model):
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, str] = {}
    external: bool = False
    labels: Labels = {}


class FileObject(Model):
    name: str | None = None
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False
    labels: Labels = {}
    template_driver: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "FileObject":
        if self.external:
            raise ValueError("external configs and secrets are a Swarm feature; use file:, environment: or content:")
        # (environment with content: the variable's value, read while loading)
        if (self.file is not None) + (self.environment is not None or self.content is not None) != 1:
            raise ValueError("give one of file:, environment: or content:")
        if self.template_driver:
            raise ValueError("template_driver is a Swarm feature")
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
            return f"{_path(loc)}: {key!r} is {UNSUPPORTED[key]}"
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
