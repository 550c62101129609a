"""The engine layer: the only package that imports ``docker``."""

from .client import Engine
from .errors import (BuildError, Conflict, ContainerNotFound, ContainersError, EngineUnavailable,
                     ImageNotFound, InvalidArgument, NotFound, NotRecorded, PolicyDenied, PortInUse, PullError,
                     PushError, RegistryAuthError)
from .local import PrivateEngine
from .records import MANAGED_LABEL, SESSION_LABEL, Container, Event, ExecResult, Image, Network, Port, Volume
from .streams import BuildLine, LogLine, PullProgress, Stream

__all__ = [
    "Engine", "PrivateEngine", "Stream",
    "Container", "Image", "Volume", "Network", "Port", "ExecResult", "Event",
    "PullProgress", "BuildLine", "LogLine", "MANAGED_LABEL", "SESSION_LABEL",
    "ContainersError", "EngineUnavailable", "NotFound", "ImageNotFound", "ContainerNotFound",
    "Conflict", "PortInUse", "NotRecorded", "PolicyDenied", "InvalidArgument", "RegistryAuthError", "BuildError", "PullError", "PushError",
]
