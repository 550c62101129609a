"""The replay server: the Engine API answered from recorded sessions, for Binder.

All exchanges of the loaded recordings form one timeline, and a cursor marks
the last one served. A request takes the next exchange with the same method,
path and query after the cursor, else the first from the start (so notebooks
run in any order, or twice), preferring one whose request body is equal; the
cursor moves there. That keeps state for free: ``ps`` after a ``create``
lands after the create, where the container exists. Concurrent requests (the
streams a chart opens at once) may come in another order than recorded: one
whose own exchange the cursor has just passed, unserved and recorded within a
few seconds, gets that exchange.

Streams are sent with their recorded timing. A stream the client ended in the
recording (a followed log closed by the user, a stats snapshot) stays open
after its chunks until this client hangs up, as the engine's would. A hijacked
exec or attach gets its 101 and the engine's frames, then the connection closes.

``/_ping`` and ``/version`` answer without moving the cursor (clients call
them whenever they connect); ``/info``'s ``Name`` says this is a replay. What
was never recorded gets a 501 naming the request. Every answer carries
``X-Jupyter-Containers-Replay: replay``, which ``Engine.replay`` reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from bisect import bisect_right
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote_plus

import h11

from . import recording
from .http import REPLAY_HEADER, Peer, PeerGone, header, raw_headers, split_target
from .recording import Recording, ReplayError, RequestBody

MARK = (REPLAY_HEADER, "replay")
NEAR = 5.0  # seconds: requests this close to the cursor's in the recording may come in another order
NOT_RECORDED = 501


class Timeline:
    """The exchanges of the recordings in order, indexed by key, and the cursor."""

    def __init__(self, recordings: list[Recording]):
        self.exchanges = [exchange for rec in recordings for exchange in rec.exchanges]
        self.session = [n for n, rec in enumerate(recordings) for _ in rec.exchanges]  # which recording
        self.header = recordings[0].header
        self.cursor = -1
        self.served: set[int] = set()  # since the cursor last wrapped around
        self._by_key: dict[tuple, list[int]] = {}
        for index, exchange in enumerate(self.exchanges):
            k = recording.key(exchange["method"], exchange["path"], exchange.get("query") or {})
            self._by_key.setdefault(k, []).append(index)
        self.ping = next((e for e in self.exchanges if e["path"] == "/_ping" and e["status"] == 200), None)

    def take(self, method: str, path: str, query: dict, body: dict | None) -> dict | None:
        """The exchange answering this request (the cursor moves to it), or None."""
        indices = self._by_key.get(recording.key(method, path, query))
        if not indices:
            return None
        split = bisect_right(indices, self.cursor)
        # a request that was concurrent with the last ones served (the streams a chart opens at once)
        # may arrive after its neighbours moved the cursor past its own exchange: that one, unserved
        # and close in time, answers it, and the cursor stays
        late = [i for i in reversed(indices[:split]) if i not in self.served and self._near(i)]
        if late:
            index = next((i for i in late if self.exchanges[i].get("request") == body), late[0])
        else:
            ordered = indices[split:] + indices[:split]
            index = next((i for i in ordered if self.exchanges[i].get("request") == body), ordered[0])
            if index <= self.cursor:  # wrapped around: the session starts again
                self.served.clear()
            self.cursor = index
        self.served.add(index)
        return self.exchanges[index]

    def _near(self, index: int) -> bool:
        """Recorded in the same session as the cursor's exchange, at most ``NEAR`` seconds before it."""
        here = self.exchanges[self.cursor]
        return (self.session[index] == self.session[self.cursor]
                and here.get("t", 0) - self.exchanges[index].get("t", 0) <= NEAR)

    @property
    def recorded_on(self) -> str:
        return str(self.header.get("recorded", "an unknown date"))[:10]

    def engine_headers(self) -> list[tuple[str, str]]:
        """What the engine says about itself in its answers (Api-Version, Server, ...)."""
        if self.ping is not None:
            return [(k, v) for k, v in self.ping["headers"].items() if k.lower() in _ENGINE_HEADERS]
        engine = self.header.get("engine") or {}
        return [("Api-Version", str(engine.get("ApiVersion", ""))),
                ("Docker-Experimental", str(bool(engine.get("Experimental"))).lower()),
                ("Ostype", str(engine.get("Os", "linux"))),
                ("Server", f"Docker/{engine.get('Version', '')} ({engine.get('Os', 'linux')})")]

    def ping_headers(self) -> list[tuple[str, str]]:
        if self.ping is not None:
            return list(self.ping["headers"].items())
        return [*self.engine_headers(), ("Content-Type", "text/plain; charset=utf-8"),
                ("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")]


_ENGINE_HEADERS = {"api-version", "builder-version", "docker-experimental", "ostype", "server"}


