"""REST handlers: thin, authenticated and authorized, blocking engine calls off the event loop.

Short calls run in one small shared pool; streams (followed logs, pulls) run
in threads of their own from a bounded set of slots (``streams.py``), so an
open stream never holds a worker the other requests need.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..engine import (
    ContainersError,
    Engine,
    EngineUnavailable,
    InvalidArgument,
    NotFound,
)
from ..engine.records import Container, Image
from ..kernels import KERNEL_LABEL, SPEC_LABEL
from ..policy import ContainersPolicy
from .streams import Relay, StreamSlots

log = logging.getLogger("jupyter_containers.server")

STATUS = {"invalid-argument": 400, "policy-denied": 403, "not-found": 404, "container-not-found": 404,
          "image-not-found": 404, "conflict": 409, "port-in-use": 409, "engine-unavailable": 503,
          "registry-auth": 401, "compose-file": 400, "compose": 409, "not-implemented": 501}
ACTIONS = {"start", "stop", "restart", "pause", "unpause", "kill"}
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
HTTP_KINDS = {400: "invalid-argument", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no", "")


def container_json(c: Container) -> dict:
    return {"id": c.id, "short_id": c.short_id, "name": c.name, "image": c.image, "command": c.command,
            "created": c.created.isoformat() if c.created else None, "state": c.state, "status": c.status,
            "health": c.health, "labels": c.labels,
            "ports": [{"container_port": p.container_port, "protocol": p.protocol, "host_ip": p.host_ip,
                       "host_port": p.host_port, "url": p.url} for p in c.ports],
            "project": c.labels.get(COMPOSE_PROJECT), "service": c.labels.get(COMPOSE_SERVICE),
            "kernel": c.labels.get(SPEC_LABEL) if KERNEL_LABEL in c.labels else None}


def image_json(i: Image) -> dict:
    return {"id": i.id, "short_id": i.short_id, "tags": list(i.tags), "size": i.size,
            "created": i.created.isoformat() if i.created else None}


class State:
    """What the handlers share: one engine connection, a pool for short calls, the stream slots,
    one stats sampler per engine, the policy."""

    def __init__(self, policy: ContainersPolicy, engine_url: str | None = None, *,
                 max_streams: int = 96, stats_idle: float = 30.0):
        self.policy = policy
        self.engine_url = engine_url
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jupyter-containers")
        self.streams = StreamSlots(max_streams)
        self.stats_idle = stats_idle
        self._engine: Engine | None = None
        self._stats = None
        self._failed: tuple[float, ContainersError] | None = None  # when and why discovery last failed
        self._lock = threading.Lock()
        self.recheck = 2.0  # seconds a successful ping (or connect) vouches for the client
        self._alive: tuple[Engine | None, float] = (None, 0.0)

    def engine(self) -> Engine:
        """The engine client; when it stops answering, one new client replaces it (under a lock,
        so concurrent requests make one) and the old one is closed."""
        current = self.checked()
        if current is not None:
            return current
        current = self._engine
        if current is not None and current.ping(timeout=1):
            self._alive = (current, time.monotonic())
            return current
        with self._lock:
            if self._engine is not current and self._engine is not None:
                return self._engine  # another request replaced it meanwhile
            failed = self._failed
            if failed is not None and time.monotonic() - failed[0] < 1.0:
                raise failed[1]  # requests queued behind a failed discovery do not each wait for their own
            try:
                fresh = Engine.connect(self.engine_url)
            except ContainersError as exc:
                self._failed = (time.monotonic(), exc)
                raise
            self._failed = None
            self._alive = (fresh, time.monotonic())
            old, self._engine = self._engine, fresh
            stats, self._stats = self._stats, None
        if stats is not None:
            stats.close()
        if old is not None:
            old.close()  # its idle connections; streams still reading from it keep theirs until they end
        return fresh

    def checked(self) -> Engine | None:
        """The engine client if it answered within the last ``recheck`` seconds (no ping needed)."""
        engine, when = self._alive
        if engine is not None and engine is self._engine and time.monotonic() - when < self.recheck:
            return engine
        return None

    def suspect(self) -> None:
        """A call found the engine unavailable: the next request pings it again."""
        self._alive = (None, 0.0)

    def stats(self, engine: Engine):
        """The shared stats sampler of ``engine`` (made on first use)."""
        from ..stats.shared import SharedStats

        old = None
        with self._lock:
            if self._stats is None or self._stats.engine is not engine:
                old, self._stats = self._stats, SharedStats(engine, idle=self.stats_idle)
            stats = self._stats
        if old is not None:
            old.close()  # joins its threads: not under the lock every request takes
        return stats

    def close(self) -> None:
        with self._lock:
            stats, self._stats = self._stats, None
            engine, self._engine = self._engine, None
        if stats is not None:
            stats.close()
        if engine is not None:
            engine.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


class Handler(APIHandler):
    """Base: JSON errors {kind, message}, engine calls in the pool.

    ``auth_resource`` is what jupyter_server's authorizer is asked about (``@authorized``):
    GET is a "read" of it, POST and DELETE a "write".
    """

    auth_resource = "containers"

    @property
    def state(self) -> State:
        return self.settings["jupyter_containers"]

    async def call(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.state.pool, lambda: fn(*args, **kwargs))
        except EngineUnavailable:
            self.state.suspect()
            raise

    async def engine(self) -> Engine:
        """The engine client: at once when it answered lately, else pinged (or replaced) in the pool."""
        return self.state.checked() or await self.call(self.state.engine)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=_json_default))

    def fail(self, kind: str, message: str, status: int | None = None) -> None:
        """Answer ``{kind, message}``; paths under the server's root are named as the file browser shows them."""
        root = self.settings.get("server_root_dir")
        if root:  # only where a path starts: with a root of "/", the slashes inside a path stay
            prefix = os.path.join(os.path.realpath(root), "")
            message = re.sub(r"(?<![\w.:/-])" + re.escape(prefix), "", message)
        self.set_status(status or STATUS.get(kind, 500))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"kind": kind, "message": message}))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ContainersError):
            self.fail(exc.kind, _one_line(str(exc)), STATUS.get(exc.kind) or exc.status or 500)
        elif isinstance(exc, tornado.web.HTTPError):
            self.fail(HTTP_KINDS.get(status_code, "http"), _one_line(exc.log_message or self._reason), status_code)
        else:  # a bug: the traceback is in the server's log (log_exception), not in the answer
            self.fail("internal", f"{self.request.method} {self.request.path} failed unexpectedly; "
                                  "the server's log has the details", 500)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ContainersError):  # expected: answered as JSON, no traceback in the log
            self.log.info("jupyter-containers: %s (%s)", value, value.kind)
            return
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)
            return
        self.log.error("jupyter-containers: %s %s failed", self.request.method, self.request.path,
                       exc_info=(typ, value, tb))

    def flag(self, name: str, default: bool = False) -> bool:
        """A yes/no query argument: 1/true/yes or 0/false/no; anything else is a 400."""
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise InvalidArgument(f"{name} must be 1 or 0 (true or false), not {value[:40]!r}", status=400)

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the request body must be a JSON object")
        return data


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _check_types(data: dict, types: dict[str, tuple]) -> None:
    """400 when a field of the request body has the wrong JSON type."""
    names = {str: "a string", list: "a list", dict: "an object", bool: "true or false", int: "a number"}
    for key, allowed in types.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise InvalidArgument(f"{key} must be {' or '.join(names[t] for t in allowed)}, "
                                  f"not {type(value).__name__.replace('dict', 'object')}", status=400)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise InvalidArgument(f"{key} must be a list of strings", status=400)


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars from a DataFrame
        return value.item()
    raise TypeError(type(value).__name__)


class EngineHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        engine = await self.engine()
        info = await self.call(engine.system.info)
        self.reply({"url": engine.url, "source": engine.source, "version": info.get("ServerVersion"),
                    "api_version": engine.api.api_version, "os": info.get("OperatingSystem"),
                    "containers": {"running": info.get("ContainersRunning"), "paused": info.get("ContainersPaused"),
                                   "stopped": info.get("ContainersStopped")}, "images": info.get("Images"),
                    "replay": getattr(engine, "replay", None), "name": info.get("Name"),
                    "allowed_actions": sorted(self.state.policy.allowed_actions)})


class EngineInfoHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        engine = await self.engine()
        self.reply(await self.call(engine.system.info))


class ContainersHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        show_all = self.flag("all")
        containers = await self.call(engine.containers.list, all=show_all)
        self.reply([container_json(c) for c in containers])

    @tornado.web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        _check_types(data, {"image": (str,), "name": (str,), "command": (str, list), "ports": (list,),
                            "env": (dict, list), "volumes": (list,), "privileged": (bool,), "network": (str,),
                            "labels": (dict,), "workdir": (str,), "user": (str,), "cap_add": (list,),
                            "pid_mode": (str,)})
        if not data.get("image"):
            raise InvalidArgument("say which image to run: {\"image\": \"NAME\"}", status=400)
        options = {k: data[k] for k in ("name", "command", "ports", "env", "volumes", "privileged", "network",
                                        "labels", "workdir", "user") if k in data}
        self.state.policy.check_create(**options, cap_add=data.get("cap_add"), pid_mode=data.get("pid_mode"))
        if data.get("cap_add") or data.get("pid_mode"):
            raise InvalidArgument("cap_add and pid_mode are not supported by this API yet", status=400)
        engine = await self.engine()
        container = await self.call(engine.containers.run, data["image"], pull="never", **options)
        self.reply(container_json(container), status=201)


class ContainerHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str):
        self.state.policy.check_action("inspect")
        engine = await self.engine()
        self.reply(await self.call(engine.containers.inspect, ref))

    @tornado.web.authenticated
    @authorized
    async def delete(self, ref: str):
        self.state.policy.check_action("remove")
        engine = await self.engine()
        await self.call(engine.containers.remove, ref, force=self.flag("force"))
        self.set_status(204)
        self.finish()


class ContainerActionHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str, action: str):
        if action not in ACTIONS:
            raise tornado.web.HTTPError(404, f"unknown action {action!r}")
        self.state.policy.check_action(action)
        engine = await self.engine()
        await self.call(getattr(engine.containers, action), ref)
        self.reply(container_json(await self.call(engine.containers.get, ref)))


class Streaming(Handler):
    """A response relayed from a blocking engine stream in a slot's thread (see ``streams.py``)."""

    _relay: Relay | None = None

    def on_connection_close(self) -> None:
        if self._relay is not None:
            self._relay.client_gone()

    def take_slot(self, what: str) -> Relay:
        self.state.streams.acquire(what)  # 503 too-many-streams when every slot is taken
        self._relay = Relay(self, self.state.streams)
        return self._relay


class LogsHandler(Streaming):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str):
        self.state.policy.check_action("logs")
        tail = self.get_query_argument("tail", "200")
        if tail != "all" and not (tail.isdigit() and tail.isascii()):
            raise InvalidArgument(f"tail must be a number of lines or 'all', not {tail[:40]!r}", status=400)
        timestamps = self.flag("timestamps")
        follow = self.flag("follow")
        engine = await self.engine()
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        if not follow:
            self.write(await self.call(engine.containers.logs, ref, tail=tail, timestamps=timestamps))
            await self.flush()  # sent as text/plain: APIHandler.finish() would label it JSON
            self.finish()
            return
        relay = self.take_slot(f"the logs of {ref}")
        stream = None
        try:  # opening is short (inspect, then the response's headers); errors are still JSON
            stream = await self.call(engine.containers.follow_logs, ref, tail=tail, timestamps=timestamps)
            relay.on_gone(stream.close)
            await self.flush()
        except BaseException:
            if stream is not None:
                stream.close()
            self.state.streams.release()
            raise

        def work(emit):
            with stream:
                for line in stream:
                    emit((f"{line.time.isoformat()} " if line.time else "") + line.text + "\n")
        await relay.run(work)


class ImagesHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        self.reply([image_json(i) for i in await self.call(engine.images.list)])


class ImageHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def delete(self, ref: str):
        self.state.policy.check_action("remove-image")
        engine = await self.engine()
        await self.call(engine.images.remove, ref, force=self.flag("force"))
        self.set_status(204)
        self.finish()


class PullHandler(Streaming):
    """POST images/pull {"image"}: NDJSON progress lines, then {"done": true, "image": ...} or {"error": ...}.

    The pull runs in a stream slot's thread; when the client goes away it is abandoned at its next progress line.
    """

    @tornado.web.authenticated
    @authorized
    async def post(self):
        self.state.policy.check_action("pull")
        data = self.body()
        _check_types(data, {"image": (str,)})
        ref = data.get("image")
        if not ref:
            raise InvalidArgument("say which image to pull: {\"image\": \"NAME:TAG\"}", status=400)
        engine = await self.engine()
        relay = self.take_slot(f"a pull of {ref}")
        self.set_header("Content-Type", "application/x-ndjson")
        try:
            await self.flush()  # the headers go now: APIHandler.finish() would label the body JSON
        except BaseException:
            self.state.streams.release()
            raise

        def work(emit):
            def progress(event):
                emit(json.dumps({"id": event.id, "status": event.status, "current": event.current,
                                 "total": event.total}) + "\n")
            try:
                image = engine.images.pull(ref, on_progress=progress)
            except ContainersError as exc:
                emit(json.dumps({"error": {"kind": exc.kind, "message": _one_line(str(exc))}}) + "\n")
                return
            emit(json.dumps({"done": True, "image": image_json(image)}) + "\n")
        await relay.run(work)


