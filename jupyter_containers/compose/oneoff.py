"""``docker compose run`` and ``create``, and what ``up --pull`` and periodic pull policies need (a mixin
of ``Stack``, beside ``StackVerbs``).

A one-off container (``run``) is named ``PROJECT-SERVICE-run-<12 hex>``, labelled ``oneoff=True`` with a
``slug``; it keeps stdin open (v2's ``-i``), has no TTY (a notebook has no terminal: v2's auto-detection),
no restart policy, no published ports unless ``--service-ports`` or ``-p``, no aliases unless ``--use-aliases``.
"""

from __future__ import annotations

import os
import secrets
import shlex
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

from ..engine import spec_parse as sp
from ..engine.errors import ContainersError, NotFound
from ..engine.records import Container
from .errors import ComposeError
from .project import NUMBER, ONEOFF
from .verbs import INTERRUPT_GRACE, PULL_CHOICES, SLUG

if TYPE_CHECKING:
    from ..engine.spec import ContainerSpec
    from ..engine.streams import LogLine
    from .execute import Stack


class StackRuns:
    """``self.engine``, ``self.project``, ``self.name`` and the executor's methods come from ``Stack``."""

    # -- run, create ---------------------------------------------------------------------------------
    def one_off_spec(self, service: str, command: Iterable[str] = (), *, name: str | None = None,
                     env: Iterable[str] = (), entrypoint: str | None = None, user: str | None = None,
                     workdir: str | None = None, tty: bool = False, interactive: bool = True,
                     detach: bool = False, remove: bool = False, publish: Iterable[str] = (),
                     service_ports: bool = False, labels: Iterable[str] = (), volumes: Iterable[str] = (),
                     use_aliases: bool = False, pull: str | None = None) -> "ContainerSpec":
        """The ContainerSpec of a one-off container of ``service`` (``docker compose run``'s flags); pure."""
        project = self._need_project("run")
        self._check_services([service])
        publish, command = list(publish), list(command)
        if publish and service_ports:
            raise ComposeError("--service-ports and --publish are incompatible")
        svc = project.model.services[service]
        spec = project.create_spec(service, 1, self.engine.api._version)
        slug = secrets.token_hex(32)
        spec.name = name or f"{project.name}-{service}-run-{slug[:12]}"
        spec.labels = {**{k: v for k, v in (spec.labels or {}).items() if k != NUMBER},
                       ONEOFF: "True", SLUG: slug, **sp.parse_map(labels, "label")}
        if entrypoint is not None:
            try:
                spec.entrypoint = shlex.split(entrypoint)
            except ValueError as exc:
                raise ComposeError(f"invalid --entrypoint {entrypoint!r}: {exc}") from None
            spec.cmd = command or None
        elif command:
            spec.cmd = command
        if env:
            merged = dict(item.partition("=")[::2] for item in spec.env or ())
            for item in env:
                key, eq, value = item.partition("=")
                if not key:
                    raise ComposeError(f"invalid environment variable {item!r}: use KEY=VALUE or KEY")
                if eq:
                    merged[key] = value
                elif key in os.environ:  # KEY alone: the kernel's value, left out when it has none (as v2)
                    merged[key] = os.environ[key]
            spec.env = [f"{k}={v}" for k, v in merged.items()] or None
        spec.user = user or spec.user
        spec.working_dir = workdir or spec.working_dir
        spec.tty, spec.open_stdin = tty, interactive
        spec.attach_stdin = spec.stdin_once = interactive or None  # as v2 creates it; stdin is closed at start
        spec.attach_stdout = spec.attach_stderr = True
        spec.restart_policy = None  # a one-off stays one
        spec.auto_remove = True if remove and detach else None  # in the foreground, removed here after its exit
        if not service_ports:
            exposed, bindings = sp.parse_publish(publish)
            spec.port_bindings = bindings or None
            spec.exposed_ports = {**sp.parse_expose(svc.expose), **exposed} or None
        for volume in volumes:
            bind, anonymous = sp.parse_volume(volume, cwd=project.working_dir)
            if bind:
                spec.binds = [*(spec.binds or []), bind]
            else:
                spec.volumes = {**(spec.volumes or {}), anonymous: {}}
        if not use_aliases:
            for endpoint in spec.endpoints.values():
                endpoint.aliases = []
        if pull in ("always", "never") and svc.build is None:
            spec.pull = pull
        return spec

    def _enabled_for(self, service: str) -> "Stack":
        """``run`` of a service that its profiles disable enables it (and what it needs), as v2 does."""
        project = self._need_project("run")
        if service in project.services:
            return self
        services, todo = dict(project.services), [service]
        while todo:
            name = todo.pop()
            if name not in services and name in project.model.services:
                services[name] = project.model.services[name]
                todo += list(services[name].depends_on)
        return type(self)(self.engine, replace(project, services=services), on_event=self.on_event,
                          workers=self.workers)

    def _prepare_one_off(self, service: str, command, *, no_deps: bool = False, build: bool = False,
                         pull: str | None = None, check: Callable | None = None, detach: bool,
                         **options) -> tuple[Container, "ContainerSpec"]:
        """Dependencies up (unless ``no_deps``), the image there, the one-off created (not started)."""
        project = self._need_project("run")
        spec = self.one_off_spec(service, command, detach=detach, pull=pull, **options)
        if check is not None:
            check(spec)
        self._pull_option([service], pull)
        deps = sorted(project.deps[service])
        if deps and not no_deps:
            self.up(deps, pull=pull)
        self._ensure_networks(project)
        self._ensure_volumes(project)
        self._build([service], always=build)
        if not no_deps:
            self._wait_for_dependencies(service)
        self._emit(service, "creating", spec.name)
        container = self.engine.containers.create_from(spec)
        files = project.copied_files(service)
        if files:
            try:
                self.engine.containers.put_files(container.id, files)
            except BaseException:
                self.engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
                raise
        self._emit(service, "created", spec.name)
        return container, spec

    def run_detached(self, service: str, command: Iterable[str] = (), **options) -> Container:
        """``docker compose run -d``: a one-off container of ``service``, started and left running (options:
        ``run``'s and ``one_off_spec``'s); its handle. One that could not start is removed again."""
        container, _ = self._enabled_for(service)._prepare_one_off(service, command, detach=True, **options)
        self.engine.containers.start_or_remove(container)
        self._emit(service, "started", container.name)
        return self.engine.containers.get(container.id)

    def run(self, service: str, command: Iterable[str] = (), *, remove: bool = False, no_deps: bool = False,
            build: bool = False, pull: str | None = None, check: Callable | None = None,
            on_output: Callable[["LogLine"], None] | None = None, **options) -> int:
        """``docker compose run``: a one-off container of ``service`` in the foreground; its output goes to
        ``on_output`` as it comes (its stdin is closed: a notebook has none to give), and its exit code
        is returned. With ``remove`` it is removed once ended; one that could not start is always removed.
        ``check(spec)`` may refuse it (the policy); the other options are ``one_off_spec``'s."""
        container, spec = self._enabled_for(service)._prepare_one_off(
            service, command, no_deps=no_deps, build=build, pull=pull, check=check, detach=False, remove=remove,
            **options)
        engine = self.engine
        try:
            output = engine.containers.attach_stream(container.id, stdin=b"" if spec.open_stdin else None)
            try:
                engine.containers.start_or_remove(container)
            except BaseException:
                output.close()
                raise
        except BaseException:
            engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
            raise
        self._emit(service, "started", container.name)
        try:
            with output:
                try:
                    for line in output:
                        if on_output is not None:
                            on_output(line)
                except KeyboardInterrupt:  # SIGINT to the container, as v2 forwards it; then it is stopped
                    try:
                        engine.containers.kill(container.id, "SIGINT")
                        engine.containers.wait(container.id, timeout=INTERRUPT_GRACE)
                    except ContainersError:  # not running any more, or still running after the grace
                        engine.containers.stop(container.id, timeout=INTERRUPT_GRACE)
                    raise
            return engine.containers.wait(container.id)
        finally:
            if remove:
                engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)

    def _pull_option(self, services: Iterable[str], pull: str | None) -> None:
        """``--pull always|missing|never`` for the services' images (built ones aside): ``never`` refuses a
        missing image before anything is made, ``always`` pulls them now."""
        self._pull_stale(services)
        if pull in (None, "missing"):
            return
        if pull not in PULL_CHOICES:
            raise ComposeError(f"invalid --pull {pull!r}: use always, missing or never")
        project = self._need_project("up")
        refs = sorted({project.image(s) for s in services if project.model.services[s].build is None})
        if pull == "never":
            for ref in refs:
                if not self.engine.images.exists(ref):
                    raise ComposeError(f"image {ref} is not on this engine and --pull never forbids pulling it",
                                       operation="pull", target=ref)
            return
        for ref in refs:
            self._emit("", "pulling", detail=ref)
            self.engine.images.pull(ref)
            self._emit("", "pulled", detail=ref)

    def _pull_stale(self, services: Iterable[str]) -> None:
        """``pull_policy: daily|weekly|every_<duration>``: pull an image that is missing, or that was pulled
        (tagged here) longer ago than that."""
        from datetime import timezone

        from .models import pull_period

        project = self._need_project("up")
        for service in services:
            svc = project.model.services[service]
            period = pull_period(svc.pull_policy, svc.pull_refresh_after)
            if period is None or svc.build is not None:
                continue
            ref = project.image(service)
            try:
                raw = self.engine.images.inspect(ref)
            except NotFound:
                raw = None
            stamp = raw and ((raw.get("Metadata") or {}).get("LastTagTime") or raw.get("Created"))
            if stamp and not stamp.startswith("0001-"):
                when = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
                if (datetime.now(timezone.utc) - when).total_seconds() < period:
                    continue
            self._emit(service, "pulling", detail=f"{ref} ({svc.pull_policy})")
            self.engine.images.pull(ref)
            self._emit(service, "pulled", detail=ref)

    def create(self, services: Iterable[str] = (), **up_options):
        """``docker compose create``: the containers, made and not started (``up --no-start``)."""
        return self.up(services, no_start=True, **up_options)

