"""HTTP/1.1 over asyncio streams, with h11 doing the framing.

The recorder (a proxy) and the replay server both hold many connections at
once: the dashboard keeps event, stats and log streams open while cells make
calls, and docker-py keeps pooled connections alive between requests. So each
connection is one asyncio task with a ``Peer``: h11's state machine plus the
socket, read 64 KiB at a time. No thread per connection, no hand parsing.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

READ_SIZE = 65536
MAX_HEAD = 1 << 20  # docker's X-Registry-Config may be larger than h11's 16 KiB default
REPLAY_HEADER = "X-Jupyter-Containers-Replay"
_VERSION_PREFIX = re.compile(r"^/v\d+(\.\d+)?(?=/)")


class PeerGone(Exception):
    """The other side of a connection closed it (or reset it)."""


class Peer:
    """One connection: an h11 ``Connection`` (as CLIENT or SERVER) over a socket.

    ``watch()`` starts a read that can be raced against other work: while a
    response streams to a client, a read completing with no data means the
    client hung up (docker-py's ``Stream.close()`` does exactly that). The next
    ``read()`` takes the watched read's bytes over, so none are lost.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, role):
        self.reader, self.writer = reader, writer
        self.conn = h11.Connection(role, max_incomplete_event_size=MAX_HEAD)
        self._reading: asyncio.Task | None = None

    async def read(self) -> bytes:
        """Raw bytes from the socket (b"" at its end), taking over a pending ``watch()``."""
        task, self._reading = self._reading, None
        try:
            return await task if task is not None else await self.reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            return b""

    def watch(self) -> asyncio.Task:
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.reader.read(READ_SIZE))
        return self._reading

    async def next_event(self):
        """The next h11 event; ``ConnectionClosed`` when the peer left between messages."""
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.conn.receive_data(await self.read())

    async def send(self, event) -> None:
        try:
            data = self.conn.send(event)
            if data:
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise PeerGone() from exc

    async def write(self, data: bytes) -> None:
        """Raw bytes, after a protocol switch (or instead of h11, for a replayed 101)."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise PeerGone() from exc

    def write_eof(self) -> None:
        try:
            if self.writer.can_write_eof() and not self.writer.is_closing():
                self.writer.write_eof()
        except (ConnectionError, OSError):
            pass

    def reusable(self) -> bool:
        """Both sides finished their message and keep-alive holds: ready for the next one."""
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None
        try:
            self.writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def open_peer(url: str) -> Peer:
    """A client connection to ``unix:///path`` or ``tcp://host:port`` (``http://`` too)."""
    if url.startswith("unix://"):
        reader, writer = await asyncio.open_unix_connection(url[len("unix://"):])
    else:
        address = urlsplit(url if "://" in url else f"tcp://{url}")
        reader, writer = await asyncio.open_connection(address.hostname, address.port or 2375)
    return Peer(reader, writer, h11.CLIENT)


def strip_version(path: str) -> str:
    """``/v1.41/containers/json`` -> ``/containers/json``: a replay answers clients of any API version."""
    return _VERSION_PREFIX.sub("", path) or "/"


def split_target(target: bytes) -> tuple[str, dict, str]:
    """A request target -> (path without the API version prefix, decoded; query; raw query)."""
    parts = urlsplit(target.decode("latin-1"))
    path = strip_version(unquote(parts.path))
    query: dict = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in query:  # a repeated parameter becomes a list, in order
            query[name] = (query[name] if isinstance(query[name], list) else [query[name]]) + [value]
        else:
            query[name] = value
    return path, query, parts.query


def raw_headers(event) -> list[tuple[str, str]]:
    """An h11 event's headers with their names as the peer spelled them."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers.raw_items()]


def header(headers: list[tuple[str, str]], name: str, default: str = "") -> str:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), default)


def without(headers: list[tuple[str, str]], names) -> list[tuple[str, str]]:
    names = {n.lower() for n in names}
    return [(k, v) for k, v in headers if k.lower() not in names]
