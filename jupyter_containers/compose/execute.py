"""Stage 6, the one executor: carries plans out on the engine, in dependency order, in parallel.

A service's work starts as soon as what it depends on is done (and healthy or
completed, when its ``depends_on`` says so); stopping goes the other way. A
failure skips the services that need the failed one and is reported with the
service's name, the reason and what did start.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ..engine.errors import ContainersError, NotFound
from ..engine.records import Container
from . import graph
from .errors import ComposeError
from .plan import Plan, make_plan, number, project_containers
from .oneoff import StackRuns
from .verbs import StackVerbs
from .project import (implicit_deps, CONFIG_FILES, DEPENDS_ON, NETWORK, PROJECT, SERVICE, VERSION, VOLUME, WORKING_DIR,
                      COMPOSE_VERSION, Project, check_name)

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine


@dataclass(frozen=True)
class Event:
    """Progress of one service or container: ``action`` is e.g. created, started, healthy, stopped."""

    service: str
    action: str
    container: str | None = None
    detail: str = ""


class Skipped(Exception):
    """Not done because something it needs failed."""


def run_graph(nodes: Iterable[str], deps: Mapping[str, Iterable[str]], fn: Callable[[str], None],
              workers: int = 16) -> dict[str, BaseException]:
    """``fn(node)`` for each node once all its ``deps`` among ``nodes`` succeeded, as many at once as
    are ready. Returns the failures (a failed node's dependents fail with ``Skipped``)."""
    nodes = list(nodes)
    pending = {n: set(deps.get(n, ())) & set(nodes) for n in nodes}
    done: set[str] = set()
    failed: dict[str, BaseException] = {}
    with ThreadPoolExecutor(max(1, min(workers, len(nodes)))) as pool:
        futures: dict = {}

        def submit_ready() -> None:
            changed = True
            while changed:
                changed = False
                for node, needs in list(pending.items()):
                    if needs & failed.keys():
                        failed[node] = Skipped(f"skipped: {', '.join(sorted(needs & failed.keys()))} failed")
                        del pending[node]
                        changed = True
                    elif needs <= done:
                        futures[pool.submit(fn, node)] = node
                        del pending[node]

        submit_ready()
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                node = futures.pop(future)
                if future.exception() is not None:
                    failed[node] = future.exception()
                else:
                    done.add(node)
            submit_ready()
    return failed


def parallel(fn: Callable, items: list, workers: int = 16) -> None:
    """``fn(item)`` for every item at once; the first error is raised after all ended."""
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


def _failure(service: str, exc: BaseException) -> str:
    text = str(exc)
    return text if text.startswith(f"service {service}: ") else f"service {service}: {text}"


class Stack(StackVerbs, StackRuns):
    """One Compose project on an engine. ``project`` (the resolved file) is needed by
    ``up``, ``build``, ``pull`` and ``config``; the rest work from the name and the labels alone,
    so they also work on stacks started by ``docker compose``/``docker-compose``."""

    def __init__(self, engine: "Engine", project: Project | None = None, *, name: str | None = None,
                 on_event: Callable[[Event], None] | None = None, workers: int = 16):
        if project is None and name is None:
            raise ComposeError("give a project name (-p NAME) or a compose file")
        self.engine = engine
        self.project = project
        self.name = project.name if project is not None else check_name(name)
        self.on_event = on_event or (lambda event: None)
        self.workers = workers

    def _emit(self, service: str, action: str, container: str | None = None, detail: str = "") -> None:
        self.on_event(Event(service, action, container, detail))

    def _need_project(self, verb: str) -> Project:
        if self.project is None:
            raise ComposeError(f"{verb} needs the compose file (a cell body, -f FILE or compose.yaml here)")
        return self.project

    # -- reading ---------------------------------------------------------------------------------
    def containers(self, services: Iterable[str] = (), all: bool = True) -> list[Container]:
        """The project's service containers, in one engine call."""
        rows = self.engine.containers.list(all=all, filters={"label": [f"{PROJECT}={self.name}"]})
        wanted = set(services)
        mine = project_containers(rows, self.name)
        return sorted((c for c in mine if not wanted or c.labels.get(SERVICE) in wanted),
                      key=lambda c: (c.labels.get(SERVICE, ""), number(c)))

    def _deps(self, containers: list[Container]) -> dict[str, set[str]]:
        """Dependencies from the file when there is one, else from the containers' labels."""
        deps: dict[str, set[str]] = {c.labels.get(SERVICE, ""): set() for c in containers}
        if self.project is not None:
            for service, needs in self.project.deps.items():
                deps.setdefault(service, set()).update(needs)
        for c in containers:
            for item in filter(None, (c.labels.get(DEPENDS_ON) or "").split(",")):
                deps[c.labels.get(SERVICE, "")].add(item.split(":")[0])
        return deps

    def ps(self, services: Iterable[str] = ()) -> "pandas.DataFrame":
        """name, service, state, health, status, ports: one row per container."""
        import pandas as pd

        rows = [(c.name, c.labels.get(SERVICE, ""), c.state, c.health or "", c.status,
                 ", ".join(str(p) for p in c.ports)) for c in self.containers(services)]
        return pd.DataFrame(rows, columns=["name", "service", "state", "health", "status", "ports"])

    # -- up ------------------------------------------------------------------------------------
    def up(self, services: Iterable[str] = (), *, build: bool = False, force_recreate: bool = False,
           no_recreate: bool = False, remove_orphans: bool = False, wait: bool = False,
           wait_timeout: float | None = None, replicas: Mapping[str, int] | None = None,
           no_deps: bool = False, pull: str | None = None, no_start: bool = False) -> Plan:
        """Converge the stack on the file: create what is missing, recreate what changed, start
        what is stopped (``no_start``: create only). ``pull``: always, missing or never (``--pull``);
        ``wait_timeout`` bounds ``wait`` (default 120 s) and the waits for dependencies' conditions
        (default 300 s). Returns the plan it carried out."""
        project = self._need_project("up")
        chosen = list(services) if no_deps else project.select(services)
        if no_deps:
            project.select(chosen)  # checks the names
        for service in chosen:  # what this engine cannot do is refused before anything is made
            project.create_spec(service, 1, self.engine.api._version)
        self._pull_option(chosen, pull)
        self._build(chosen, always=build)
        image_ids = self._image_ids(chosen)
        plan = make_plan(project, self.containers(), chosen, force_recreate=force_recreate,
                         no_recreate=no_recreate, replicas=replicas, image_ids=image_ids)
        if plan.orphans:
            names = ", ".join(c.name for c in plan.orphans)
            if remove_orphans:
                parallel(lambda c: self._remove(c, stop=False), plan.orphans, self.workers)
            else:
                self._emit("", "warning", detail=f"orphan containers: {names}; remove them with --remove-orphans")
        self._ensure_networks(project)
        self._ensure_volumes(project)
        # as Compose does: create everything at once (creating needs no dependency), and start each
        # service once it is created and what it depends on is started, healthy or completed
        # (but a container naming another in links, volumes_from, network_mode, ipc or pid needs that one to
        # exist: those wait for its creation; submitted in dependency order, they only wait on earlier tasks)
        self._deadline = (time.monotonic() + wait_timeout, wait_timeout) if wait_timeout else None
        try:
            with ThreadPoolExecutor(max(1, min(self.workers, len(chosen)))) as pool:
                creating: dict = {}
                for s in chosen:
                    needs = [creating[d] for d in implicit_deps(project.services[s]) if d in creating]
                    creating[s] = pool.submit(self._create_after, needs, s, plan)

                def start(service: str) -> None:
                    self._start(service, plan, creating[service].result())

                failures = run_graph(chosen, project.deps, start, self.workers) if not no_start else \
                    {s: f.exception() for s, f in creating.items() if f.exception() is not None}
        finally:
            self._deadline = None
        if failures:
            service, exc = next((s, e) for s, e in failures.items() if not isinstance(e, Skipped))
            running = [c.name for c in self.containers() if c.state == "running"]
            started = f"; running: {', '.join(running)}" if running else "; nothing is running"
            raise ComposeError(f"{_failure(service, exc)}{started} (down removes what was created)",
                               started=running, operation="up", target=service)
        if wait and not no_start:
            self.wait(chosen, timeout=wait_timeout or 120.0)
        return plan

    def _create_after(self, needs: list, service: str, plan: Plan) -> list[Container]:
        for need in needs:
            need.result()  # its failure is this one's too
        return self._create(service, plan)

    def _create(self, service: str, plan: Plan) -> list[Container]:
        """Remove surplus replicas, replace out-of-date containers, create missing ones (not started)."""
        todo = plan.services[service]
        image = self.project.image(service)
        parallel(lambda c: self._remove(c), todo.remove, self.workers)
        parallel(lambda c: self._remove(c), todo.recreate, self.workers)
        numbers = sorted([number(c) for c in todo.recreate] + todo.create)
        out: list[Container] = []
        parallel(lambda n: out.append(self._create_one(service, n, image)), numbers, self.workers)
        return sorted(out, key=number)

    def _create_one(self, service: str, n: int, image: str) -> Container:
        spec = self.project.create_spec(service, n, self.engine.api._version)
        self._emit(service, "creating", spec.name)
        try:
            container = self.engine.containers.create_from(spec)
        except ContainersError as exc:
            if exc.operation == "pull" and image not in str(exc):
                raise ComposeError(f"cannot pull {image}: {exc}", operation="pull", target=image) from None
            raise
        files = self.project.copied_files(service)
        if files:
            try:
                self.engine.containers.put_files(container.id, files)
            except ContainersError:
                self.engine.containers.remove(container.id, force=True, missing_ok=True)
                raise
        self._emit(service, "created", spec.name)
        return container

    def _start(self, service: str, plan: Plan, created: list[Container]) -> None:
        self._wait_for_dependencies(service)
        todo = plan.services[service]

        def start(container: Container) -> None:
            self.engine.containers.start_or_remove(container)
            self._emit(service, "started", container.name)
            self._hooks(service, container, "post_start")

        parallel(start, created + todo.start, self.workers)
        for container in todo.keep:
            self._emit(service, "running", container.name)

    def _hooks(self, service: str, container: Container, which: str) -> None:
        """Run a service's ``post_start`` or ``pre_stop`` commands in ``container``, as docker compose does;
        a command that fails is an error naming the hook."""
        svc = self.project.services.get(service) if self.project else None
        for i, hook in enumerate(getattr(svc, which, None) or []):
            env = {k: v for k, v in hook.environment.items() if v is not None}
            result = self.engine.containers.exec(container.id, hook.command, env=env or None,
                                                 workdir=hook.working_dir, user=hook.user,
                                                 privileged=hook.privileged)
            if result.exit_code:
                raise ComposeError(f"service {service}: {which}[{i}] ({' '.join(hook.command or [])}) exited with "
                                   f"code {result.exit_code}: {(result.stderr or result.output).strip()[-200:]}",
                                   operation=which, target=service)

    def _remove(self, container: Container, stop: bool = True) -> None:
        service = container.labels.get(SERVICE, "")
        if stop and container.state in ("running", "restarting", "paused"):
            self._emit(service, "stopping", container.name)
            if container.state == "running":
                self._hooks(service, container, "pre_stop")
            self.engine.containers.stop(container.id)
        self.engine.containers.remove(container.id, force=True, missing_ok=True)
        self._emit(service, "removed", container.name)

    def _wait_for_dependencies(self, service: str, timeout: float | None = None) -> None:
        """Until the dependencies' conditions hold: for ``timeout`` seconds, else what is left of
        ``up``'s ``wait_timeout``, else 300 s."""
        for dep, spec in self.project.services[service].depends_on.items():
            if spec.condition == "service_started":
                continue
            limit, shown = self._dependency_limit(timeout)
            deadline = time.monotonic() + limit
            self._emit(service, "waiting", detail=f"for {dep} ({spec.condition})")
            while not self._condition_met(dep, spec.condition):
                if time.monotonic() > deadline:
                    raise ComposeError(f"{dep} did not become {spec.condition.removeprefix('service_')} "
                                       f"within {shown:g} s")
                time.sleep(0.1)

    def _condition_met(self, dep: str, condition: str) -> bool:
        containers = self.containers([dep])
        if not containers:
            raise ComposeError(f"dependency {dep} has no container")
        for c in containers:
            if condition == "service_completed_successfully":
                if c.state in ("exited", "dead"):
                    code = self.engine.containers.inspect(c.id)["State"]["ExitCode"]
                    if code:
                        raise ComposeError(f"dependency {c.name} exited with code {code}")
                    continue
                return False
            health = self.engine.containers.inspect(c.id)["State"].get("Health")
            if health is None:
                raise ComposeError(f"dependency {dep} has no healthcheck, so it cannot become healthy")
            if c.state != "running":
                raise ComposeError(f"dependency {c.name} is {c.state}{_last_lines(self.engine, c)}")
            if health["Status"] == "unhealthy":
                raise ComposeError(f"dependency {c.name} is unhealthy{_last_lines(self.engine, c)}")
            if health["Status"] != "healthy":
                return False
        self._emit(dep, "healthy" if condition == "service_healthy" else "completed")
        return True

    def wait(self, services: Iterable[str] = (), timeout: float = 120.0) -> None:
        """Until every container is running (and healthy, with a healthcheck); on timeout the
        error shows each one that is not, with its last log lines."""
        services = list(services)
        completes = {d for s in (self.project.services.values() if self.project else ())
                     for d, spec in s.depends_on.items() if spec.condition == "service_completed_successfully"}
        deadline = time.monotonic() + timeout
        while True:
            containers = self.containers(services)
            waiting = [c for c in containers if not (
                (c.state == "running" and c.health in (None, "healthy"))
                or (c.state == "exited" and c.labels.get(SERVICE) in completes and "(0)" in c.status))]
            failed = [c for c in waiting if c.state in ("exited", "dead") or c.health == "unhealthy"]
            if not waiting:
                for c in containers:
                    self._emit(c.labels.get(SERVICE, ""), c.health or c.state, c.name)
                return
            if failed or time.monotonic() > deadline:
                shown = failed or waiting
                why = "; ".join(f"{c.name} is {c.state}{' (' + c.health + ')' if c.health else ''}"
                                f"{_last_lines(self.engine, c)}" for c in shown)
                head = "failed" if failed else f"not ready after {timeout:g} s"
                raise ComposeError(f"{head}: {why}", operation="up --wait",
                                   started=[c.name for c in containers if c.state == "running"])
            time.sleep(0.1)

    # -- images, networks, volumes -------------------------------------------------------------
    def _build(self, services: list[str], always: bool = False) -> None:
        project = self.project
        for service in services:
            svc = project.services[service]
            image = project.image(service)
            if svc.build is None or not (always or svc.pull_policy == "build"
                                         or not self.engine.images.exists(image)):
                continue
            b = svc.build
            for key in b.buildkit_only():
                raise ComposeError(f"service {service}: build.{key} needs BuildKit, which the engine's build API "
                                   "here (the classic builder) cannot do", operation="build", target=service)
            if len(b.platforms) > 1:
                raise ComposeError(f"service {service}: build.platforms names {len(b.platforms)}; the classic "
                                   "builder builds one platform at a time", operation="build", target=service)
            self._emit(service, "building", detail=image)
            dockerfile = b.dockerfile_inline if b.dockerfile_inline is not None else b.dockerfile
            try:
                self.engine.images.build(b.context, dockerfile=dockerfile, tag=[image, *b.tags],
                                         build_args=b.args or None, target=b.target, labels=b.labels or None,
                                         cache_from=b.cache_from, network=b.network, shm_size=b.shm_size,
                                         extra_hosts=b.extra_hosts, isolation=b.isolation,
                                         platform=b.platforms[0] if b.platforms else None,
                                         no_cache=b.no_cache, pull=b.pull)
            except ContainersError as exc:
                raise ComposeError(_failure(service, exc), operation="build", target=service) from None
            self._emit(service, "built", detail=image)

    def build(self, services: Iterable[str] = ()) -> None:
        project = self._need_project("build")
        self._build([s for s in project.select(services) if project.services[s].build is not None], always=True)

    def pull(self, services: Iterable[str] = (), on_progress=None) -> list[str]:
        project = self._need_project("pull")
        refs = sorted({project.image(s) for s in project.select(services) if project.services[s].build is None})

        def pull_one(ref: str) -> None:
            self._emit("", "pulling", detail=ref)
            self.engine.images.pull(ref, on_progress=on_progress)
            self._emit("", "pulled", detail=ref)

        parallel(pull_one, refs, self.workers)
        return refs

    def _image_ids(self, services: list[str]) -> dict[str, str]:
        ids, by_ref = {}, {}
        for service in services:
            ref = self.project.image(service)
            if ref not in by_ref:
                try:
                    by_ref[ref] = self.engine.images.inspect(ref)["Id"]
                except NotFound:
                    by_ref[ref] = None
            if by_ref[ref]:
                ids[service] = by_ref[ref]
        return ids

    @staticmethod
    def _require_external(kind: str, name: str, inspect) -> None:
        """An external network or volume is the user's to create; say so if it is missing."""
        try:
            inspect(name)
        except NotFound:
            raise ComposeError(f"{kind} {name} is declared as external but does not exist; "
                               "create it first", operation="up", target=name) from None

    def _ensure_networks(self, project: Project) -> None:
        existing = {n.name for n in self.engine.networks.list(filters={"label": [f"{PROJECT}={self.name}"]})}
        for key in project.used_networks():
            spec, name = project.model.networks.get(key), project.network_name(key)
            if spec is not None and spec.external:
                self._require_external("network", name, self.engine.networks.inspect)
                continue
            if name in existing:
                continue
            labels = {**(spec.labels if spec else {}), PROJECT: self.name, NETWORK: key, VERSION: COMPOSE_VERSION}
            try:
                self.engine.networks.create(name, driver=(spec.driver if spec else None) or "bridge",
                                            internal=bool(spec and spec.internal), labels=labels,
                                            attachable=bool(spec and spec.attachable),
                                            options=spec.driver_opts if spec else None,
                                            ipam=_ipam(spec.ipam) if spec and spec.ipam else None,
                                            enable_ipv6=spec.enable_ipv6 if spec else None)
                self._emit("", "created", detail=f"network {name}")
            except ContainersError as exc:
                if exc.status != 409:
                    raise ComposeError(f"network {name}: {exc}", operation="up", target=name) from None

    def _ensure_volumes(self, project: Project) -> None:
        for key in project.used_volumes():
            spec, name = project.model.volumes.get(key), project.volume_name(key)
            if spec is not None and spec.external:
                self._require_external("volume", name, self.engine.volumes.inspect)
                continue
            labels = {**(spec.labels if spec else {}), PROJECT: self.name, VOLUME: key, VERSION: COMPOSE_VERSION}
            self.engine.volumes.create(name, driver=(spec.driver if spec else None) or "local",
                                       options=spec.driver_opts if spec else None, labels=labels)

    # -- down, start, stop, restart ---------------------------------------------------------------
    def down(self, *, volumes: bool = False, remove_orphans: bool = False,
             timeout: int | None = None) -> list[str]:
        """Stop and remove the stack's containers (dependents first, each level at once), then its
        networks, and with ``volumes`` its named volumes and the containers' anonymous ones. The names
        of removed containers."""
        containers = self.containers()
        known = set(self.project.model.services) if self.project is not None else None
        orphans = [c for c in containers if known is not None and c.labels.get(SERVICE) not in known]
        if orphans and not remove_orphans:
            self._emit("", "warning", detail="orphan containers left: " + ", ".join(c.name for c in orphans)
                       + "; remove them with --remove-orphans")
            containers = [c for c in containers if c not in orphans]
        # a container counts as gone for the order once stopped; removing it overlaps what follows
        with ThreadPoolExecutor(self.workers) as removals:
            pending = []

            def stop(container: Container) -> None:
                self._stop(container, timeout)
                pending.append(removals.submit(self._remove_stopped, container, volumes))

            self._in_order(containers, reverse=True, action=stop)
            for future in pending:
                future.result()
        for network in self.engine.networks.list(filters={"label": [f"{PROJECT}={self.name}"]}):
            try:
                self.engine.networks.remove(network.id, missing_ok=True)
                self._emit("", "removed", detail=f"network {network.name}")
            except ContainersError as exc:
                self._emit("", "warning", detail=f"network {network.name} stays: {exc}")
        if volumes:
            for volume in self.engine.volumes.list(filters={"label": [f"{PROJECT}={self.name}"]}):
                self.engine.volumes.remove(volume.name, missing_ok=True)
                self._emit("", "removed", detail=f"volume {volume.name}")
        return [c.name for c in containers]

    def _stop(self, container: Container, timeout: int | None) -> None:
        if container.state in ("running", "restarting", "paused"):
            service = container.labels.get(SERVICE, "")
            self._emit(service, "stopping", container.name)
            if container.state == "running":
                self._hooks(service, container, "pre_stop")
            self.engine.containers.stop(container.id, timeout=timeout)

    def _remove_stopped(self, container: Container, volumes: bool = False) -> None:
        """Remove a stopped container; with ``volumes`` its anonymous volumes too (``down -v``)."""
        self.engine.containers.remove(container.id, force=True, volumes=volumes, missing_ok=True)
        self._emit(container.labels.get(SERVICE, ""), "removed", container.name)

    def _in_order(self, containers: list[Container], reverse: bool, action: Callable[[Container], None]) -> None:
        by_service: dict[str, list[Container]] = {}
        for c in containers:
            by_service.setdefault(c.labels.get(SERVICE, ""), []).append(c)
        deps = self._deps(containers)
        order = graph.reverse(deps) if reverse else deps
        failures = run_graph(by_service, order, lambda s: parallel(action, by_service[s], self.workers),
                             self.workers)
        if failures:
            service, exc = next((s, e) for s, e in failures.items() if not isinstance(e, Skipped))
            raise ComposeError(_failure(service, exc), target=service)

    def stop(self, services: Iterable[str] = (), timeout: int | None = None) -> None:
        def stop(c: Container) -> None:
            if c.state == "running":
                self._hooks(c.labels.get(SERVICE, ""), c, "pre_stop")
            self.engine.containers.stop(c.id, timeout=timeout)
            self._emit(c.labels.get(SERVICE, ""), "stopped", c.name)

        self._in_order(self._existing(services, "stop"), reverse=True, action=stop)

    def start(self, services: Iterable[str] = ()) -> None:
        def start(c: Container) -> None:
            self.engine.containers.start(c.id)
            self._emit(c.labels.get(SERVICE, ""), "started", c.name)

        self._in_order(self._existing(services, "start"), reverse=False, action=start)

    def restart(self, services: Iterable[str] = (), timeout: int | None = None) -> None:
        def restart(c: Container) -> None:
            self.engine.containers.restart(c.id, timeout=timeout)
            self._emit(c.labels.get(SERVICE, ""), "restarted", c.name)

        self._in_order(self._existing(services, "restart"), reverse=False, action=restart)

    def _existing(self, services: Iterable[str], verb: str) -> list[Container]:
        services = list(services)
        containers = self.containers(services)
        missing = set(services) - {c.labels.get(SERVICE) for c in containers}
        if missing or not containers:
            what = ", ".join(sorted(missing)) if missing else f"project {self.name}"
            raise ComposeError(f"no containers for {what}; bring the stack up first", operation=verb)
        return containers

    def scale(self, counts: Mapping[str, int]) -> Plan:
        """Add or remove replicas of the named services (their dependencies are left as they are)."""
        return self.up(list(counts), replicas=counts, no_deps=True)

    # -- logs, exec ---------------------------------------------------------------------------
    def container(self, service: str, index: int = 1) -> Container:
        for c in self.containers([service]):
            if number(c) == index:
                return c
        raise ComposeError(f"service {service} has no container number {index} in project {self.name}")

    def logs(self, services: Iterable[str] = (), tail: int | str | None = None) -> str:
        """Every container's output so far, each line prefixed with its container's name."""
        containers = self.containers(services)
        width = max((len(c.name) for c in containers), default=0)
        out = []
        for c in containers:
            text = self.engine.containers.logs(c.id, tail=tail)
            out += [f"{c.name:<{width}} | {line}" for line in text.splitlines()]
        return "\n".join(out) + ("\n" if out else "")

    def follow_logs(self, services: Iterable[str] = (), tail: int | str | None = None):
        """A closeable stream of (container name, LogLine) from every container until all stop."""
        from .follow import MergedLogs

        containers = self.containers(services)
        return MergedLogs([(c.name, self.engine.containers.follow_logs(c.id, tail=tail)) for c in containers])

    def exec(self, service: str, cmd, index: int = 1, **options):
        return self.engine.containers.exec(self.container(service, index).id, cmd, **options)


def _ipam(ipam) -> dict:
    """A compose network's ``ipam`` in the Engine API's form."""
    pools = [{k: v for k, v in (("Subnet", p.subnet), ("IPRange", p.ip_range), ("Gateway", p.gateway),
                                ("AuxiliaryAddresses", p.aux_addresses or None)) if v} for p in ipam.config]
    return {"Driver": ipam.driver or "default", "Config": pools, "Options": ipam.options or None}


def _last_lines(engine: "Engine", container: Container, count: int = 3) -> str:
    try:
        text = engine.containers.logs(container.id, tail=count)
    except ContainersError:
        return ""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return f"; last log lines: {' / '.join(lines)}" if lines else "; no log output"


def list_stacks(engine: "Engine") -> "pandas.DataFrame":
    """Every Compose project on the engine (ours, docker compose's, docker-compose's): name, status,
    config_files, working_dir; from one listing."""
    import pandas as pd

    stacks: dict[str, dict] = {}
    for c in engine.containers.list(all=True, filters={"label": [PROJECT]}):
        stack = stacks.setdefault(c.labels[PROJECT], {"states": {}, "config_files": c.labels.get(CONFIG_FILES, ""),
                                                      "working_dir": c.labels.get(WORKING_DIR, "")})
        stack["states"][c.state] = stack["states"].get(c.state, 0) + 1
    rows = [(name, ", ".join(f"{state}({n})" for state, n in sorted(s["states"].items())),
             s["config_files"], s["working_dir"]) for name, s in sorted(stacks.items())]
    return pd.DataFrame(rows, columns=["name", "status", "config_files", "working_dir"])
