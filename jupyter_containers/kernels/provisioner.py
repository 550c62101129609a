"""A jupyter_client kernel provisioner that runs the kernel in a container.

A kernelspec whose ``metadata.kernel_provisioner.provisioner_name`` is
``jupyter-containers`` (``jupyter containers kernel create`` writes one) starts
its kernel in a container of ``config.image``:

- the kernel listens on fixed ports inside the container (``ip`` 0.0.0.0 in a
  connection file bind-mounted read-only); the five ports are published on
  127.0.0.1 only, on free host ports, and the notebook server connects there.
  With ``network``, the container joins that network instead and the server
  connects to its address on it (for a server that itself runs in a container);
- the notebook's directory is mounted at the same path and is the working
  directory, so relative paths work; ``mounts``, ``cpus``, ``memory``,
  ``environment`` and ``user`` come from the kernelspec's config;
- an interrupt is a SIGINT through the container's init (``docker kill -s INT``);
  kill and terminate are SIGKILL and SIGTERM; cleanup removes the container, and a
  restart replaces it. The container's id is kept in the provisioner info, so a
  server that restarts finds its kernels again.

The container is labelled with the kernel's id and kernelspec name
(``KERNEL_LABEL``, ``SPEC_LABEL``): ``%container kernels`` lists them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
from typing import Any

from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Bool, Dict, Float, List, Unicode

from ..engine import ContainersError, Engine, NotFound
from ..policy import ContainersPolicy

NAME = "jupyter-containers"  # the provisioner's name in kernelspecs (its entry point)
KERNEL_LABEL = "io.jupyter.containers.kernel"  # the kernel's id
SPEC_LABEL = "io.jupyter.containers.kernel.spec"  # the kernelspec's name
NOTEBOOK_LABEL = "io.jupyter.containers.kernel.notebook"  # the notebook's path, when the server says it
CONNECTION_FILE = "/run/jupyter-containers/kernel.json"  # where the kernel reads its connection file
PORTS = {"shell_port": 50501, "iopub_port": 50502, "stdin_port": 50503, "control_port": 50504, "hb_port": 50505}


class KernelStartError(RuntimeError):
    """The kernel's container could not start, or its command ended at once (one line: why)."""


