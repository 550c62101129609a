"""REST handlers: thin, authenticated, blocking engine calls off the event loop."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..engine import ContainersError, Engine, InvalidArgument, NotFound
from ..engine.records import Container, Image
from ..policy import ContainersPolicy

STATUS = {"invalid-argument": 400, "policy-denied": 403, "not-found": 404, "container-not-found": 404,
          "image-not-found": 404, "conflict": 409, "port-in-use": 409, "engine-unavailable": 503,
          "registry-auth": 401, "compose-file": 400, "compose": 409, "not-implemented": 501}
ACTIONS = {"start", "stop", "restart", "pause", "unpause", "kill"}
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"


def container_json(c: Container) -> dict:
    return {"id": c.id, "short_id": c.short_id, "name": c.name, "image": c.image, "command": c.command,
            "created": c.created.isoformat() if c.created else None, "state": c.state, "status": c.status,
            "health": c.health, "labels": c.labels,
            "ports": [{"container_port": p.container_port, "protocol": p.protocol, "host_ip": p.host_ip,
                       "host_port": p.host_port, "url": p.url} for p in c.ports],
            "project": c.labels.get(COMPOSE_PROJECT), "service": c.labels.get(COMPOSE_SERVICE)}


def image_json(i: Image) -> dict:
    return {"id": i.id, "short_id": i.short_id, "tags": list(i.tags), "size": i.size,
            "created": i.created.isoformat() if i.created else None}


class State:
    """What the handlers share: one engine connection, a thread pool, the policy."""

    def __init__(self, policy: ContainersPolicy, engine_url: str | None = None):
        self.policy = policy
        self.engine_url = engine_url
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jupyter-containers")
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self._engine is None or not self._engine.ping(timeout=1):
            self._engine = Engine.connect(self.engine_url)
        return self._engine


class Handler(APIHandler):
    """Base: JSON errors {kind, message}, engine calls in the pool."""

    @property
    def state(self) -> State:
        return self.settings["jupyter_containers"]

    async def call(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.state.pool, lambda: fn(*args, **kwargs))

    async def engine(self) -> Engine:
        return await self.call(self.state.engine)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=_json_default))

    def fail(self, kind: str, message: str, status: int | None = None) -> None:
        """Answer ``{kind, message}``; paths under the server's root are named as the file browser shows them."""
        root = self.settings.get("server_root_dir")
        if root:
            message = message.replace(os.path.realpath(root) + os.sep, "")
        self.set_status(status or STATUS.get(kind, 500))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"kind": kind, "message": message}))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ContainersError):
            self.fail(exc.kind, str(exc), STATUS.get(exc.kind) or exc.status or 500)
        elif isinstance(exc, tornado.web.HTTPError):
            self.fail("http", exc.log_message or self._reason, status_code)
        else:
            self.fail("error", f"{type(exc).__name__}: {exc}" if exc else self._reason, status_code)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ContainersError):  # expected: answered as JSON, no traceback in the log
            self.log.info("jupyter-containers: %s (%s)", value, value.kind)
            return
        super().log_exception(typ, value, tb)

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the request body must be a JSON object")
        return data


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars from a DataFrame
        return value.item()
    raise TypeError(type(value).__name__)


class EngineHandler(Handler):
    @tornado.web.authenticated
    async def get(self):
        engine = await self.engine()
        info = await self.call(engine.system.info)
        self.reply({"url": engine.url, "source": engine.source, "version": info.get("ServerVersion"),
                    "api_version": engine.api.api_version, "os": info.get("OperatingSystem"),
                    "containers": {"running": info.get("ContainersRunning"), "paused": info.get("ContainersPaused"),
                                   "stopped": info.get("ContainersStopped")}, "images": info.get("Images"),
                    "replay": getattr(engine, "replay", None), "name": info.get("Name")})


class EngineInfoHandler(Handler):
    @tornado.web.authenticated
    async def get(self):
        engine = await self.engine()
        self.reply(await self.call(engine.system.info))


class ContainersHandler(Handler):
    @tornado.web.authenticated
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        show_all = self.get_query_argument("all", "0") in ("1", "true")
        containers = await self.call(engine.containers.list, all=show_all)
        self.reply([container_json(c) for c in containers])

    @tornado.web.authenticated
    async def post(self):
        data = self.body()
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
    async def get(self, ref: str):
        self.state.policy.check_action("inspect")
        engine = await self.engine()
        self.reply(await self.call(engine.containers.inspect, ref))

    @tornado.web.authenticated
    async def delete(self, ref: str):
        self.state.policy.check_action("remove")
        engine = await self.engine()
        await self.call(engine.containers.remove, ref, force=self.get_query_argument("force", "0") in ("1", "true"))
        self.set_status(204)
        self.finish()


