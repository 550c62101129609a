"""Models of the Compose Specification's less common service keys: devices, GPUs, block IO,
logging, lifecycle hooks, deploy, IPAM. Each short syntax is normalised to the long one."""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator


def _size(value: Any) -> int | None:
    from ..engine import spec_parse
    from ..engine.errors import InvalidArgument

    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return spec_parse.parse_size(str(value))
    except InvalidArgument:
        raise ValueError(f"invalid size {value!r}: use bytes or a number with k, m or g, e.g. 512m") from None


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


Size = Annotated[int, BeforeValidator(_size), PlainSerializer(str)]
Words = Annotated[list[str] | None, BeforeValidator(_words)]
Env = Annotated[dict[str, str | None], BeforeValidator(_mapping("="))]
Labels = Annotated[dict[str, str], BeforeValidator(_mapping("="))]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data


class Device(Model):
    """``/dev/x[:/dev/y[:rwm]]`` or the long form."""

    source: str
    target: str | None = None
    permissions: str = "rwm"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        parts = data.split(":")
        if len(parts) > 3 or not parts[0]:
            raise ValueError(f"invalid device {data!r}: use /dev/HOST[:/dev/CONTAINER[:rwm]]")
        out = {"source": parts[0], "target": parts[1] if len(parts) > 1 else parts[0]}
        if len(parts) == 3:
            out["permissions"] = parts[2]
        return out

    @model_validator(mode="after")
    def _check(self) -> "Device":
        if not set(self.permissions) <= set("rwm") or not self.permissions:
            raise ValueError(f"invalid device permissions {self.permissions!r}: use r, w and m")
        return self


class DeviceRequest(Model):
    """A GPU (``gpus:`` or ``deploy.resources.reservations.devices``)."""

    capabilities: list[str] = ["gpu"]
    count: int | Literal["all"] | None = None
    device_ids: list[str] | None = None
    driver: str | None = None
    options: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> "DeviceRequest":
        if self.count is not None and self.device_ids:
            raise ValueError("give count or device_ids, not both")
        return self


def _gpus(value: Any) -> Any:
    return [{"count": "all"}] if value == "all" else value


Gpus = Annotated[list[DeviceRequest], BeforeValidator(_gpus)]


class WeightDevice(Model):
    path: str
    weight: int = Field(ge=0, le=1000)


class RateDevice(Model):
    path: str
    rate: Size


class BlkioConfig(Model):
    weight: int | None = Field(None, ge=0, le=1000)
    weight_device: list[WeightDevice] = []
    device_read_bps: list[RateDevice] = []
    device_write_bps: list[RateDevice] = []
    device_read_iops: list[RateDevice] = []
    device_write_iops: list[RateDevice] = []


class Logging(Model):
    driver: str | None = None
    options: dict[str, str | None] = {}


class Hook(Model):
    """``post_start`` / ``pre_stop``: a command run in the container (as ``exec``)."""

    command: Words
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Env = {}


class Limits(Model):
    cpus: float | None = None
    memory: Size | None = None
    pids: int | None = None


class Reservations(Model):
    cpus: float | None = None
    memory: Size | None = None
    devices: list[DeviceRequest] = []
    generic_resources: list[dict] = []


class Resources(Model):
    limits: Limits | None = None
    reservations: Reservations | None = None


class RestartPolicy(Model):
    condition: Literal["none", "on-failure", "any"] = "any"
    delay: str | None = None
    max_attempts: int | None = None
    window: str | None = None


SWARM_ONLY = ("mode", "placement", "update_config", "rollback_config", "endpoint_mode")


class Deploy(Model):
    replicas: int | None = Field(None, ge=0)
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    labels: Env = {}
    mode: str | None = None
    placement: dict | None = None
    update_config: dict | None = None
    rollback_config: dict | None = None
    endpoint_mode: str | None = None

    def swarm_only(self) -> list[str]:
        """The keys only a Swarm does something with (``docker compose`` ignores them too)."""
        return [k for k in SWARM_ONLY if getattr(self, k) not in (None, {}, "replicated")]


class IpamPool(Model):
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: dict[str, str] = {}


class Ipam(Model):
    driver: str | None = None
    config: list[IpamPool] = []
    options: dict[str, str] = {}


_CPU_RT = re.compile(r"^\d+(us|ms|s)?$")


def microseconds(value: Any) -> int | None:
    """``cpu_rt_runtime: 400ms`` or ``95000`` (microseconds) -> microseconds."""
    from ..engine import spec_parse
    from ..engine.errors import InvalidArgument

    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return spec_parse.parse_duration(str(value)) // 1000
    except InvalidArgument:
        raise ValueError(f"invalid duration {value!r}: use microseconds or e.g. 400ms") from None


Micros = Annotated[int, BeforeValidator(microseconds)]
