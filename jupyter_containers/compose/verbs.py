"""The verbs of ``docker compose`` beyond the executor's (a mixin of ``Stack``): kill, rm, pause, unpause,
top, port, images, cp, events, wait, version, and what the flags of up, logs, build and down need beyond the
executor's methods; with Docker Compose v2's behaviour and words. ``run`` and ``create`` are in oneoff.py.
"""

from __future__ import annotations

import json
import os
import queue
import signal as signals
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

from ..engine.container_files import split_cp_arg
from ..engine.errors import ContainersError, NotFound
from ..engine.records import Container
from ..engine.streams import Stream
from .errors import ComposeError, ComposeFileError
from .plan import number
from .project import COMPOSE_VERSION, L, ONEOFF, PROJECT, SERVICE

if TYPE_CHECKING:
    import pandas


SLUG = L + "slug"
PULL_CHOICES = ("always", "missing", "never")
INTERRUPT_GRACE = 3  # seconds a foreground one-off has after SIGINT, then after SIGTERM


def version_info() -> dict[str, str]:
    """This package's version and the Docker Compose line whose names and labels it writes."""
    from .. import __version__

    return {"version": __version__, "compose": f"v{COMPOSE_VERSION}"}


def check_signal(value: str | int) -> str:
    """A signal as moby's ParseSignal takes it (a number, or a name with or without SIG, any case); the
    value to send. Refused here in one line, before any container gets anything."""
    text = str(value).strip()
    if text.isdigit() and 0 < int(text) <= 64:
        return text
    name = text.upper().removeprefix("SIG")
    known = {s.name.removeprefix("SIG") for s in signals.Signals if not s.name.startswith("SIG_")}
    rt = name.startswith(("RTMIN+", "RTMAX-")) and name[6:].isdigit() and 0 < int(name[6:]) <= 15
    if name in known or name in ("RTMIN", "RTMAX") or rt:
        return text
    raise ComposeError(f"invalid signal {text!r}: give a name (SIGTERM, HUP, ...) or a number from 1 to 64",
                       operation="kill", target=text)


class PerContainer(dict):
    """container name -> DataFrame (what ``top`` shows): a heading and a table per container."""

    def _repr_html_(self) -> str:
        import html

        return "".join(f"<h4>{html.escape(name)}</h4>{frame.to_html(index=False)}" for name, frame in self.items())

    def __repr__(self) -> str:
        return "\n\n".join(f"{name}\n{frame.to_string(index=False)}" for name, frame in self.items())


@dataclass(frozen=True)
class ComposeEvent:
    """One container event of a project, as ``docker compose events`` prints it."""

    time: datetime
    service: str
    id: str
    action: str
    attributes: dict

    def __str__(self) -> str:
        attrs = ", ".join(f"{k}={v}" for k, v in sorted(self.attributes.items()))
        return f"{self.time.strftime('%Y-%m-%d %H:%M:%S.%f')} container {self.action} {self.id} ({attrs})"

    def json(self) -> str:
        return json.dumps({"time": self.time.isoformat(), "type": "container", "service": self.service,
                           "id": self.id, "action": self.action, "attributes": self.attributes})

    @classmethod
    def of(cls, event) -> "ComposeEvent":
        nanos = event.raw.get("timeNano") or int(event.raw.get("time", 0)) * 10 ** 9
        return cls(datetime.fromtimestamp(nanos / 1e9).astimezone(), event.attributes.get(SERVICE, ""), event.id,
                   event.action, {k: v for k, v in event.attributes.items() if not k.startswith(L)})


