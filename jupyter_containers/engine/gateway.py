"""Registry requests over the engine's socket, when the engine is a replay or the recorder.

``Registries`` speaks the Registry HTTP API directly with ``requests``, which a
replay of a recorded session cannot see. So for such an engine every request
of its ``requests`` session goes over the engine socket instead, as
``METHOD /_registry/{scheme}/{host[:port]}/{path}?{query}``: the recorder
forwards it to the registry and records it, the replay answers it from the
recording. What ``Registries`` sees is unchanged: a 599 (the recorder could
not reach the registry) becomes ``requests``' ``ConnectionError`` again
(``SSLError`` for TLS trouble), so its HTTPS-then-HTTP fallback works as it
does directly; a 501 (not in the recorded session) becomes ``NotRecorded``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from .client import REPLAY_HEADER
from .errors import NotRecorded

if TYPE_CHECKING:
    from .client import Engine

UNREACHABLE = 599


class RegistryGateway(BaseAdapter):
    """A ``requests`` transport adapter sending to the engine socket through docker-py's
    own adapter for it (``UnixHTTPAdapter`` for a unix:// engine)."""

    def __init__(self, engine: "Engine"):
        super().__init__()
        self._base = engine.api.base_url
        self._adapter = engine.api.get_adapter(self._base)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        routed = request.copy()
        routed.url = (f"{self._base}/_registry/{url.scheme}/{url.netloc}{url.path or '/'}"
                      + (f"?{url.query}" if url.query else ""))
        # TLS to the registry is the recorder's business; the engine socket needs none
        response = self._adapter.send(routed, stream=stream, timeout=timeout, verify=True, cert=None, proxies={})
        response.url, response.request = request.url, request
        not_recorded = response.status_code == 501 and response.headers.get(REPLAY_HEADER) == "replay"
        if response.status_code == UNREACHABLE or not_recorded:
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            message = answer.get("message") or f"{request.method} {request.url}: status {response.status_code}"
            if not_recorded:
                raise NotRecorded(message, status=501, operation=request.method.lower(), target=url.netloc)
            error = requests.exceptions.SSLError if answer.get("kind") == "tls" else requests.exceptions.ConnectionError
            raise error(message, request=request)
        return response

    def close(self) -> None:
        """The engine's client owns the socket's connection pool."""