class StacksHandler(Handler):
    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        containers = await self.call(engine.containers.list, all=True, filters={"label": COMPOSE_PROJECT})
        stacks: dict[str, dict] = {}
        for c in containers:
            name = c.labels[COMPOSE_PROJECT]
            stack = stacks.setdefault(name, {
                "name": name, "services": {}, "running": 0, "total": 0,
                "working_dir": c.labels.get("com.docker.compose.project.working_dir"),
                "config_files": [f for f in c.labels.get("com.docker.compose.project.config_files", "").split(",") if f]})
            service = stack["services"].setdefault(c.labels.get(COMPOSE_SERVICE, ""), [])
            service.append(container_json(c))
            stack["total"] += 1
            stack["running"] += c.state == "running"
        self.reply([{**s, "services": [{"name": n, "containers": cs} for n, cs in sorted(s["services"].items())]}
                    for _, s in sorted(stacks.items())])


class StacksActionHandler(Handler):
    """POST stacks/up {"path"} (a compose file under the server's root) and stacks/down {"project"}."""

    @tornado.web.authenticated
    @authorized
    async def post(self, action: str):
        from ..compose import Stack, load_project

        self.state.policy.check_action("compose", "remove" if action == "down" else "run")
        data = self.body()
        _check_types(data, {"path": (str,), "project": (str,)})
        engine = await self.engine()
        if action == "down":
            if not data.get("project"):
                raise InvalidArgument("say which stack to take down: {\"project\": \"NAME\"}", status=400)
            removed = await self.call(Stack(engine, name=data["project"]).down)
            self.reply({"project": data["project"], "removed": removed})
            return
        path = self._compose_file(data.get("path"))
        project = await self.call(load_project, [path])
        self.state.policy.check_project(project)
        await self.call(Stack(engine, project).up)
        self.reply({"project": project.name, "services": sorted(project.services)})

    def _compose_file(self, relative: str | None) -> str:
        if not relative:
            raise InvalidArgument("say which compose file: {\"path\": \"dir/compose.yaml\"}", status=400)
        root = os.path.realpath(self.settings["server_root_dir"])
        path = os.path.realpath(os.path.join(root, relative))
        if path == root or os.path.commonpath([root, path]) != root:  # a root of "/" holds every path
            raise InvalidArgument(f"{relative} is outside the server's root directory", status=400)
        if not os.path.isfile(path):
            raise NotFound(f"no compose file at {relative}", status=404)
        return path


class StatsHandler(Handler):
    """GET stats: one row per running container, with the docker CLI's figures, from the engine's
    shared sampler (started on the first request, stopped when nobody asked for ``State.stats_idle`` s)."""

    @tornado.web.authenticated
    @authorized
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        frame = await self.call(self.state.stats(engine).latest)
        self.reply(frame.to_dict(orient="records"))


def handlers(base_url: str) -> list[tuple]:
    root = url_path_join(base_url, "jupyter-containers", "api")
    ref = r"([^/]+)"
    return [
        (url_path_join(root, "engine"), EngineHandler),
        (url_path_join(root, "engine", "info"), EngineInfoHandler),
        (url_path_join(root, "containers"), ContainersHandler),
        (url_path_join(root, "containers", ref), ContainerHandler),
        (url_path_join(root, "containers", ref, "logs"), LogsHandler),
        (url_path_join(root, "containers", ref, r"(\w+)"), ContainerActionHandler),
        (url_path_join(root, "images"), ImagesHandler),
        (url_path_join(root, "images", "pull"), PullHandler),
        (url_path_join(root, "images", r"(.+)"), ImageHandler),
        (url_path_join(root, "stacks"), StacksHandler),
        (url_path_join(root, "stacks", r"(up|down)"), StacksActionHandler),
        (url_path_join(root, "stats"), StatsHandler),
    ]
