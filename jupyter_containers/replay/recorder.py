"""The recorder: a proxy on a Unix socket in front of a real engine, writing down
every exchange, while a command (a notebook run, a script) uses it as DOCKER_HOST.

Every request is forwarded as it comes (bodies stream through, so a build
context is never held whole) and its answer forwarded as it comes too, with
the time of each chunk. A 101 upgrade (exec start, attach) turns the
connection into a byte pipe both ways, passed through unchanged and written
down frame by frame. Registry requests that ``Registries`` sends over the
engine socket (``/_registry/{scheme}/{host}/{path}``) are made here with
``requests`` and recorded like the rest. Each client connection has its own
upstream connection, so keep-alive and many open streams work as they would
against the engine itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shutil
import signal
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import h11

from . import recording
from .http import (REPLAY_HEADER, Peer, PeerGone, header, open_peer, raw_headers, split_target, strip_version,
                   without)
from .recording import Exchange, ReplayError, RequestBody

MARK = (REPLAY_HEADER, "recording")
GATEWAY = "/_registry/"
UNREACHABLE = 599  # the registry could not be reached: registry_api's adapter raises ConnectionError
_CHILD_ENV_DROP = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT")


class Recorder:
    """The proxy's state: the upstream engine's url and the exchanges seen so far."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.exchanges: list[Exchange] = []
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._tasks: set[asyncio.Task] = set()
        self._http = None  # a requests.Session for registry requests, made when first needed

    def clock(self) -> float:
        return self._loop.time() - self._t0

    async def engine_version(self) -> dict:
        """The engine's ``/version`` answer, which also checks that it answers at all."""
        try:
            peer = await asyncio.wait_for(open_peer(self.upstream), 5)
        except (OSError, asyncio.TimeoutError) as exc:
            raise ReplayError(f"the engine at {self.upstream} does not answer ({exc or 'timed out'})") from None
        try:
            await peer.send(h11.Request(method="GET", target="/version", headers=[("Host", "localhost")]))
            await peer.send(h11.EndOfMessage())
            response, body = await asyncio.wait_for(_read_answer(peer), 10)
        except (PeerGone, h11.ProtocolError, asyncio.TimeoutError, ValueError) as exc:
            raise ReplayError(f"the engine at {self.upstream} does not answer /version ({exc!r})") from None
        finally:
            peer.close()
        if response.status_code != 200:
            raise ReplayError(f"the engine at {self.upstream} answered /version with {response.status_code}")
        return json.loads(body)

    # -- one client connection ------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        client, upstream, exchange = Peer(reader, writer, h11.SERVER), None, None
        try:
            while True:
                request = await client.next_event()
                if not isinstance(request, h11.Request):
                    break
                exchange = self._begin(request)
                if exchange.path.startswith(GATEWAY):
                    await self._gateway(client, request, exchange)
                else:
                    if upstream is None:
                        upstream = await self._open_upstream(client)
                        if upstream is None:
                            break
                    upstream = await self._forward(client, upstream, request, exchange)
                if exchange.kind == "hijack" or exchange.ended == "client" or not client.reusable():
                    break
        except (PeerGone, ConnectionError, OSError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:  # shutting down: end quietly (asyncio logs a cancelled handler)
            pass
        finally:
            if exchange is not None and exchange.kind != "body" and exchange.ended is None:
                exchange.ended = "client"  # the recording ended while the stream was open
            client.close()
            if upstream is not None:
                upstream.close()
            self._tasks.discard(task)

    def _begin(self, request: h11.Request) -> Exchange:
        path, query, _ = split_target(request.target)
        headers = raw_headers(request)
        exchange = Exchange(self.clock(), request.method.decode(), path, query,
                            recording.stored_headers(headers, request=True),
                            RequestBody(keep_all=path.startswith(GATEWAY)))
        self.exchanges.append(exchange)
        return exchange

    async def _open_upstream(self, client: Peer) -> Peer | None:
        try:
            return await open_peer(self.upstream)
        except OSError as exc:
            await _answer(client, 502, {"message": f"the engine at {self.upstream} does not answer ({exc})"})
            return None

    async def _forward(self, client: Peer, upstream: Peer, request: h11.Request, exchange: Exchange) -> Peer | None:
        """One request to the engine and its answer back; the upstream peer if it can be reused."""
        await upstream.send(h11.Request(method=request.method, target=request.target, headers=raw_headers(request)))
        while True:
            event = await client.next_event()
            if isinstance(event, h11.Data):
                exchange.body.add(event.data)
                await upstream.send(event)
            elif isinstance(event, h11.EndOfMessage):
                await upstream.send(h11.EndOfMessage())
                break
            else:
                raise PeerGone()
        while True:  # the answer's head (passing 1xx other than 101 through)
            event = await _next_or_gone(client, upstream)
            if event is None:
                upstream.close()
                return None
            if isinstance(event, h11.InformationalResponse) and event.status_code != 101:
                await client.send(event)
                continue
            break
        if not isinstance(event, (h11.Response, h11.InformationalResponse)):
            raise PeerGone()
        headers = raw_headers(event)
        exchange.status = event.status_code
        exchange.response_headers = recording.stored_headers(headers, request=False)
        if event.status_code == 101:
            await self._pipe(client, upstream, event, exchange)
            return None
        if not header(headers, "content-length") and request.method != b"HEAD" and event.status_code not in (204, 304):
            exchange.kind = "stream"  # chunked, or until the engine closes: its chunks keep their times
        await client.send(h11.Response(status_code=event.status_code, reason=event.reason,
                                       headers=without(headers, ("connection", "keep-alive")) + [MARK]))
        start = self.clock()
        while True:
            event = await _next_or_gone(client, upstream)
            if event is None:
                exchange.ended = "client"
                upstream.close()
                return None
            if isinstance(event, h11.Data):
                exchange.keep(self.clock() - start, bytes(event.data))
                await client.send(h11.Data(data=event.data))
            else:  # EndOfMessage, or the engine closed mid-answer
                exchange.ended = "server"
                await client.send(h11.EndOfMessage())
                break
        if upstream.reusable():
            return upstream
        upstream.close()
        return None

    async def _pipe(self, client: Peer, upstream: Peer, response, exchange: Exchange) -> None:
        """After a 101: bytes both ways, unchanged, each frame written down with its time."""
        exchange.kind = "hijack"
        await client.send(h11.InformationalResponse(status_code=101, reason=response.reason,
                                                    headers=raw_headers(response) + [MARK]))
        start = self.clock()

        async def copy(source: Peer, target: Peer, who: str, first: bytes) -> None:
            data = first
            while True:
                if data:
                    exchange.keep(self.clock() - start, data, who)
                    await target.write(data)
                data = await source.read()
                if not data:
                    break
            if who == "server":  # the client's end of file only closes its stdin (the docker CLI: at once)
                exchange.ended = "server"
            target.write_eof()

        directions = [asyncio.ensure_future(copy(upstream, client, "server", upstream.conn.trailing_data[0])),
                      asyncio.ensure_future(copy(client, upstream, "client", client.conn.trailing_data[0]))]
        try:  # until both sides closed, or one failed
            await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in directions:
                task.cancel()

    # -- registry requests over the engine socket -------------------------------------
    async def _gateway(self, client: Peer, request: h11.Request, exchange: Exchange) -> None:
        while True:
            event = await client.next_event()
            if isinstance(event, h11.Data):
                exchange.body.add(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise PeerGone()
        url = registry_url(request.target)
        headers = {k: v for k, v in raw_headers(request)
                   if k.lower() not in ("host", "content-length", "connection", "accept-encoding",
                                        "transfer-encoding", REPLAY_HEADER.lower())}
        status, answer_headers, content = await asyncio.to_thread(
            self._fetch, request.method.decode(), url, headers, bytes(exchange.body.data))
        exchange.status = status
        exchange.response_headers = recording.stored_headers(answer_headers, request=False)
        exchange.keep(0.0, content)
        await client.send(h11.Response(status_code=status, headers=answer_headers + [
            ("Content-Length", str(len(content))), MARK]))
        await client.send(h11.Data(data=content))
        await client.send(h11.EndOfMessage())

    def _fetch(self, method: str, url: str, headers: dict, body: bytes):
        """The registry's answer, or 599 with a message when it cannot be reached.
        TLS is verified except for loopback registries (the engine treats those as insecure too)."""
        import requests

        if self._http is None:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # loopback only, on purpose
            self._http = requests.Session()
        host = url.split("://", 1)[1].split("/", 1)[0]
        ca = Path("/etc/docker/certs.d") / host / "ca.crt"
        verify = False if is_loopback(host) else (str(ca) if ca.is_file() else True)
        try:
            response = self._http.request(method, url, headers=headers, data=body or None, verify=verify,
                                          timeout=30, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            kind = "tls" if isinstance(exc, requests.exceptions.SSLError) else "connection"
            text = " ".join(str(exc).split())[:300]
            content = json.dumps({"message": f"{method} {url}: {text}", "kind": kind}).encode()
            return UNREACHABLE, [("Content-Type", "application/json")], content
        dropped = {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"}
        return (response.status_code, [(k, v) for k, v in response.headers.items() if k.lower() not in dropped],
                response.content)

    async def settle(self, timeout: float) -> None:
        """Give open connections ``timeout`` seconds to notice their client has gone; then end them."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=1)
        if self._http is not None:
            self._http.close()


def registry_url(target: bytes) -> str:
    """``/_registry/https/host:5000/v2/x?n=1`` -> ``https://host:5000/v2/x?n=1`` (kept as encoded)."""
    text = strip_version(target.decode("latin-1"))
    scheme, _, rest = text[len(GATEWAY):].partition("/")
    host, _, path = rest.partition("/")
    if scheme not in ("http", "https") or not host:
        raise PeerGone()
    return f"{scheme}://{host}/{path}"


def is_loopback(host: str) -> bool:
    name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0] or host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


async def _next_or_gone(client: Peer, upstream: Peer):
    """The upstream's next event, or None if the client hung up first (bytes it sends
    meanwhile wait in its h11 buffer)."""
    pending = asyncio.ensure_future(upstream.next_event())
    while True:
        watch = client.watch()
        done, _ = await asyncio.wait({pending, watch}, return_when=asyncio.FIRST_COMPLETED)
        if watch in done:
            data = await client.read()
            if not data:
                pending.cancel()
                return None
            client.conn.receive_data(data)
        if pending in done:
            return pending.result()


async def _read_answer(peer: Peer):
    response = await peer.next_event()
    body = bytearray()
    while True:
        event = await peer.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        else:
            return response, bytes(body)


async def _answer(client: Peer, status: int, payload: dict) -> None:
    content = json.dumps(payload).encode()
    await client.send(h11.Response(status_code=status, headers=[
        ("Content-Type", "application/json"), ("Content-Length", str(len(content))), MARK]))
    await client.send(h11.Data(data=content))
    await client.send(h11.EndOfMessage())


async def record(upstream: str, out: str | os.PathLike, command: list[str]) -> int:
    """Run ``command`` against a recording proxy of ``upstream``; write ``out/recording.json``.

    Returns the command's exit code (128 + N when a signal N ended it).
    """
    if not command:
        raise ReplayError("say which command to record, after --")
    recorder = Recorder(upstream)
    engine = await recorder.engine_version()
    folder = tempfile.mkdtemp(prefix="jc-rec-", dir="/tmp" if os.path.isdir("/tmp") else None)
    sock = os.path.join(folder, "docker.sock")
    server = await asyncio.start_unix_server(recorder.handle, path=sock)
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
    env.update(DOCKER_HOST=f"unix://{sock}", JUPYTER_CONTAINERS_RECORDING="1")
    recorded = datetime.now(timezone.utc).isoformat(timespec="seconds")
    loop = asyncio.get_running_loop()
    try:
        try:
            child = await asyncio.create_subprocess_exec(*command, env=env)
        except OSError as exc:
            raise ReplayError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        # the terminal sends Ctrl-C to the command too; we wait for it to end, then write
        loop.add_signal_handler(signal.SIGINT, lambda: None)
        loop.add_signal_handler(signal.SIGTERM, lambda: child.send_signal(signal.SIGTERM))
        code = await child.wait()
    finally:
        server.close()
        await recorder.settle(timeout=2.0)
        shutil.rmtree(folder, ignore_errors=True)
    recording.write(Path(out), recorded, engine, recorder.exchanges)
    return 128 - code if code < 0 else code
