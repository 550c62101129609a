"""One error root for everything the engine layer raises.

Classes are chosen by HTTP status and by the operation that failed, never by
the engine's message text. Each error's ``str()`` is one line a user can act on;
structured fields (``status``, ``operation``, ``target``) are kept for callers
that translate errors at the edges (magics, REST handlers).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class ContainersError(Exception):
    """Root of every error jupyter-containers raises on purpose."""

    kind = "error"

    def __init__(self, message: str, *, status: int | None = None,
                 operation: str | None = None, target: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.operation = operation
        self.target = target

    def __str__(self) -> str:
        return self.message


class EngineUnavailable(ContainersError):
    kind = "engine-unavailable"


class EngineTimeout(EngineUnavailable):
    """The engine kept a connection open but sent nothing within the read timeout."""
    kind = "engine-timeout"


class NotFound(ContainersError):
    kind = "not-found"


class ImageNotFound(NotFound):
    kind = "image-not-found"


class ContainerNotFound(NotFound):
    kind = "container-not-found"


class Conflict(ContainersError):
    kind = "conflict"


class PortInUse(Conflict):
    kind = "port-in-use"


class InvalidArgument(ContainersError):
    kind = "invalid-argument"


class RegistryAuthError(ContainersError):
    kind = "registry-auth"


class BuildError(ContainersError):
    kind = "build-failed"


class PullError(ContainersError):
    kind = "pull-failed"


class PushError(ContainersError):
    kind = "push-failed"


class NotRecorded(ContainersError):
    """The engine is a replay of a recorded session (Binder) and this request was not
    in it; the replay answers 501 with a message naming the request."""
    kind = "not-recorded"


# status -> class, refined by what the operation was about
_BY_STATUS = {400: InvalidArgument, 401: RegistryAuthError, 403: Conflict,
              404: NotFound, 409: Conflict, 501: NotRecorded}
_NOT_FOUND_BY_TARGET = {"container": ContainerNotFound, "image": ImageNotFound}


def one_line(text: str) -> str:
    """The engine's explanation, folded to one line and without its prefix."""
    text = " ".join(str(text).split())
    for prefix in ("Error response from daemon: ",):
        text = text.removeprefix(prefix)
    return text


def from_api_error(exc, operation: str, target_kind: str | None = None,
                   target: str | None = None) -> ContainersError:
    """Translate a docker-py ``APIError`` raised by ``operation``."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    explanation = one_line(getattr(exc, "explanation", None) or exc)
    cls = _BY_STATUS.get(status, ContainersError)
    if cls is NotFound:
        cls = _NOT_FOUND_BY_TARGET.get(target_kind, NotFound)
    return cls(explanation, status=status, operation=operation, target=target)


def unavailable(url: str, exc: BaseException | None = None) -> EngineUnavailable:
    why = f" ({one_line(exc)})" if exc is not None else ""
    return EngineUnavailable(
        f"the engine at {url} does not answer{why}; "
        "start one with `jupyter containers engine up`",
        operation="connect", target=url)


@contextmanager
def translated(operation: str, target_kind: str | None = None,
               target: str | None = None, url: str = "the engine") -> Iterator[None]:
    """Turn docker-py and transport errors inside the block into ours."""
    import http.client

    import docker.errors
    import requests.exceptions
    import urllib3.exceptions

    try:
        yield
    except ContainersError:
        raise
    except docker.errors.APIError as exc:
        raise from_api_error(exc, operation, target_kind, target) from None
    except docker.errors.DockerException as exc:
        raise InvalidArgument(one_line(exc), operation=operation, target=target) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError, ConnectionError,
            http.client.HTTPException, urllib3.exceptions.ProtocolError) as exc:
        raise unavailable(url, exc) from None  # refused, or cut in the middle of an answer (a stream)


class PolicyDenied(ContainersError):
    """A request the deployment's ContainersPolicy does not allow."""

    kind = "policy-denied"