class ContainerActionHandler(Handler):
    @tornado.web.authenticated
    async def post(self, ref: str, action: str):
        if action not in ACTIONS:
            raise tornado.web.HTTPError(404, f"unknown action {action!r}")
        self.state.policy.check_action(action)
        engine = await self.engine()
        await self.call(getattr(engine.containers, action), ref)
        self.reply(container_json(await self.call(engine.containers.get, ref)))


class Streaming(Handler):
    """Relays a blocking engine stream to the client as it comes; closes it when the client goes."""

    _stream = None

    def on_connection_close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    async def relay(self, stream, render: Callable[[Any], str]) -> None:
        self._stream = stream
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        def pump():
            try:
                for item in stream:
                    loop.call_soon_threadsafe(queue.put_nowait, render(item))
            except ContainersError as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        self.state.pool.submit(pump)
        while (item := await queue.get()) is not done:
            if isinstance(item, ContainersError):
                break  # the response has started: end it; the client sees the stream stop
            self.write(item)
            try:
                await self.flush()
            except tornado.iostream.StreamClosedError:
                stream.close()
                break
        self.finish()


class LogsHandler(Streaming):
    @tornado.web.authenticated
    async def get(self, ref: str):
        self.state.policy.check_action("logs")
        engine = await self.engine()
        tail = self.get_query_argument("tail", "200")
        timestamps = self.get_query_argument("timestamps", "0") in ("1", "true")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        if self.get_query_argument("follow", "0") not in ("1", "true"):
            self.write(await self.call(engine.containers.logs, ref, tail=tail, timestamps=timestamps))
            await self.flush()  # sent as text/plain: APIHandler.finish() would label it JSON
            self.finish()
            return
        stream = await self.call(engine.containers.follow_logs, ref, tail=tail, timestamps=timestamps)
        await self.relay(stream, lambda line: (f"{line.time.isoformat()} " if line.time else "") + line.text + "\n")


class ImagesHandler(Handler):
    @tornado.web.authenticated
    async def get(self):
        self.state.policy.check_action("list")
        engine = await self.engine()
        self.reply([image_json(i) for i in await self.call(engine.images.list)])


class ImageHandler(Handler):
    @tornado.web.authenticated
    async def delete(self, ref: str):
        self.state.policy.check_action("remove-image")
        engine = await self.engine()
        await self.call(engine.images.remove, ref, force=self.get_query_argument("force", "0") in ("1", "true"))
        self.set_status(204)
        self.finish()


class PullHandler(Handler):
    """POST images/pull {"image"}: NDJSON progress lines, then {"done": true, "image": ...} or {"error": ...}."""

    @tornado.web.authenticated
    async def post(self):
        self.state.policy.check_action("pull")
        ref = self.body().get("image")
        if not ref:
            raise InvalidArgument("say which image to pull: {\"image\": \"NAME:TAG\"}", status=400)
        engine = await self.engine()
        self.set_header("Content-Type", "application/x-ndjson")
        await self.flush()  # the headers go now: APIHandler.finish() would label the body JSON
        loop = asyncio.get_running_loop()

        def progress(event):
            line = json.dumps({"id": event.id, "status": event.status, "current": event.current,
                               "total": event.total}) + "\n"
            loop.call_soon_threadsafe(lambda: (self.write(line), self.flush()))

        try:
            image = await self.call(engine.images.pull, ref, on_progress=progress)
            self.finish(json.dumps({"done": True, "image": image_json(image)}) + "\n")
        except ContainersError as exc:
            self.finish(json.dumps({"error": {"kind": exc.kind, "message": str(exc)}}) + "\n")


class StacksHandler(Handler):
    @tornado.web.authenticated
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
    async def post(self, action: str):
        from ..compose import Stack, load_project

        self.state.policy.check_action("compose")
        data = self.body()
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
        if not path.startswith(root + os.sep):
            raise InvalidArgument(f"{relative} is outside the server's root directory", status=400)
        if not os.path.isfile(path):
            raise NotFound(f"no compose file at {relative}", status=404)
        return path


class StatsHandler(Handler):
    """GET stats: one row per running container, with the docker CLI's figures."""

    @tornado.web.authenticated
    async def get(self):
        from ..stats import snapshot

        self.state.policy.check_action("list")
        engine = await self.engine()
        frame = await self.call(snapshot, engine)
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
