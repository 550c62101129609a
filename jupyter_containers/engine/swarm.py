"""Swarm mode: the swarm an engine belongs to, its nodes, services and tasks.

``engine.swarm``: init, join, join_token, leave, info, update, ``active``.
``engine.nodes``: list, inspect, update (availability, role, labels), remove.
``engine.services``: create from a ``ServiceSpec`` (the Engine API's JSON, as
``service_spec.py`` builds it from the docker CLI's flags and compose from
``deploy:``), list, inspect, update, scale, rollback, remove, tasks, logs, and
``converge``: wait until the tasks match the spec, with progress, or say in
one line why not (the tasks' errors).

On an engine that is not a swarm manager every call but init/join says so in
one line and how (``%container swarm init``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

from . import specs
from .errors import ContainersError, InvalidArgument, NotFound
from .streams import LogLine, Stream, multiplexed_lines

if TYPE_CHECKING:
    from .client import Engine

NAMESPACE_LABEL = "com.docker.stack.namespace"  # what docker stack deploy puts on a stack's objects


class NotSwarmManager(ContainersError):
    kind = "not-swarm-manager"


class NotConverged(ContainersError):
    kind = "not-converged"


def _not_manager(engine: "Engine") -> NotSwarmManager:
    state = engine.system.info().get("Swarm") or {}
    if state.get("LocalNodeState") == "active":
        why = "this engine is a swarm worker, not a manager: run it on a manager, or promote this node"
    else:
        why = "this engine is not in a swarm: `%container swarm init` makes it a one-node swarm's manager"
    return NotSwarmManager(why, status=503)


@contextmanager
def _managed(engine: "Engine", operation: str, kind: str | None = None, target: str | None = None) -> Iterator[None]:
    try:
        with engine.translated(operation, kind, target):
            yield
    except ContainersError as exc:
        if exc.status == 503 or "not a swarm manager" in str(exc) or "not part of a swarm" in str(exc):
            raise _not_manager(engine) from None
        raise


class Swarm:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    @property
    def active(self) -> bool:
        """Is this engine a node of a swarm?"""
        return (self._engine.system.info().get("Swarm") or {}).get("LocalNodeState") == "active"

    @property
    def manager(self) -> bool:
        return bool((self._engine.system.info().get("Swarm") or {}).get("ControlAvailable"))

    def init(self, advertise_addr: str | None = None, *, listen_addr: str = "0.0.0.0:2377",
             force_new_cluster: bool = False, default_addr_pool: Iterable[str] | None = None,
             subnet_size: int | None = None, data_path_port: int | None = None,
             spec: Mapping | None = None) -> str:
        """Make this engine a one-node swarm's manager; the node's id."""
        body = {"ListenAddr": listen_addr, "AdvertiseAddr": advertise_addr or "", "ForceNewCluster": force_new_cluster,
                "Spec": dict(spec or {})}
        if default_addr_pool:
            body["DefaultAddrPool"] = list(default_addr_pool)
        if subnet_size:
            body["SubnetSize"] = subnet_size
        if data_path_port:
            body["DataPathPort"] = data_path_port
        with self._engine.translated("swarm init"):
            response = self._api._post_json(self._api._url("/swarm/init"), data=body)
            return self._api._result(response, json=True)

    def join(self, remote_addrs: Iterable[str], token: str, *, advertise_addr: str | None = None,
             listen_addr: str = "0.0.0.0:2377") -> None:
        body = {"ListenAddr": listen_addr, "AdvertiseAddr": advertise_addr or "",
                "RemoteAddrs": list(remote_addrs), "JoinToken": token}
        with self._engine.translated("swarm join"):
            response = self._api._post_json(self._api._url("/swarm/join"), data=body)
            self._api._raise_for_status(response)

    def leave(self, force: bool = False) -> None:
        with self._engine.translated("swarm leave"):
            response = self._api._post(self._api._url("/swarm/leave"), params={"force": force})
            if response.status_code == 503 and "not part of a swarm" in response.text:
                raise InvalidArgument("this engine is not in a swarm", status=503, operation="swarm leave")
            self._api._raise_for_status(response)  # a manager leaving without force: the engine's reason

    def info(self) -> dict:
        """The swarm's inspect (``docker swarm inspect`` / ``GET /swarm``), with its join tokens."""
        with _managed(self._engine, "swarm inspect"):
            return self._api.inspect_swarm()

    def join_token(self, role: str = "worker", rotate: bool = False) -> str:
        if role not in ("worker", "manager"):
            raise InvalidArgument(f"a join token is for a worker or a manager, not {role!r}")
        if rotate:
            info = self.info()
            with _managed(self._engine, "swarm join-token"):
                self._api.update_swarm(version=info["Version"]["Index"], swarm_spec=info["Spec"],
                                       rotate_worker_token=role == "worker", rotate_manager_token=role == "manager")
        return self.info()["JoinTokens"]["Worker" if role == "worker" else "Manager"]

    def update(self, **changes) -> dict:
        """Change the swarm's spec: keys of ``Spec`` sections, e.g. ``TaskHistoryRetentionLimit`` under
        ``Orchestration`` as ``task_history_limit=``, ``autolock=``, ``cert_expiry=`` (ns)."""
        info = self.info()
        spec = info["Spec"]
        for key, (section, field) in _SWARM_FIELDS.items():
            value = changes.pop(key, None)
            if value is not None:
                spec.setdefault(section, {})[field] = value
        if changes:
            raise InvalidArgument(f"unknown swarm setting {sorted(changes)[0]!r}")
        with _managed(self._engine, "swarm update"):
            self._api.update_swarm(version=info["Version"]["Index"], swarm_spec=spec)
        return self.info()


