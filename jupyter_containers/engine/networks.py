"""Networks: list, create, inspect, remove, prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from . import specs
from .errors import Conflict, NotFound
from .records import Network

if TYPE_CHECKING:
    import pandas

    from .client import Engine


HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"


class Networks:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    def list(self, filters: Mapping | Iterable[str] | None = None) -> list[Network]:
        with self._engine.translated("network ls"):
            rows = self._api.networks(filters=specs.parse_filters(filters))
        return [Network.from_raw(n) for n in rows]

    def frame(self, filters: Mapping | Iterable[str] | None = None) -> "pandas.DataFrame":
        import pandas as pd

        rows = [(n.id[:12], n.name, n.driver, n.scope, n.internal, n.created) for n in self.list(filters)]
        frame = pd.DataFrame(rows, columns=["id", "name", "driver", "scope", "internal", "created"])
        frame["created"] = pd.to_datetime(frame["created"], utc=True)
        return frame

    def create(self, name: str, *, driver: str = "bridge", internal: bool = False,
               labels: Mapping | Iterable[str] | None = None, attachable: bool = False,
               options: Mapping | None = None) -> Network:
        with self._engine.translated("network create", "network", name):
            existing = self._api.networks(names=[name])
        if any(n["Name"] == name for n in existing):  # the engine would allow a second one
            raise Conflict(f"a network named {name!r} already exists", status=409,
                           operation="network create", target=name)
        options = dict(options or {})
        if driver == "bridge" and HOST_BINDING not in options:
            # publish where the engine's default bridge does (the private engine: 127.0.0.1);
            # the engine itself gives user networks 0.0.0.0 whatever its --ip says
            default = self._default_host_binding()
            if default:
                options[HOST_BINDING] = default
        with self._engine.translated("network create", "network", name):
            answer = self._api.create_network(
                name, driver=driver, internal=internal, attachable=attachable or None,
                options=options or None,
                labels={**self._engine.labels, **specs.parse_labels(labels)})
        return self.get(answer["Id"])

    def _default_host_binding(self) -> str | None:
        try:
            options = self.inspect("bridge").get("Options") or {}
        except NotFound:
            return None
        return options.get(HOST_BINDING)

    def inspect(self, ref: str) -> dict:
        with self._engine.translated("network inspect", "network", ref):
            return self._api.inspect_network(ref)

    def get(self, ref: str) -> Network:
        return Network.from_raw(self.inspect(ref))

    def connect(self, network: str, container: str, aliases: list[str] | None = None) -> None:
        with self._engine.translated("network connect", "network", network):
            self._api.connect_container_to_network(container, network, aliases=aliases)

    def disconnect(self, network: str, container: str, force: bool = False) -> None:
        with self._engine.translated("network disconnect", "network", network):
            self._api.disconnect_container_from_network(container, network, force=force)

    def remove(self, ref: str, *, missing_ok: bool = False) -> None:
        try:
            with self._engine.translated("network rm", "network", ref):
                self._api.remove_network(ref)
        except NotFound:
            if not missing_ok:
                raise

    def prune(self, filters: Mapping | Iterable[str] | None = None) -> dict:
        with self._engine.translated("network prune"):
            answer = self._api.prune_networks(filters=specs.parse_filters(filters))
        return {"deleted": answer.get("NetworksDeleted") or []}
