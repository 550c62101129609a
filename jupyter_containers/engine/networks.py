"""Networks: list, create, inspect, remove, prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from . import specs
from .errors import Conflict, InvalidArgument, NotFound
from .records import Network

if TYPE_CHECKING:
    import pandas

    from .client import Engine


HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"


def _links(links: Iterable[str] | Mapping[str, str] | None) -> dict[str, str] | None:
    """``["db", "cache:kv"]`` -> {"db": "db", "cache": "kv"}, as ``--link`` gives them."""
    if not links:
        return None
    if isinstance(links, Mapping):
        return dict(links)
    pairs = [str(link).partition(":") for link in links]
    if any(not name for name, _, _ in pairs):
        raise InvalidArgument("invalid --link: use NAME or NAME:ALIAS")
    return {name: alias or name for name, _, alias in pairs}


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
               options: Mapping | None = None, ipam: Mapping | None = None,
               enable_ipv6: bool | None = None) -> Network:
        """``ipam`` in the Engine API's form: {"Driver", "Config": [{"Subnet", "IPRange", "Gateway",
        "AuxiliaryAddresses"}], "Options"}."""
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
                options=options or None, ipam=dict(ipam) if ipam else None, enable_ipv6=enable_ipv6,
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

    def connect(self, network: str, container: str, aliases: list[str] | None = None, *,
                ipv4_address: str | None = None, ipv6_address: str | None = None,
                links: Iterable[str] | Mapping[str, str] | None = None) -> None:
        """Join ``container`` to ``network``; ``links`` are ``NAME[:ALIAS]`` (or a name -> alias map),
        the addresses need a network with a subnet of its own (created with one)."""
        with self._engine.translated("network connect", "network", network):
            self._api.connect_container_to_network(
                container, network, aliases=list(aliases) if aliases else None, ipv4_address=ipv4_address,
                ipv6_address=ipv6_address, links=_links(links))

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