class ContainerProvisioner(KernelProvisionerBase):
    """Runs the kernel in a container of ``image``; see the module's docstring."""

    image = Unicode(help="the image the kernel runs in").tag(config=True)
    engine = Unicode(None, allow_none=True, help="the engine's URL (default: discovery, as "
                     "`jupyter containers engine status` shows)").tag(config=True)
    mounts = List(Unicode(), help="bind mounts, SRC:DST[:ro]").tag(config=True)
    workdir_mount = Bool(True, help="mount the notebook's directory at the same path and work in it").tag(config=True)
    cpus = Float(None, allow_none=True, help="CPUs the kernel may use (docker run --cpus)").tag(config=True)
    memory = Unicode(None, allow_none=True, help="memory limit, e.g. 2g (docker run --memory)").tag(config=True)
    environment = Dict(help="environment variables of the kernel").tag(config=True)
    network = Unicode(None, allow_none=True, help="join this network instead of publishing ports on "
                      "127.0.0.1 (when the notebook server runs in a container on it)").tag(config=True)
    user = Unicode(None, allow_none=True, help="user[:group] the kernel runs as").tag(config=True)
    labels = Dict(help="more labels for the kernel's container").tag(config=True)
    startup_check = Float(1.0, help="seconds to watch a new container for a command that ends at once")

    container_id: str | None = None
    _directory: str | None = None  # holds the connection file the container reads
    _cmd: list[str] | None = None

    # -- engine ------------------------------------------------------------------------
    def _engine(self) -> Engine:
        try:
            engine = Engine.connect(self.engine or None)
        except ContainersError as exc:
            raise KernelStartError(f"the kernel's container engine does not answer: {exc}") from None
        return engine.with_labels({KERNEL_LABEL: self.kernel_id, SPEC_LABEL: self._spec_name(), **self.labels})

    def _spec_name(self) -> str:
        return getattr(self.parent, "kernel_name", "") or ""

    async def _call(self, fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- launch ------------------------------------------------------------------------
    @property
    def has_process(self) -> bool:
        return self.container_id is not None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if not self.image:
            raise KernelStartError(f"kernelspec {self._spec_name()!r} names no image "
                                   "(metadata.kernel_provisioner.config.image)")
        if km.transport != "tcp":
            raise KernelStartError(f"a kernel in a container needs the tcp transport, not {km.transport}")
        kwargs.pop("transport_encryption", None)
        extra = kwargs.pop("extra_arguments", [])
        kwargs = await super().pre_launch(**kwargs)  # the kernelspec's env, with ${VAR} substituted
        host = kwargs.pop("env")
        env = {name: host[name] for name in (self.kernel_spec.env or {}) if name in host}
        if host.get("JPY_SESSION_NAME"):
            env["JPY_SESSION_NAME"] = host["JPY_SESSION_NAME"]  # the notebook's path, for __session__
        env.update(self.environment)
        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="jupyter-containers-kernel-")
        inside = {"ip": "0.0.0.0", "transport": "tcp", "key": km.session.key.decode(),
                  "signature_scheme": km.session.signature_scheme, "kernel_name": km.kernel_name, **PORTS}
        path = os.path.join(self._directory, "kernel.json")
        with open(path, "w", encoding="utf-8") as file:
            json.dump(inside, file)
        os.chmod(path, 0o644)  # a kernel running as another user reads it too
        cmd = [arg.replace("{connection_file}", CONNECTION_FILE) for arg in self.kernel_spec.argv] + list(extra)
        return {**kwargs, "cmd": cmd, "container_env": env}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict:
        self._cmd = cmd
        return await self._call(self._launch, cmd, kwargs.get("cwd"), kwargs.get("container_env") or {})

    def _launch(self, cmd: list[str], cwd: str | None, env: dict) -> dict:
        volumes = list(self.mounts)
        workdir = None
        if self.workdir_mount and cwd:
            workdir = os.path.realpath(cwd)
            volumes.append(f"{workdir}:{workdir}")
        ports = None if self.network else [f"127.0.0.1::{port}" for port in PORTS.values()]
        try:
            # the deployment's rules (ContainersPolicy, as for %container run): a kernelspec is no way around them
            ContainersPolicy(parent=self).check_create(volumes=volumes, network=self.network)
            engine = self._engine()
            notebook = {NOTEBOOK_LABEL: env["JPY_SESSION_NAME"]} if env.get("JPY_SESSION_NAME") else None
            container = engine.containers.create(
                self.image, cmd, name=f"jupyter-kernel-{self.kernel_id[:12]}", env=env, ports=ports, labels=notebook,
                volumes=[f"{self._directory}/kernel.json:{CONNECTION_FILE}:ro", *volumes], workdir=workdir,
                user=self.user, cpus=self.cpus, memory=self.memory, network=self.network, init=True,
                stop_signal="SIGTERM", pull="missing")
            engine.containers.start_or_remove(container)
        except ContainersError as exc:
            raise KernelStartError(f"the kernel could not start in image {self.image}: {exc}") from None
        self.container_id = container.id
        try:
            info = self._watch_start(engine, container.id, cmd)
        except BaseException:
            engine.containers.remove(container.id, force=True, missing_ok=True)
            self.container_id = None
            raise
        self.connection_info = info
        return info

    def _watch_start(self, engine: Engine, id: str, cmd: list[str]) -> dict:
        """The connection info, once the container is seen running for ``startup_check`` s;
        ``KernelStartError`` with the last line of its logs if its command ended at once."""
        deadline = time.monotonic() + self.startup_check
        while True:
            data = engine.containers.inspect(id)
            if not data["State"].get("Running"):
                lines = [line for line in engine.containers.logs(id, tail=20).splitlines() if line.strip()]
                said = f": {lines[-1].strip()}" if lines else ""
                raise KernelStartError(f"the kernel's command ended at once in image {self.image} "
                                       f"(exit {data['State'].get('ExitCode')}){said}; command: {' '.join(cmd)}")
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        km = self.parent
        info = dict(km.get_connection_info())
        if self.network:
            address = data["NetworkSettings"]["Networks"][self.network]["IPAddress"]
            info.update(ip=address, **PORTS)
        else:
            published = data["NetworkSettings"]["Ports"]
            info.update(ip="127.0.0.1", **{name: int(published[f"{port}/tcp"][0]["HostPort"])
                                           for name, port in PORTS.items()})
        return info

    # -- life --------------------------------------------------------------------------
    def _state(self) -> dict | None:
        try:
            return self._engine_for_calls().containers.inspect(self.container_id)["State"]
        except NotFound:
            return None

    def _engine_for_calls(self) -> Engine:
        engine = getattr(self, "_client", None)
        if engine is None:
            engine = self._client = self._engine()
        return engine

    async def poll(self) -> int | None:
        """None while the container runs; its exit code once it stopped (1 if it is gone)."""
        if self.container_id is None:
            return 0
        try:
            state = await self._call(self._state)
        except ContainersError:
            return None  # the engine did not answer: not known to be dead
        if state is None:
            return 1
        if state.get("Running") or state.get("Restarting"):
            return None
        return int(state.get("ExitCode") or 0) or (1 if state.get("Status") == "created" else 0)

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.1)
        return code

    async def send_signal(self, signum: int) -> None:
        if self.container_id is None:
            return
        try:
            await self._call(self._engine_for_calls().containers.kill, self.container_id, int(signum))
        except NotFound:
            pass
        except ContainersError as exc:
            if exc.status != 409:  # not running: nothing to signal
                raise

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        """Remove the container (a restart makes a new one); at the end, the connection file too."""
        if self.container_id is not None:
            id, self.container_id = self.container_id, None
            try:
                await self._call(self._engine_for_calls().containers.remove, id, force=True, missing_ok=True)
            except ContainersError:
                self.log.warning("jupyter-containers: could not remove the kernel's container %s", id[:12])
        if not restart and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return recommended

    def get_stable_start_time(self, recommended: float = 10.0) -> float:
        return recommended + 10.0  # a first start may pull the image

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        info.update(container_id=self.container_id, directory=self._directory, image=self.image,
                    engine=self.engine)
        return info

    async def load_provisioner_info(self, provisioner_info: dict) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.container_id = provisioner_info.get("container_id")
        self._directory = provisioner_info.get("directory")
        self.image = provisioner_info.get("image") or self.image
        self.engine = provisioner_info.get("engine") or self.engine