class Replay:
    """Answers connections from a ``Timeline``; one task per connection."""

    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        self._tasks: set[asyncio.Task] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        client = Peer(reader, writer, h11.SERVER)
        try:
            while True:
                request = await client.next_event()
                if not isinstance(request, h11.Request):
                    break
                body = RequestBody()
                while True:
                    event = await client.next_event()
                    if isinstance(event, h11.Data):
                        body.add(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    else:
                        raise PeerGone()
                if not await self._answer(client, request, body.stored()) or not client.reusable():
                    break
        except (PeerGone, ConnectionError, OSError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:  # shutting down: end quietly (asyncio logs a cancelled handler)
            pass
        finally:
            client.close()
            self._tasks.discard(task)

    async def _answer(self, client: Peer, request: h11.Request, body: dict | None) -> bool:
        """Answer one request; False when the connection must end afterwards."""
        method = request.method.decode()
        path, query, raw_query = split_target(request.target)
        timeline = self.timeline
        if path == "/_ping":
            return await _send(client, 200, timeline.ping_headers(), b"" if method == "HEAD" else b"OK")
        if path == "/version" and method == "GET":  # the recorded engine's, its platform naming the replay
            version = dict(timeline.header.get("engine") or {})
            version["Platform"] = {"Name": f"replay of a session recorded on {timeline.recorded_on}"}
            content = json.dumps(version).encode() + b"\n"
            return await _send(client, 200, [*timeline.engine_headers(), ("Content-Type", "application/json")],
                               content)
        exchange = timeline.take(method, path, query, body)
        if exchange is None or "omitted" in exchange:
            shown = path + (f"?{unquote_plus(raw_query)}" if raw_query else "")
            why = f" (its answer, {exchange['omitted']['size']} bytes, was too big to keep)" if exchange else ""
            message = (f"not in the recorded session: {method} {shown}{why}; "
                       "this notebook runs against a replay (see binder/)")
            content = json.dumps({"message": message}).encode() + b"\n"
            return await _send(client, NOT_RECORDED, [*timeline.engine_headers(),
                                                      ("Content-Type", "application/json")], content)
        headers = list(exchange["headers"].items())
        if "hijack" in exchange:
            await self._hijack(client, request, exchange)
            return False
        if "stream" in exchange:
            return await self._stream(client, exchange, headers)
        content = recording.decode_body(exchange.get("body") or {})
        if path == "/info" and "json" in (exchange.get("body") or {}):
            info = dict(exchange["body"]["json"], Name=f"replay of a session recorded on {timeline.recorded_on}")
            content = json.dumps(info).encode() + b"\n"
        return await _send(client, exchange["status"], headers, b"" if method == "HEAD" else content)

    async def _stream(self, client: Peer, exchange: dict, headers: list) -> bool:
        stream = exchange["stream"]
        await client.send(h11.Response(status_code=exchange["status"], reason=_reason(exchange["status"]),
                                       headers=headers + [MARK]))
        start = asyncio.get_running_loop().time()
        for at, data in recording.timed_data(stream, "chunks"):
            if not await _wait_unless_gone(client, start + at):
                return False
            await client.send(h11.Data(data=data))
        if stream.get("ended") == "client":  # the engine would go on: hold it open until the client leaves
            await _wait_unless_gone(client, None)
            return False
        await client.send(h11.EndOfMessage())
        return True

    async def _hijack(self, client: Peer, request: h11.Request, exchange: dict) -> None:
        """The 101 written by hand (h11 allows it only after an Upgrade request, and a
        replay answers what the engine answered), then the engine's frames, then the end."""
        upgrade = header(raw_headers(request), "upgrade", "tcp")
        head = ["HTTP/1.1 101 UPGRADED"] + [f"{k}: {v}" for k, v in exchange["headers"].items()]
        head += ["Connection: Upgrade", f"Upgrade: {upgrade}", f"{MARK[0]}: {MARK[1]}"]
        await client.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        loop = asyncio.get_running_loop()
        start = loop.time()
        # the client's end of file only closes its stdin (the docker CLI does so at once): not a hang-up
        for at, who, data in recording.timed_data(exchange["hijack"], "frames"):
            if who == "server":
                await asyncio.sleep(max(0.0, start + at - loop.time()))
                await client.write(data)
        client.write_eof()
        try:  # let the client read to the end (and its stdin go nowhere) before the socket goes
            await asyncio.wait_for(_until_closed(client), 5)
        except asyncio.TimeoutError:
            pass

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


async def _send(client: Peer, status: int, headers: list, content: bytes) -> bool:
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    await client.send(h11.Response(status_code=status, reason=_reason(status), headers=headers + [
        ("Content-Length", str(len(content))), MARK]))
    if content:
        await client.send(h11.Data(data=content))
    await client.send(h11.EndOfMessage())
    return True


async def _wait_unless_gone(client: Peer, until: float | None) -> bool:
    """Wait until loop time ``until`` (None: for ever); False as soon as the client hangs up.
    Bytes it sends meanwhile (a pipelined request) wait in its h11 buffer."""
    loop = asyncio.get_running_loop()
    while True:
        delay = None if until is None else until - loop.time()
        if delay is not None and delay <= 0:
            return True
        watch = client.watch()
        done, _ = await asyncio.wait({watch}, timeout=delay)
        if watch in done:
            data = await client.read()
            if not data:
                return False
            client.conn.receive_data(data)


async def _until_closed(client: Peer) -> None:
    while await client.read():
        pass


def check_socket(path: Path) -> None:
    """Remove a stale socket; refuse one a live server still answers on."""
    if not path.exists() and not path.is_symlink():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise ReplayError(f"{path}: a server already answers on this socket")


def default_socket() -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / f"jupyter-containers-replay-{os.getuid()}" / "docker.sock"


async def serve(folder: str | os.PathLike, socket_path: str | os.PathLike | None = None) -> None:
    """Load the recordings in ``folder`` and answer on ``socket_path`` until SIGINT or SIGTERM."""
    timeline = Timeline(recording.load(folder))
    path = Path(socket_path) if socket_path else default_socket()
    path.parent.mkdir(parents=True, exist_ok=True)
    check_socket(path)
    replay = Replay(timeline)
    server = await asyncio.start_unix_server(replay.handle, path=str(path))
    print(f"DOCKER_HOST=unix://{path}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        server.close()
        await replay.stop()
        path.unlink(missing_ok=True)
        sys.stdout.flush()