class StackVerbs:
    """The verbs of ``docker compose`` that ``Stack`` (execute.py) gets from here; ``self`` is a Stack."""

    _deadline: tuple[float, float] | None = None  # during ``up --wait-timeout S``: (when waiting ends, S)

    # -- which containers -------------------------------------------------------------------------
    def _listed(self, services: Iterable[str] = (), *, all: bool = True, oneoff: str = "exclude") -> list[Container]:
        """The project's containers (``oneoff``: exclude, include or only the ones ``run`` made), by
        service and number, one-offs last; one engine call."""
        wanted = set(services)
        rows = self.engine.containers.list(all=all, filters={"label": [f"{PROJECT}={self.name}"]})
        keep = {"exclude": lambda c: c.labels.get(ONEOFF, "False") != "True", "include": lambda c: True,
                "only": lambda c: c.labels.get(ONEOFF) == "True"}[oneoff]
        rows = [c for c in rows if c.labels.get(PROJECT) == self.name and keep(c)
                and (not wanted or c.labels.get(SERVICE) in wanted)]
        return sorted(rows, key=lambda c: (c.labels.get(ONEOFF) == "True", c.labels.get(SERVICE, ""), number(c),
                                           c.name))

    def _check_services(self, services: Iterable[str]) -> list[str]:
        """The names, when the file is known and has them all (a profile's service counts)."""
        services = list(services)
        if self.project is not None:
            for name in services:
                if name not in self.project.model.services:
                    known = ", ".join(self.project.services) or "none"
                    raise ComposeFileError(f"no such service: {name!r} (services: {known})")
        return services

    def _of_the_file(self, containers: list[Container]) -> list[Container]:
        """Without the orphans (services no longer in the file), when there is a file."""
        if self.project is None:
            return containers
        return [c for c in containers if c.labels.get(SERVICE) in self.project.model.services]

    def _specified(self, service: str, index: int | None = None, *, all: bool = False,
                   oneoff: str = "include") -> Container:
        """v2's getSpecifiedContainer: the service's container number ``index`` (default: the lowest)."""
        self._check_services([service])
        found = [c for c in self._listed([service], all=all, oneoff=oneoff) if not index or number(c) == index]
        if not found:
            suffix = f" container #{index}" if index else ""
            raise ComposeError(f"service {service!r} is not running{suffix} in project {self.name}",
                               target=service)
        return found[0]

    # -- up, attached -------------------------------------------------------------------------------
    def up_attached(self, services: Iterable[str] = (), *, exit_code_from: str | None = None,
                    timeout: int | None = None, on_line: Callable[[str], None] = print, **up_options) -> int:
        """``up --abort-on-container-exit`` (and ``--exit-code-from SERVICE``): up, then the containers'
        output, prefixed with their names, until one stops; then the others are stopped. The exit code of
        ``exit_code_from``'s container, else of the first that stopped."""
        project = self._need_project("up")
        services = list(services)
        selected = services if up_options.get("no_deps") else project.select(services)
        if up_options.get("no_deps"):
            project.select(services)  # checks the names
        if exit_code_from is not None and exit_code_from not in selected:
            why = "is not a service of this file" if exit_code_from not in project.model.services else \
                "is not in the services started"
            raise ComposeError(f"--exit-code-from {exit_code_from}: the service {why} "
                               f"(services: {', '.join(selected)})")
        self.up(services, **up_options)
        attached = sorted(set(services or selected) | ({exit_code_from} if exit_code_from else set()))
        return self._attach(self.containers(attached), selected, exit_code_from, timeout, on_line)

    def _attach(self, containers: list[Container], selected: list[str], exit_code_from: str | None,
                timeout: int | None, on_line: Callable[[str], None]) -> int:
        width = max((len(c.name) for c in containers), default=0)
        lines: queue.Queue = queue.Queue()
        streams = [self.engine.containers.follow_logs(c.id) for c in containers]

        def pump(container: Container, stream) -> None:
            try:
                for line in stream:
                    lines.put(("line", container, line))
            except Exception as exc:  # noqa: BLE001 - handed to the reader
                lines.put(("error", container, exc))
            lines.put(("end", container, None))

        for container, stream in zip(containers, streams):
            threading.Thread(target=pump, args=(container, stream), daemon=True).start()
        first = chosen = None
        aborting, running = False, len(containers)
        try:
            while running:
                kind, container, item = lines.get()
                if kind == "line":
                    on_line(f"{container.name:<{width}} | {item.text}")
                elif kind == "error":
                    raise item
                else:
                    running -= 1
                    code = self.engine.containers.inspect(container.id)["State"]["ExitCode"]
                    first = code if first is None else first
                    if container.labels.get(SERVICE) == exit_code_from and chosen is None:
                        chosen = code
                    if not aborting:
                        on_line(f"{container.name} exited with code {code}")
                        on_line("Aborting on container exit...")
                        aborting = True
                        self._stop_running(selected, timeout)
        except KeyboardInterrupt:
            for stream in streams:
                stream.close()
            self._stop_running(selected, timeout)  # as v2 on Ctrl-C: the containers are stopped
            raise
        finally:
            for stream in streams:
                stream.close()
        return (chosen if exit_code_from else first) or 0

    def _stop_running(self, services: list[str], timeout: int | None) -> None:
        present = sorted({c.labels.get(SERVICE, "") for c in self.containers(services, all=False)})
        if present:
            self.stop(present, timeout=timeout)

    # -- logs ------------------------------------------------------------------------------------
    def _log_containers(self, services: Iterable[str], index: int | None) -> list[Container]:
        containers = self.containers(self._check_services(services))
        return [c for c in containers if not index or number(c) == index]

    def log_text(self, services: Iterable[str] = (), *, tail: int | str | None = None, since=None, until=None,
                 timestamps: bool = False, prefix: bool = True, index: int | None = None) -> str:
        """``logs``: each container's output so far (``since``/``until`` as the docker CLI takes them),
        each line after its container's name unless ``prefix`` is False, with the engine's time first
        with ``timestamps``."""
        containers = self._log_containers(services, index)
        width = max((len(c.name) for c in containers), default=0)
        out = []
        for c in containers:
            text = self.engine.containers.logs(c.id, tail=tail, since=since, until=until, timestamps=timestamps)
            out += [f"{c.name:<{width}} | {line}" if prefix else line for line in text.splitlines()]
        return "\n".join(out) + ("\n" if out else "")

    def log_stream(self, services: Iterable[str] = (), *, tail: int | str | None = None, since=None, until=None,
                   timestamps: bool = False, index: int | None = None):
        """``logs -f``: a closeable stream of (container name, LogLine) until every container stopped
        (or ``until``); with ``timestamps`` each line's text starts with the engine's time."""
        from .follow import MergedLogs

        return MergedLogs([(c.name, self.engine.containers.follow_logs(
            c.id, tail=tail, since=since, until=until, timestamps=timestamps, stamped_text=timestamps))
            for c in self._log_containers(services, index)])

    # -- build, down --rmi -------------------------------------------------------------------------
    def build_with(self, services: Iterable[str] = (), *, no_cache: bool = False, pull: bool = False,
                   build_args: Iterable[str] = ()) -> list[str]:
        """``build --no-cache --pull --build-arg K=V``: the services' images built again with these; the
        services built. ``K`` alone takes the kernel's value (and is left out when it has none)."""
        project = self._need_project("build")
        args = {}
        for item in build_args:
            key, eq, value = item.partition("=")
            if not key:
                raise ComposeError(f"invalid --build-arg {item!r}: use KEY=VALUE or KEY")
            if eq or key in os.environ:
                args[key] = value if eq else os.environ[key]
        chosen = [s for s in project.select(self._check_services(services)) if project.services[s].build is not None]
        changed = {}
        for s in chosen:
            b = project.services[s].build
            update = {"args": {**(b.args or {}), **args}, "no_cache": b.no_cache or no_cache, "pull": b.pull or pull}
            changed[s] = project.services[s].model_copy(update={"build": b.model_copy(update=update)})
        builder = type(self)(self.engine, replace(project, services={**project.services, **changed}),
                             on_event=self.on_event, workers=self.workers)
        builder._build(chosen, always=True)
        return chosen

    def images_to_remove(self, rmi: str) -> list[str]:
        """``down --rmi all|local``: the images of the services (``local``: only those without an
        ``image:``, which Compose names PROJECT-SERVICE), as v2 chooses them; found before ``down``."""
        if rmi not in ("all", "local"):
            raise ComposeError(f"invalid --rmi {rmi!r}: use all or local")
        if self.project is not None:
            services = self.project.services
            refs = {self.project.image(s) for s, svc in services.items() if rmi == "all" or not svc.image}
        else:
            local = {f"{self.name}-{c.labels.get(SERVICE)}" for c in self._listed(oneoff="include")}
            refs = {c.image for c in self._listed(oneoff="include") if rmi == "all" or c.image in local}
        return sorted(r for r in refs if self.engine.images.exists(r))

    def remove_images(self, refs: Iterable[str]) -> list[str]:
        """Remove (untag) these images; one still in use by another container stays, with a warning."""
        removed = []
        for ref in refs:
            try:
                self.engine.images.remove(ref)
            except NotFound:
                continue
            except ContainersError as exc:
                self._emit("", "warning", detail=f"image {ref} stays: {exc}")
                continue
            removed.append(ref)
            self._emit("", "removed", detail=f"image {ref}")
        return removed

    # -- kill, rm, pause, unpause --------------------------------------------------------------------
    def _act(self, containers: list[Container], call: Callable[[str], None], action: str) -> list[str]:
        """``call(id)`` for every container at once, each reported as ``action``; their names."""
        def one(c: Container) -> None:
            call(c.id)
            self._emit(c.labels.get(SERVICE, ""), action, c.name)

        if containers:
            with ThreadPoolExecutor(max(1, min(self.workers, len(containers)))) as pool:
                for future in [pool.submit(one, c) for c in containers]:
                    future.result()
        return [c.name for c in containers]

    def kill(self, services: Iterable[str] = (), signal: str = "SIGKILL", remove_orphans: bool = False) -> list[str]:
        """``kill [-s SIGNAL]``: the signal to the services' running containers (one-offs too); their names."""
        sig = check_signal(signal)
        containers = self._listed(self._check_services(services), all=False, oneoff="include")
        containers = containers if remove_orphans else self._of_the_file(containers)
        return self._act(containers, lambda ref: self.engine.containers.kill(ref, sig), "killed")

    def rm(self, services: Iterable[str] = (), *, stop: bool = False, volumes: bool = False) -> list[str]:
        """``rm [-s] [-v]``: remove the services' stopped containers (``stop``: stop them first); their names."""
        services = self._check_services(services)
        if stop:
            self._act(self._of_the_file(self._listed(services, all=False)), self.engine.containers.stop, "stopped")
        stopped = [c for c in self._of_the_file(self._listed(services))
                   if c.state not in ("running", "paused", "restarting", "removing")]
        return self._act(stopped, lambda ref: self.engine.containers.remove(ref, volumes=volumes, missing_ok=True),
                         "removed")

    def pause(self, services: Iterable[str] = ()) -> list[str]:
        """``pause``: the services' running containers paused; their names."""
        return self._act(self._in_state(services, "running"), self.engine.containers.pause, "paused")

    def unpause(self, services: Iterable[str] = ()) -> list[str]:
        """``unpause``: the services' paused containers unpaused; their names."""
        return self._act(self._in_state(services, "paused"), self.engine.containers.unpause, "unpaused")

    def _in_state(self, services: Iterable[str], state: str) -> list[Container]:
        return [c for c in self._of_the_file(self._listed(self._check_services(services), all=False))
                if c.state == state]

    def remove_one_offs(self, *, timeout: int | None = None) -> list[str]:
        """The containers ``run`` made, stopped and removed (``down --remove-orphans`` does it, as v2)."""
        one_offs = self._listed(oneoff="only")
        self._act([c for c in one_offs if c.state in ("running", "paused", "restarting")],
                  lambda ref: self.engine.containers.stop(ref, timeout=timeout), "stopped")
        return self._act(one_offs, lambda ref: self.engine.containers.remove(ref, force=True, missing_ok=True),
                         "removed")

    # -- top, port, images -------------------------------------------------------------------------
    def top(self, services: Iterable[str] = ()) -> PerContainer:
        """``top``: each running container's processes (ps's columns), by container name."""
        import pandas as pd

        containers = sorted(self._listed(self._check_services(services), all=False, oneoff="include"),
                            key=lambda c: c.name)
        out = PerContainer()
        for c in containers:
            out[c.name] = pd.DataFrame(self.engine.containers.top(c.id))
        return out

    def port(self, service: str, private_port: int, *, protocol: str = "tcp", index: int | None = None) -> str:
        """``port SERVICE PRIVATE_PORT``: where it is published, ``IP:PORT``."""
        c = self._specified(service, index)
        for p in c.ports:
            if p.container_port == int(private_port) and p.protocol == protocol and p.host_port is not None:
                return f"{p.host_ip or '0.0.0.0'}:{p.host_port}"
        published = sorted({f"{p.container_port}/{p.protocol}" for p in c.ports if p.host_port is not None})
        raise ComposeError(f"no port {private_port}/{protocol} for container {c.name}: "
                           f"{'published: ' + ', '.join(published) if published else 'it publishes none'}",
                           operation="port", target=c.name)

    def images(self, services: Iterable[str] = ()) -> "pandas.DataFrame":
        """``images``: the image of each container (one-offs too): container, repository, tag, image_id
        (12 hex digits), size (bytes)."""
        import pandas as pd

        from ..engine import specs

        rows, seen = [], {}
        for c in sorted(self._listed(self._check_services(services), oneoff="include"), key=lambda c: c.name):
            if c.image not in seen:
                try:
                    seen[c.image] = self.engine.images.inspect(c.image)
                except NotFound:  # gone since: what the container says
                    seen[c.image] = {"Id": c.raw.get("ImageID", ""), "Size": 0}
            repository, tag = "", ""
            if not c.image.startswith("sha256:"):
                try:
                    repository, tag = specs.split_reference(c.image)
                except ContainersError:
                    pass
                tag = "" if "@" in c.image else tag or ("latest" if repository else "")
            rows.append((c.name, repository or "<none>", tag or "<none>",
                         seen[c.image]["Id"].removeprefix("sha256:")[:12], int(seen[c.image].get("Size") or 0)))
        return pd.DataFrame(rows, columns=["container", "repository", "tag", "image_id", "size"]).astype(
            {"size": "int64"})

    # -- cp ------------------------------------------------------------------------------------
    def cp(self, source: str, destination: str, *, index: int | None = None, archive: bool = False,
           follow_link: bool = False, all: bool = False) -> list[str]:
        """``cp SERVICE:SRC DEST`` (from the service's first container) or ``cp SRC SERVICE:DEST`` (to every
        container of the service, or to ``index``); ``all``: one-off containers too. The paths written."""
        (src_service, src), (dest_service, dest) = split_cp_arg(source), split_cp_arg(destination)
        if src_service and dest_service:
            raise ComposeError("copying between services is not supported; copy to the host and back")
        if not src_service and not dest_service:
            raise ComposeError("unknown copy direction: say SERVICE:PATH as the source or the destination")
        service, path = (src_service, src) if src_service else (dest_service, dest)
        if not path:
            raise ComposeError(f"bad SERVICE:PATH {service}: (no path after the colon); e.g. {service}:/tmp")
        self._check_services([service])
        if index:
            containers = [self._specified(service, index, all=True, oneoff="exclude")]
        else:
            containers = self._listed([service], oneoff="include" if all else "exclude")
            if not containers:
                raise ComposeError(f"no container found for service {service!r} in project {self.name}",
                                   target=service)
        options = dict(follow_link=follow_link, archive=archive)
        if src_service:
            return [self.engine.containers.cp_from(containers[0].id, src, dest, **options)]
        return [self.engine.containers.cp_to(src, c.id, dest, **options) for c in containers]

    # -- events, wait ---------------------------------------------------------------------------------
    def events(self, services: Iterable[str] = (), *, since=None, until=None) -> "Stream[ComposeEvent]":
        """``events``: a closeable stream of the project's container events, one-offs' left out, as v2
        (``until``: it ends then)."""
        wanted = set(self._check_services(services))
        stream = self.engine.system.events(since=since, until=until,
                                           filters={"label": [f"{PROJECT}={self.name}"], "type": ["container"]})
        return Stream((ComposeEvent.of(e) for e in stream if e.type == "container"
                       and e.attributes.get(ONEOFF) != "True" and (not wanted or e.attributes.get(SERVICE) in wanted)),
                      stream)

    def wait_exit(self, services: Iterable[str] = (), *, down_project: bool = False) -> dict[str, int]:
        """``wait``: until the services' running containers stop (one-offs too); their exit codes by name.
        ``down_project``: the project is taken down when the first one stops."""
        services = self._check_services(services)
        containers = self._listed(services, all=False, oneoff="include")
        if not containers:
            raise ComposeError(f"no containers for project {self.name}"
                               + (f" (services: {', '.join(services)})" if services else ""), operation="wait")
        codes: dict[str, int] = {}
        with ThreadPoolExecutor(len(containers)) as pool:
            pending = {pool.submit(self.engine.containers.wait, c.id): c for c in containers}
            first = True
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    codes[pending.pop(future).name] = future.result()
                if first and down_project:
                    self.remove_one_offs()
                    self.down(remove_orphans=True)
                first = False
        return {c.name: codes[c.name] for c in containers}

    def _dependency_limit(self, timeout: float | None) -> tuple[float, float]:
        """(seconds ``_wait_for_dependencies`` may wait now, the limit to name): ``timeout``, else what is
        left of ``up``'s ``wait_timeout``, else 300."""
        if timeout is not None:
            return timeout, timeout
        if self._deadline is not None:
            deadline, seconds = self._deadline
            return max(0.0, deadline - time.monotonic()), seconds
        return 300.0, 300.0
