"""Engine discovery.

Order: explicit url > DOCKER_HOST > the current docker context > the default
socket > the rootless socket > Podman's sockets > the private engine. A url the
user chose (explicit, DOCKER_HOST, a context) is final: if it does not answer
we say so rather than quietly use another engine. Sockets are tried in order
and the first that answers wins.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EngineUnavailable, one_line
from .local import PrivateEngine


@dataclass(frozen=True)
class Candidate:
    url: str
    source: str  # which discovery step found it, said by `engine status`
    chosen: bool = False  # the user named it: do not fall through to others
    tls: object = field(default=None, compare=False)


def _current_context() -> str | None:
    name = os.environ.get("DOCKER_CONTEXT")
    if not name:
        config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
        try:
            name = json.loads(config.read_text()).get("currentContext")
        except (OSError, ValueError):
            return None
    return None if name in (None, "", "default") else name


def candidates(url: str | None = None) -> list[Candidate]:
    """Where to look for an engine, in order."""
    if url:
        return [Candidate(url, "explicit url", chosen=True)]
    if os.environ.get("DOCKER_HOST"):
        from docker.utils import kwargs_from_env

        tls = kwargs_from_env().get("tls")
        return [Candidate(os.environ["DOCKER_HOST"], "DOCKER_HOST", chosen=True, tls=tls)]
    context = _current_context()
    if context:
        from docker.context import ContextAPI

        found = ContextAPI.get_context(context)
        if found is None:
            return [Candidate(f"context:{context}", f"docker context {context!r} (not found)", chosen=True)]
        return [Candidate(found.Host, f"docker context {context!r}", chosen=True,
                          tls=found.TLSConfig or None)]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    sockets = [("/var/run/docker.sock", "default socket")]
    if runtime:
        sockets += [(f"{runtime}/docker.sock", "rootless docker socket"),
                    (f"{runtime}/podman/podman.sock", "podman socket (rootless)")]
    sockets += [("/run/podman/podman.sock", "podman socket")]
    private = PrivateEngine()
    sockets += [(str(private.socket), "private engine (jupyter containers engine up)")]
    return [Candidate(f"unix://{path}", source) for path, source in sockets]


def ping_url(url: str, timeout: float, tls=None):
    """An ``APIClient`` talking to ``url``'s engine, or the reason it does not.

    Returns None when the engine answers and ``client=False``; see ``open_client``.
    """
    try:
        open_client(url, timeout, tls).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "does not answer"
        return exc
    return None


def open_client(url: str, timeout: float, tls=None):
    """A docker ``APIClient`` for ``url``, after one round trip (its version)."""
    import docker

    if url.startswith("unix://") and not Path(url[len("unix://"):]).exists():
        raise FileNotFoundError("no socket")
    kwargs = {"use_ssh_client": bool(shutil.which("ssh"))} if url.startswith("ssh://") else {}
    client = docker.APIClient(base_url=url, version="auto", timeout=timeout, tls=tls or False, **kwargs)
    if not url.startswith(("tcp://", "http://", "https://")):
        client.trust_env = False  # no proxy or ~/.netrc applies to a local socket; skips their lookup per call
    return client


@dataclass
class Found:
    client: object
    url: str
    source: str


def discover(url: str | None = None, timeout: float = 3.0) -> Found:
    """The first engine that answers, within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    tried = []
    for candidate in candidates(url):
        left = deadline - time.monotonic()
        if left <= 0:
            tried.append(f"{candidate.url} (not tried: out of time)")
            continue
        try:
            client = open_client(candidate.url, left, candidate.tls)
        except Exception as exc:  # noqa: BLE001
            tried.append(f"{candidate.url} [{candidate.source}]: {_reason(exc)}")
            if candidate.chosen:
                break
            continue
        return Found(client, candidate.url, candidate.source)
    raise EngineUnavailable(
        "no container engine answers; tried " + "; ".join(tried)
        + ". Start one with `jupyter containers engine up`, or set DOCKER_HOST",
        operation="connect")


def _reason(exc: BaseException) -> str:
    text = one_line(exc)
    for marker, short in (("no socket", "no socket"), ("Connection refused", "connection refused"),
                          ("Permission denied", "permission denied"), ("timed out", "timed out"),
                          ("Read timed out", "timed out")):
        if marker in text:
            return short
    return text[:160]
