"""System: info, version, disk usage, the events stream, prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from . import specs
from .records import Event
from .streams import Stream, json_lines

if TYPE_CHECKING:
    import pandas

    from .client import Engine


class System:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    def info(self) -> dict:
        with self._engine.translated("info"):
            return self._api.info()

    def version(self) -> dict:
        with self._engine.translated("version"):
            return self._api.version()

    def df(self) -> dict:
        with self._engine.translated("df"):
            return self._api.df()

    def df_frame(self) -> "pandas.DataFrame":
        """``docker system df``: type, total, active, size, reclaimable (bytes)."""
        import pandas as pd

        usage = self.df()
        images = usage.get("Images") or []
        containers = usage.get("Containers") or []
        volumes = usage.get("Volumes") or []
        cache = usage.get("BuildCache") or []
        rows = [
            ("images", len(images), sum(1 for i in images if i.get("Containers", 0) > 0),
             int(usage.get("LayersSize") or 0),
             sum(int(i.get("Size") or 0) - int(i.get("SharedSize") or 0) for i in images if i.get("Containers", 0) == 0)),
            ("containers", len(containers), sum(1 for c in containers if c.get("State") == "running"),
             sum(int(c.get("SizeRw") or 0) for c in containers),
             sum(int(c.get("SizeRw") or 0) for c in containers if c.get("State") != "running")),
            ("volumes", len(volumes), sum(1 for v in volumes if (v.get("UsageData") or {}).get("RefCount", 0) > 0),
             sum(max(int((v.get("UsageData") or {}).get("Size") or 0), 0) for v in volumes),
             sum(max(int((v.get("UsageData") or {}).get("Size") or 0), 0) for v in volumes
                 if (v.get("UsageData") or {}).get("RefCount", 0) == 0)),
            ("build cache", len(cache), sum(1 for c in cache if c.get("InUse")),
             sum(int(c.get("Size") or 0) for c in cache),
             sum(int(c.get("Size") or 0) for c in cache if not c.get("InUse") and not c.get("Shared"))),
        ]
        return pd.DataFrame(rows, columns=["type", "total", "active", "size", "reclaimable"])

    def events(self, *, since=None, until=None,
               filters: Mapping | Iterable[str] | None = None) -> Stream[Event]:
        """The engine's events as a closeable stream (``until`` ends it by itself)."""
        params = {"filters": specs.parse_filters(filters)}
        if since is not None:
            params["since"] = specs.parse_since(since)
        if until is not None:
            params["until"] = specs.parse_since(until)
        with self._engine.translated("events"):
            from docker.utils import convert_filters

            query = {k: v for k, v in params.items() if v is not None}
            if "filters" in query:
                query["filters"] = convert_filters(query["filters"])
            response = self._api._get(self._api._url("/events"), params=query, stream=True, timeout=None)
            self._api._raise_for_status(response)
        items = (Event.from_raw(item) for item in json_lines(response))
        # with ``until`` the engine ends the stream; an engine gone meanwhile must still raise
        return Stream(items, response, on_end=self._engine.ensure_alive)

    def prune(self, *, all: bool = False, volumes: bool = False,
              filters: Mapping | Iterable[str] | None = None) -> dict:
        """``docker system prune``: stopped containers, unused networks, dangling
        (or with ``all`` every unused) images, and with ``volumes`` unused volumes."""
        engine = self._engine
        containers = engine.containers.prune(filters)
        result = {"containers": containers["deleted"],
                  "networks": engine.networks.prune(filters)["deleted"]}
        images = engine.images.prune(all=all, filters=filters)
        result["images"] = images["deleted"]
        space = containers["space_reclaimed"] + images["space_reclaimed"]
        result["volumes"] = []  # the same keys whatever the flags
        if volumes:
            pruned = engine.volumes.prune(filters=filters)
            result["volumes"] = pruned["deleted"]
            space += pruned["space_reclaimed"]
        result["space_reclaimed"] = space
        return result
