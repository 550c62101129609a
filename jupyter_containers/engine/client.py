"""``Engine``: one connection to a container engine and the handles on it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from . import errors
from .records import MANAGED_LABEL

REPLAY_HEADER = "X-Jupyter-Containers-Replay"
_UNKNOWN = object()


class Engine:
    """A connected engine; ``engine.containers``, ``.images``, ``.volumes``,
    ``.networks`` and ``.system`` carry the operations.

    ``labels`` are put on everything this engine object creates, on top of
    ``io.jupyter.containers.managed=1``.
    """

    def __init__(self, api, url: str, source: str = "explicit url",
                 labels: dict[str, str] | None = None):
        from .containers import Containers
        from .images import Images
        from .networks import Networks
        from .registry import Credentials
        from .swarm import Nodes, Services, Swarm
        from .system import System
        from .volumes import Volumes

        self.api = api
        self.url = url
        self.source = source
        self.labels = {MANAGED_LABEL: "1", **(labels or {})}
        self.containers = Containers(self)
        self.images = Images(self)
        self.volumes = Volumes(self)
        self.networks = Networks(self)
        self.system = System(self)
        self.credentials = Credentials(self)
        self.swarm = Swarm(self)
        self.nodes = Nodes(self)
        self.services = Services(self)
        self._replay = _UNKNOWN

    @classmethod
    def connect(cls, url: str | None = None, *, labels: dict[str, str] | None = None,
                timeout: float = 3.0, call_timeout: float = 120.0) -> "Engine":
        """Find an engine that answers (see ``connect.py`` for the order).

        Raises ``EngineUnavailable`` within ``timeout`` seconds, listing what
        was tried, when none does.
        """
        from .connect import discover

        found = discover(url, timeout)
        found.client.timeout = call_timeout
        return cls(found.client, found.url, found.source, labels)

    def with_labels(self, labels: dict[str, str]) -> "Engine":
        """The same connection, labelling what it creates with ``labels`` too."""
        other = type(self)(self.api, self.url, self.source, {**self.labels, **labels})
        other.credentials = self.credentials
        other._replay = self._replay
        return other

    @property
    def replay(self) -> str | None:
        """``"replay"`` when this engine is a replay of a recorded session (Binder has no
        engine), ``"recording"`` when it is the recorder's proxy, None for a real engine.

        Read once, from the ``X-Jupyter-Containers-Replay`` header of ``/_ping``.
        """
        if self._replay is _UNKNOWN:
            try:
                response = self.api.get(self.api.base_url + "/_ping", timeout=5)
            except Exception:  # noqa: BLE001 - an engine that does not answer is not known to be a replay
                return None
            value = response.headers.get(REPLAY_HEADER)
            self._replay = value if value in ("replay", "recording") else None
        return self._replay

    def ping(self, timeout: float = 2.0) -> bool:
        try:
            response = self.api.get(self.api.base_url + "/_ping", timeout=timeout)
            return response.status_code == 200
        except Exception:  # noqa: BLE001 - any failure means "does not answer"
            return False

    def ensure_alive(self) -> None:
        """Raise ``EngineUnavailable`` if the engine stopped answering."""
        if not self.ping():
            raise errors.unavailable(self.url)

    @contextmanager
    def translated(self, operation: str, target_kind: str | None = None,
                   target: str | None = None) -> Iterator[None]:
        with errors.translated(operation, target_kind, target, url=self.url):
            yield

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Engine {self.url} ({self.source})>"
