"""Volumes: list, create, inspect, remove, prune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from . import specs
from .errors import NotFound
from .records import Volume

if TYPE_CHECKING:
    import pandas

    from .client import Engine


class Volumes:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    def list(self, filters: Mapping | Iterable[str] | None = None) -> list[Volume]:
        with self._engine.translated("volume ls"):
            answer = self._api.volumes(filters=specs.parse_filters(filters))
        return [Volume.from_raw(v) for v in answer.get("Volumes") or []]

    def frame(self, filters: Mapping | Iterable[str] | None = None) -> "pandas.DataFrame":
        import pandas as pd

        rows = [(v.name, v.driver, v.mountpoint, v.created) for v in self.list(filters)]
        frame = pd.DataFrame(rows, columns=["name", "driver", "mountpoint", "created"])
        frame["created"] = pd.to_datetime(frame["created"], utc=True)
        return frame

    def create(self, name: str | None = None, *, driver: str = "local", options: Mapping | None = None,
               labels: Mapping | Iterable[str] | None = None) -> Volume:
        with self._engine.translated("volume create", "volume", name):
            answer = self._api.create_volume(name, driver=driver, driver_opts=dict(options or {}) or None,
                                             labels={**self._engine.labels, **specs.parse_labels(labels)})
        return Volume.from_raw(answer)

    def inspect(self, name: str) -> dict:
        with self._engine.translated("volume inspect", "volume", name):
            return self._api.inspect_volume(name)

    def get(self, name: str) -> Volume:
        return Volume.from_raw(self.inspect(name))

    def remove(self, name: str, *, force: bool = False, missing_ok: bool = False) -> None:
        try:
            with self._engine.translated("volume rm", "volume", name):
                self._api.remove_volume(name, force=force)
        except NotFound:
            if not missing_ok:
                raise

    def prune(self, *, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> dict:
        """Remove unused volumes: anonymous ones, or named ones too with ``all``."""
        filters = specs.parse_filters(filters) or {}
        from docker.utils import version_gte

        if all and version_gte(self._api.api_version, "1.42"):
            filters.setdefault("all", ["true"])
        with self._engine.translated("volume prune"):
            answer = self._api.prune_volumes(filters=filters)
        return {"deleted": answer.get("VolumesDeleted") or [],
                "space_reclaimed": int(answer.get("SpaceReclaimed") or 0)}