_SWARM_FIELDS = {"task_history_limit": ("Orchestration", "TaskHistoryRetentionLimit"),
                 "autolock": ("EncryptionConfig", "AutoLockManagers"),
                 "cert_expiry": ("CAConfig", "NodeCertExpiry"),
                 "dispatcher_heartbeat": ("Dispatcher", "HeartbeatPeriod"),
                 "snapshot_interval": ("Raft", "SnapshotInterval")}


class Nodes:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    def list(self, filters: Mapping | Iterable[str] | None = None) -> list[dict]:
        with _managed(self._engine, "node ls"):
            return self._api.nodes(filters=specs.parse_filters(filters))

    def inspect(self, ref: str) -> dict:
        with _managed(self._engine, "node inspect", "node", ref):
            return self._api.inspect_node(ref)

    def update(self, ref: str, *, availability: str | None = None, role: str | None = None,
               labels: Mapping[str, str] | None = None, remove_labels: Iterable[str] = ()) -> dict:
        if availability not in (None, "active", "pause", "drain"):
            raise InvalidArgument(f"invalid availability {availability!r}: use active, pause or drain")
        if role not in (None, "worker", "manager"):
            raise InvalidArgument(f"invalid role {role!r}: use worker or manager")
        node = self.inspect(ref)
        spec = dict(node["Spec"])
        if availability:
            spec["Availability"] = availability
        if role:
            spec["Role"] = role
        spec["Labels"] = {k: v for k, v in {**(spec.get("Labels") or {}), **(labels or {})}.items()
                          if k not in set(remove_labels)}
        with _managed(self._engine, "node update", "node", ref):
            self._api.update_node(node["ID"], node["Version"]["Index"], spec)
        return self.inspect(node["ID"])

    def remove(self, ref: str, force: bool = False) -> None:
        with _managed(self._engine, "node rm", "node", ref):
            self._api.remove_node(ref, force=force)


@dataclass(frozen=True)
class Progress:
    """Where a service is on its way to converging."""
    service: str
    running: int
    desired: int
    update: str | None  # UpdateStatus.State: updating, completed, rollback_started, ... or None
    errors: tuple[str, ...]  # the latest errors of its tasks, most frequent first

    def __str__(self) -> str:
        state = f", update {self.update}" if self.update else ""
        return f"{self.service}: {self.running}/{self.desired} running{state}"


