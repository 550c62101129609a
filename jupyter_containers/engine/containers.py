"""Containers: run, lifecycle, logs, exec, top, inspect, list."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from . import errors, specs
from .errors import Conflict, ContainersError, ImageNotFound, NotFound, PortInUse, PullError, RegistryAuthError
from .records import Container, Port, _ports_from_inspect, _ports_from_list
from .container_files import ContainerFiles
from .exec import ContainerExec
from .streams import LogLine, Stream, multiplexed_lines

if TYPE_CHECKING:
    import pandas

    from .spec import ContainerSpec

    from .client import Engine

LIST_COLUMNS = ["id", "name", "image", "command", "created", "status", "state", "ports"]


class Containers(ContainerExec, ContainerFiles):
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    # -- reading ---------------------------------------------------------------
    def list(self, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> list[Container]:
        """Containers as records, in ONE engine call (no inspect per container)."""
        with self._engine.translated("ps"):
            rows = self._api.containers(all=all, filters=specs.parse_filters(filters))
        return [Container.from_list(row) for row in rows]

    def frame(self, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> "pandas.DataFrame":
        """The listing as a DataFrame: id, name, image, command, created, status, state, ports."""
        import pandas as pd

        with self._engine.translated("ps"):
            rows = self._api.containers(all=all, filters=specs.parse_filters(filters))
        frame = pd.DataFrame(
            [(r["Id"][:12], (r.get("Names") or [""])[0].lstrip("/"), r.get("Image", ""), r.get("Command", ""),
              None, r.get("Status", ""), r.get("State", ""),
              ", ".join(map(str, _ports_from_list(r["Ports"]))) if r.get("Ports") else "") for r in rows],
            columns=LIST_COLUMNS)
        # created (None above) converted for all rows at once
        frame["created"] = pd.to_datetime([r.get("Created", 0) for r in rows], unit="s", utc=True)
        return frame

    def inspect(self, ref: str) -> dict:
        with self._engine.translated("inspect", "container", ref):
            return self._api.inspect_container(ref)

    def get(self, ref: str) -> Container:
        return Container.from_inspect(self.inspect(ref))

    def exists(self, ref: str) -> bool:
        try:
            self.inspect(ref)
        except NotFound:
            return False
        return True

    def logs(self, ref: str, *, tail: int | str | None = None, since=None, until=None,
             timestamps: bool = False, stdout: bool = True, stderr: bool = True, details: bool = False) -> str:
        """The container's output so far, stdout and stderr interleaved, as ``docker logs`` prints it:
        with ``timestamps`` each line starts with the engine's RFC 3339 time (nanoseconds), with
        ``details`` the extra attributes the log driver keeps (``--log-opt labels=...``).

        ``since``/``until`` take the CLI's formats at full precision (see ``specs.unix_nanoseconds``).
        """
        with self._log_stream(ref, follow=False, tail=tail, since=since, until=until, timestamps=timestamps,
                              stdout=stdout, stderr=stderr, details=details, stamped_text=True) as lines:
            return "".join(f"{line.text}\n" for line in lines)

    def follow_logs(self, ref: str, *, tail: int | str | None = None, since=None, until=None,
                    timestamps: bool = False, stdout: bool = True, stderr: bool = True, details: bool = False,
                    stamped_text: bool = False) -> Stream[LogLine]:
        """A closeable stream of ``LogLine`` that ends when the container stops (or at ``until``).

        With ``timestamps`` each line's ``time`` is set; with ``stamped_text`` too the engine's own
        stamp (nanoseconds, as ``docker logs -t`` prints it) stays at the start of ``text``.
        It raises ``EngineUnavailable`` if the engine goes away meanwhile.
        """
        return self._log_stream(ref, follow=True, tail=tail, since=since, until=until, timestamps=timestamps,
                                stdout=stdout, stderr=stderr, details=details, stamped_text=stamped_text)

    def _log_stream(self, ref, *, follow, tail, since, timestamps, stdout, stderr, until=None, details=False,
                    stamped_text=False):
        tty = bool(self.inspect(ref)["Config"].get("Tty"))
        params = {"follow": follow, "stdout": stdout, "stderr": stderr, "timestamps": timestamps,
                  "tail": "all" if tail in (None, "all") else int(tail)}
        if details:
            params["details"] = True
        if since is not None:  # SECONDS.NANOSECONDS: whole seconds would return the wrong lines
            params["since"] = specs.api_time(since)
        if until is not None:
            params["until"] = specs.api_time(until)
        with self._engine.translated("logs", "container", ref):
            # docker-py's logs() drops which stream a frame came from; read the frames ourselves
            response = self._api._get(self._api._url("/containers/{0}/logs", ref), params=params,
                                      stream=True, timeout=None)
            self._api._raise_for_status(response)
        lines = multiplexed_lines(response.raw, tty, timestamps and not stamped_text)
        if timestamps and stamped_text:  # the stamp stays in the text (nanoseconds), and is parsed too
            from .records import _ts

            def stamped(line: LogLine) -> LogLine:
                try:
                    return LogLine(line.stream, line.text, _ts(line.text.partition(" ")[0]))
                except ValueError:
                    return line
            lines = map(stamped, lines)
        # a follow stream that ends by itself: the container stopped, or the engine went (not ``until``)
        return Stream(lines, response, on_end=lambda: self._check_ended(ref) if follow and until is None else None,
                      operation=f"logs {ref}", url=self._engine.url)

    def _check_ended(self, ref: str) -> None:
        """A follow stream ended: fine if the container stopped, else the engine is gone."""
        try:
            running = self.inspect(ref)["State"]["Running"]
        except NotFound:
            return
        if running:
            raise errors.unavailable(self._engine.url)

    def top(self, ref: str, ps_args: str | None = None) -> list[dict]:
        """The container's processes, one dict per process keyed by ps's column titles."""
        with self._engine.translated("top", "container", ref):
            answer = self._api.top(ref, ps_args=ps_args)
        titles = answer.get("Titles") or []
        return [dict(zip(titles, row)) for row in answer.get("Processes") or []]

    def port(self, ref: str) -> tuple[Port, ...]:
        """Published ports, as ``docker port`` shows them."""
        ports = _ports_from_inspect(self.inspect(ref)["NetworkSettings"].get("Ports"))
        return tuple(p for p in ports if p.host_port is not None)

    # -- creating --------------------------------------------------------------
    def create(self, image: str, command: str | Sequence[str] | None = None, *,
               name: str | None = None, entrypoint: str | Sequence[str] | None = None,
               env: Mapping | Iterable[str] | None = None, ports: Iterable[str] | Mapping | None = None,
               volumes: Iterable[str] | None = None, labels: Mapping | Iterable[str] | None = None,
               workdir: str | None = None, user: str | None = None, restart: str | None = None,
               cpus: float | None = None, memory: str | int | None = None, network: str | None = None,
               auto_remove: bool = False, tty: bool = False, stdin_open: bool = False,
               hostname: str | None = None, privileged: bool = False,
               pull: str = "missing", on_progress: Callable | None = None,
               mounts: Iterable[Mapping] | None = None, tmpfs: Mapping | Iterable[str] | None = None,
               healthcheck: Mapping | None = None, init: bool | None = None,
               cap_add: Iterable[str] | None = None, cap_drop: Iterable[str] | None = None,
               extra_hosts: Mapping | Iterable[str] | None = None,
               ulimits: Mapping[str, int | tuple[int, int]] | None = None, read_only: bool = False,
               stop_signal: str | None = None, stop_timeout: int | None = None,
               networks: Mapping[str, Iterable[str] | None] | None = None,
               expose: Iterable[str | int] | None = None) -> Container:
        """Create (not start) a container, pulling the image first when it is
        missing and ``pull="missing"`` (the CLI's default); ``pull="never"`` does not.

        ``mounts`` are Engine API mounts (``{"Type": "volume", "Source": ..., "Target": ...}``),
        ``healthcheck`` takes docker-py's keys (``test``, ``interval`` in ns, ...), ``networks``
        maps network names to aliases: the first is joined at create, the others before start."""
        from .spec import spec_from_options

        spec = spec_from_options(image, command, name=name, entrypoint=entrypoint, env=env, ports=ports,
                                 volumes=volumes, labels=labels, workdir=workdir, user=user, restart=restart,
                                 cpus=cpus, memory=memory, network=network, auto_remove=auto_remove, tty=tty,
                                 stdin_open=stdin_open, hostname=hostname, privileged=privileged, pull=pull,
                                 mounts=mounts, tmpfs=tmpfs, healthcheck=healthcheck, init=init, cap_add=cap_add,
                                 cap_drop=cap_drop, extra_hosts=extra_hosts, ulimits=ulimits, read_only=read_only,
                                 stop_signal=stop_signal, stop_timeout=stop_timeout, networks=networks,
                                 expose=expose)
        return self.create_from(spec, on_progress=on_progress)

    def create_from(self, spec: "ContainerSpec", on_progress: Callable | None = None) -> Container:
        """Create (not start) the container ``spec`` describes (``docker create``), pulling its image as
        ``spec.pull`` says; the networks after the first are joined before it returns."""
        specs.check_reference(spec.image)
        if spec.pull not in {"missing", "never", "always"}:
            raise specs.InvalidArgument(f"invalid pull policy {spec.pull!r}: use missing, never or always")
        body = spec.create_body(self._api._version)
        body["Labels"] = {**self._engine.labels, **(body.get("Labels") or {})}
        create = lambda: self._create_body(body, spec.name, spec.platform)  # noqa: E731
        container = self._create_pulling(spec.image, create, spec.pull, on_progress, spec.platform)
        later = [(name, endpoint.to_api()) for name, endpoint in spec.later_endpoints()]
        return self._connect_rest(container, later)

    def _connect_rest(self, container: Container, endpoints: list) -> Container:
        """Join the networks after the first (name, aliases or an EndpointSettings dict); a failure
        removes the container again."""
        try:
            for network_name, settings in endpoints:
                if isinstance(settings, dict):
                    with self._engine.translated("network connect", "network", network_name):
                        self._api._raise_for_status(self._api._post_json(
                            self._api._url("/networks/{0}/connect", network_name),
                            data={"Container": container.id, "EndpointConfig": settings}))
                else:
                    self._engine.networks.connect(network_name, container.id,
                                                  aliases=list(settings or []) or None)
        except ContainersError:
            self.remove(container.id, force=True, volumes=True, missing_ok=True)
            raise
        return self.get(container.id) if endpoints else container

    def _create_pulling(self, image: str, create: Callable[[], Container], pull: str, on_progress: Callable | None,
                        platform: str | None = None) -> Container:
        pull_options = {"platform": platform} if platform else {}
        if pull == "always":
            self._engine.images.pull(image, on_progress=on_progress, **pull_options)
        try:
            return create()
        except NotFound:
            if self._engine.images.exists(image):
                raise  # something else is missing, e.g. the network
            if pull == "never":
                raise ImageNotFound(f"image {image!r} is not on this engine; pull or build it first",
                                    status=404, operation="create", target=image) from None
        try:
            self._engine.images.pull(image, on_progress=on_progress, **pull_options)
        except (NotFound, PullError, RegistryAuthError) as exc:  # as the docker CLI says it
            reason = getattr(exc, "reason", None) or exc.message
            raise type(exc)(f"image {image} is not here and could not be pulled: {reason}", status=exc.status,
                            operation="create", target=image) from None
        return create()

    def _create_body(self, body: dict, name: str | None, platform: str | None) -> Container:
        try:
            with self._engine.translated("create", "image", body["Image"]):
                answer = self._api.create_container_from_config(body, name=name, platform=platform)
        except Conflict as exc:
            if name and exc.status == 409:
                raise Conflict(f"the name {name!r} is already in use; remove or rename that container, "
                               "or choose another name", status=409, operation="create", target=name) from None
            raise
        return Container.from_inspect(self.inspect(answer["Id"]))

    def put_files(self, ref: str, files: Iterable[tuple[str, bytes, int, int, int]]) -> None:
        """Write files into a (created or running) container: (absolute path, content, uid, gid, mode);
        missing parent directories are made."""
        import io
        import tarfile
        import time

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path, data, uid, gid, mode in files:
                info = tarfile.TarInfo(str(path).lstrip("/"))
                info.size, info.uid, info.gid, info.mode, info.mtime = len(data), uid, gid, mode, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        with self._engine.translated("cp", "container", ref):
            self._api.put_archive(ref, "/", buffer.getvalue())

    def run(self, image: str, command: str | Sequence[str] | None = None, *,
            detach: bool = True, **options: Any) -> Container:
        """Create and start a container (see ``create`` for the options).

        A container that cannot start (port in use, bad mount) is removed again,
        so a failed run leaves nothing behind. With ``detach=False`` it waits for
        the container to exit and returns it in its final state.
        """
        container = self.create(image, command, **options)
        self._start_or_remove(container)
        if not detach:
            self.wait(container.id)
            if options.get("auto_remove"):
                return container
        return self.get(container.id)

    def start_or_remove(self, container: Container) -> None:
        """Start a created container; one that cannot start is removed again and the error raised
        (``PortInUse`` naming the port when a published port is taken)."""
        self._start_or_remove(container)

    def _start_or_remove(self, container: Container) -> None:
        try:
            self.start(container.id)
        except ContainersError as exc:
            busy = self._ports_in_use(container) if exc.status == 500 else []
            self.remove(container.id, force=True, volumes=True, missing_ok=True)
            if busy:
                raise PortInUse(f"port {busy[0]} is already allocated; choose another host port "
                                "or stop what uses it", status=exc.status, operation="start",
                                target=busy[0]) from None
            raise

    @staticmethod
    def _ports_in_use(container: Container) -> list[str]:
        """The fixed host ports of ``container`` that something already holds here."""
        bindings = (container.raw.get("HostConfig") or {}).get("PortBindings") or {}
        busy = []
        for key, entries in bindings.items():
            proto = key.partition("/")[2] or "tcp"
            for entry in entries or []:
                ip, port = entry.get("HostIp") or "0.0.0.0", entry.get("HostPort")
                if not port or proto == "sctp":
                    continue
                family = socket.AF_INET6 if ":" in ip else socket.AF_INET
                kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
                with socket.socket(family, kind) as probe:
                    try:
                        probe.bind((ip, int(port)))
                    except OSError:
                        busy.append(f"{ip}:{port}")
        return busy

    # -- lifecycle -------------------------------------------------------------
    def start(self, ref: str) -> None:
        with self._engine.translated("start", "container", ref):
            self._api.start(ref)

    def stop(self, ref: str, timeout: int | None = None) -> None:
        """Stop a container; stopping a stopped one is not an error."""
        with self._engine.translated("stop", "container", ref):
            self._api.stop(ref, timeout=timeout)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        with self._engine.translated("restart", "container", ref):
            self._api.restart(ref, timeout=10 if timeout is None else timeout)

    def kill(self, ref: str, signal: str | int | None = None) -> None:
        with self._engine.translated("kill", "container", ref):
            self._api.kill(ref, signal=signal)

    def pause(self, ref: str) -> None:
        with self._engine.translated("pause", "container", ref):
            self._api.pause(ref)

    def unpause(self, ref: str) -> None:
        with self._engine.translated("unpause", "container", ref):
            self._api.unpause(ref)

    def remove(self, ref: str, *, force: bool = False, volumes: bool = False,
               missing_ok: bool = False) -> None:
        try:
            with self._engine.translated("rm", "container", ref):
                self._api.remove_container(ref, force=force, v=volumes)
        except NotFound:
            if not missing_ok:
                raise

    def rename(self, ref: str, new_name: str) -> None:
        try:
            with self._engine.translated("rename", "container", ref):
                self._api.rename(ref, new_name)
        except Conflict as exc:
            if exc.status == 409:
                raise Conflict(f"the name {new_name!r} is already in use", status=409,
                               operation="rename", target=new_name) from None
            raise

    def wait(self, ref: str, timeout: float | None = None, condition: str = "not-running") -> int:
        """Block until the container stops; its exit code."""
        import requests.exceptions

        try:
            with self._engine.translated("wait", "container", ref):
                answer = self._api.wait(ref, timeout=timeout, condition=condition)
        except requests.exceptions.ReadTimeout:
            raise ContainersError(f"container {ref!r} was still running after {timeout} s",
                                  operation="wait", target=ref) from None
        return int(answer.get("StatusCode", -1))

    def prune(self, filters: Mapping | Iterable[str] | None = None) -> dict:
        """Remove stopped containers."""
        with self._engine.translated("container prune"):
            answer = self._api.prune_containers(filters=specs.parse_filters(filters))
        return {"deleted": answer.get("ContainersDeleted") or [],
                "space_reclaimed": int(answer.get("SpaceReclaimed") or 0)}
