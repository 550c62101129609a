"""Volumes: list, create, inspect, remove, prune."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Mapping

from . import specs
from .errors import Conflict, NotFound
from .records import Volume

if TYPE_CHECKING:
    import pandas

    from .client import Engine

_ANONYMOUS = re.compile(r"[0-9a-f]{64}")  # the engine's name for a volume created without one


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
        """Remove unused volumes: anonymous ones, or named ones too with ``all``.

        Engines before API 1.42 prune named volumes too and have no switch for it;
        there the unused anonymous ones are removed one by one instead.
        """
        filters = specs.parse_filters(filters) or {}
        from docker.utils import version_gte

        if not version_gte(self._api.api_version, "1.42"):
            if not all:
                return self._prune_anonymous(filters)
        elif all:
            filters.setdefault("all", ["true"])
        with self._engine.translated("volume prune"):
            answer = self._api.prune_volumes(filters=filters)
        return {"deleted": answer.get("VolumesDeleted") or [],
                "space_reclaimed": int(answer.get("SpaceReclaimed") or 0)}

    def _prune_anonymous(self, filters: dict[str, list[str]]) -> dict:
        """``prune`` without ``all`` on an engine whose prune takes named volumes too."""
        negated = filters.pop("label!", [])  # prune's filter, unknown to the listing

        def excluded(volume: Volume) -> bool:
            return any(volume.labels.get(key) == value if eq else key in volume.labels
                       for key, eq, value in (f.partition("=") for f in negated))

        unused = self.list({**filters, "dangling": ["true"]})
        names = [v.name for v in unused if _ANONYMOUS.fullmatch(v.name) and not excluded(v)]
        if not names:
            return {"deleted": [], "space_reclaimed": 0}
        with self._engine.translated("volume prune"):
            sizes = {v["Name"]: max(int((v.get("UsageData") or {}).get("Size") or 0), 0)
                     for v in self._api.df().get("Volumes") or []}
        deleted = []
        for name in names:
            try:
                self.remove(name)
            except (NotFound, Conflict):  # gone meanwhile, or taken into use
                continue
            deleted.append(name)
        return {"deleted": deleted, "space_reclaimed": sum(sizes.get(n, 0) for n in deleted)}