class Services:
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    def create(self, spec: Mapping, registry_auth: str | None = None) -> str:
        """Create the service ``spec`` describes (an Engine API ``ServiceSpec``); its id.
        This engine's labels go on the service."""
        body = dict(spec)
        body["Labels"] = {**self._engine.labels, **(body.get("Labels") or {})}
        headers = {"X-Registry-Auth": registry_auth} if registry_auth else {}
        with _managed(self._engine, "service create", "service", body.get("Name")):
            response = self._api._post_json(self._api._url("/services/create"), data=body, headers=headers)
            return self._api._result(response, json=True)["ID"]

    def list(self, filters: Mapping | Iterable[str] | None = None, status: bool = True) -> list[dict]:
        with _managed(self._engine, "service ls"):
            return self._api.services(filters=specs.parse_filters(filters), status=status)

    def inspect(self, ref: str) -> dict:
        with _managed(self._engine, "service inspect", "service", ref):
            return self._api.inspect_service(ref)

    def update(self, ref: str, spec: Mapping, *, rollback: bool = False, force: bool = False) -> dict:
        """Replace the service's spec with ``spec`` (whole, as inspect's ``Spec``, changed);
        ``rollback`` asks for the previous spec instead. ``force`` restarts its tasks even if nothing changed."""
        current = self.inspect(ref)
        body = dict(spec)
        if force:
            template = body["TaskTemplate"] = dict(body.get("TaskTemplate") or {})
            template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
        params = {"version": current["Version"]["Index"]}
        if rollback:
            params["rollback"] = "previous"
            body = current["Spec"]
        with _managed(self._engine, "service update", "service", ref):
            response = self._api._post_json(self._api._url("/services/{0}/update", current["ID"]), data=body,
                                            params=params)
            self._api._raise_for_status(response)
        return self.inspect(current["ID"])

    def scale(self, ref: str, replicas: int) -> dict:
        if replicas < 0:
            raise InvalidArgument(f"invalid replicas value {replicas}: a number of 0 or more")
        current = self.inspect(ref)
        spec = current["Spec"]
        if "Replicated" not in (spec.get("Mode") or {}):
            raise InvalidArgument(f"service {spec['Name']} is not a replicated service: it cannot be scaled")
        spec["Mode"] = {"Replicated": {"Replicas": int(replicas)}}
        return self.update(current["ID"], spec)

    def rollback(self, ref: str) -> dict:
        current = self.inspect(ref)
        if not current.get("PreviousSpec"):
            raise InvalidArgument(f"service {current['Spec']['Name']} has no previous spec to roll back to")
        return self.update(ref, current["Spec"], rollback=True)

    def remove(self, ref: str) -> None:
        with _managed(self._engine, "service rm", "service", ref):
            self._api.remove_service(ref)

    def tasks(self, ref: str | None = None, filters: Mapping | Iterable[str] | None = None) -> list[dict]:
        """The tasks of service ``ref`` (all services when None), newest first."""
        wanted = dict(specs.parse_filters(filters) or {})
        if ref is not None:
            wanted["service"] = [self.inspect(ref)["ID"]]
        with _managed(self._engine, "service ps", "service", ref):
            found = self._api.tasks(filters=wanted)
        return sorted(found, key=lambda t: t.get("UpdatedAt") or "", reverse=True)

    def logs(self, ref: str, *, follow: bool = False, tail: int | str | None = None, timestamps: bool = False,
             details: bool = True) -> Stream[LogLine]:
        """The service's logs, all tasks' (``docker service logs``): a closeable stream of ``LogLine``;
        with ``details`` each line's text starts with the engine's details (``com.docker.swarm.node.id=...,
        com.docker.swarm.service.id=...,com.docker.swarm.task.id=... ``), which callers turn into names."""
        service = self.inspect(ref)
        tty = bool(((service["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("TTY"))
        params = {"follow": follow, "stdout": True, "stderr": True, "timestamps": timestamps, "details": details,
                  "tail": "all" if tail in (None, "all") else int(tail)}
        with _managed(self._engine, "service logs", "service", ref):
            response = self._api._get(self._api._url("/services/{0}/logs", service["ID"]), params=params,
                                      stream=True, timeout=None)
            self._api._raise_for_status(response)
        return Stream(multiplexed_lines(response.raw, tty, timestamps), response)

    # -- convergence -----------------------------------------------------------------------
    def progress(self, ref: str) -> Progress:
        service = self.inspect(ref)
        spec = service["Spec"]
        tasks = self.tasks(filters={"service": [service["ID"]]})  # the id at hand: no second inspect
        current = [t for t in tasks if t.get("DesiredState") == "running"]
        running = sum(1 for t in current if (t.get("Status") or {}).get("State") == "running")
        mode = spec.get("Mode") or {}
        desired = (mode.get("Replicated") or {}).get("Replicas", 0) if "Replicated" in mode else len(current)
        errors: dict[str, int] = {}
        for task in tasks:
            status = task.get("Status") or {}
            text = status.get("Err") or (status.get("Message") if status.get("State") in ("rejected", "failed") else "")
            if text:
                errors[text] = errors.get(text, 0) + 1
        update = (service.get("UpdateStatus") or {}).get("State")
        return Progress(spec["Name"], running, desired, update,
                        tuple(sorted(errors, key=lambda e: -errors[e])))

    def converge(self, ref: str, *, timeout: float = 120.0, stable: float = 1.0, poll: float = 0.25,
                 on_progress: Callable[[Progress], None] | None = None) -> Progress:
        """Wait until ``ref``'s tasks match its spec (replicated: as many running as replicas; global:
        each one wanted running) and stay so for ``stable`` s, and any update or rollback finished.
        ``NotConverged`` after ``timeout`` s, in one line with where it got and its tasks' errors."""
        deadline = time.monotonic() + timeout
        since = None
        while True:
            progress = self.progress(ref)
            if on_progress is not None:
                on_progress(progress)
            if progress.update in ("paused", "rollback_paused"):
                raise NotConverged(f"service {progress.service}: the update was paused "
                                   f"({'; '.join(progress.errors[:2]) or 'a task failed'})")
            done = progress.running == progress.desired and progress.update not in ("updating", "rollback_started")
            now = time.monotonic()
            since = (since or now) if done else None
            if done and now - since >= stable:
                return progress
            if now >= deadline:
                errors = "; ".join(progress.errors[:3]) or "no task error reported"
                raise NotConverged(f"service {progress.service} did not converge in {timeout:g} s: "
                                   f"{progress.running}/{progress.desired} running; tasks: {errors}")
            time.sleep(poll)


def find(services: Services, ref: str) -> dict:
    """A service by name or id, or ``NotFound`` naming it."""
    try:
        return services.inspect(ref)
    except NotFound:
        raise NotFound(f"no such service: {ref}", status=404, operation="service inspect", target=ref) from None
