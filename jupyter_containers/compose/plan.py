"""Stage 5: the plan: what ``up`` creates, recreates, starts, leaves alone and removes.

Pure: it compares the ``Project`` with the containers the engine listed (records
with their labels) and decides; the executor then only carries the plan out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..engine.records import Container
from .project import CONFIG_HASH, NUMBER, ONEOFF, PROJECT, SERVICE, Project


def number(container: Container) -> int:
    try:
        return int(container.labels.get(NUMBER, "0"))
    except ValueError:
        return 0


@dataclass
class ServicePlan:
    service: str
    create: list[int] = field(default_factory=list)  # container numbers to create
    recreate: list[Container] = field(default_factory=list)  # out of date: replaced, same number
    start: list[Container] = field(default_factory=list)  # up to date but not running
    keep: list[Container] = field(default_factory=list)  # up to date and running
    remove: list[Container] = field(default_factory=list)  # beyond the wanted number of replicas

    @property
    def changes(self) -> bool:
        return bool(self.create or self.recreate or self.start or self.remove)

    def describe(self) -> str:
        parts = [f"{label} {len(items)}" for label, items in (
            ("create", self.create), ("recreate", self.recreate), ("start", self.start),
            ("keep", self.keep), ("remove", self.remove)) if items]
        return f"{self.service}: {', '.join(parts) or 'nothing'}"


@dataclass
class Plan:
    project: str
    services: dict[str, ServicePlan]
    orphans: list[Container] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return any(p.changes for p in self.services.values())

    def __str__(self) -> str:
        lines = [p.describe() for p in self.services.values()]
        if self.orphans:
            lines.append("orphans: " + ", ".join(c.name for c in self.orphans))
        return "\n".join(lines)


def project_containers(observed: Iterable[Container], project: str) -> list[Container]:
    """The project's service containers among ``observed`` (one-off containers left out)."""
    return [c for c in observed if c.labels.get(PROJECT) == project and c.labels.get(ONEOFF, "False") != "True"]


def make_plan(project: Project, observed: Iterable[Container], services: Iterable[str] | None = None, *,
              force_recreate: bool = False, no_recreate: bool = False,
              replicas: Mapping[str, int] | None = None, image_ids: Mapping[str, str] | None = None) -> Plan:
    """What to do so that ``services`` (default: all active ones) match the project.

    A container is out of date when its config hash differs, or its image is not
    the one the service's reference names now (``image_ids``, when known).
    """
    mine = project_containers(observed, project.name)
    chosen = list(services) if services is not None else project.select()
    replicas = dict(replicas or {})
    plans = {}
    for service in chosen:
        want = replicas.get(service, project.services[service].replicas)
        current = sorted((c for c in mine if c.labels.get(SERVICE) == service), key=number)
        wanted_hash = project.config_hash(service)
        image_id = (image_ids or {}).get(service)
        plan = ServicePlan(service)
        # keep the lowest numbers, running ones first among equals
        ranked = sorted(current, key=lambda c: (c.state != "running", number(c)))
        kept, plan.remove = sorted(ranked[:want], key=number), ranked[want:]
        for container in kept:
            stale = container.labels.get(CONFIG_HASH) != wanted_hash or (
                image_id is not None and container.raw.get("ImageID", image_id) != image_id)
            if not no_recreate and (force_recreate or stale):
                plan.recreate.append(container)
            elif container.state == "running":
                plan.keep.append(container)
            else:
                plan.start.append(container)
        used = {number(c) for c in kept}
        free = (n for n in range(1, want + len(used) + 2) if n not in used)
        plan.create = [next(free) for _ in range(want - len(kept))]
        plans[service] = plan
    orphans = [c for c in mine if c.labels.get(SERVICE) not in project.model.services]
    return Plan(project.name, plans, orphans)
