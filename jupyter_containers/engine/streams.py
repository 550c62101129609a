"""Closeable iterators of typed events.

A ``Stream`` wraps one open HTTP response of the engine. It is an iterator and
a context manager, and ``close()`` may be called from another thread (a Stop
button) to end it: the iteration then simply stops. When the response ends
because the engine went away, iteration raises ``EngineUnavailable`` instead
of ending quietly or hanging; a cut connection (reset, truncated response) is
``EngineUnavailable`` and a read timeout ``EngineTimeout``, both naming the
operation. Any other exception (a decoder's bug, bad data) is raised as it is:
it is never taken for the end of the stream.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from .errors import ContainersError, EngineTimeout, EngineUnavailable, one_line
from .records import _ts

T = TypeVar("T")


@dataclass(frozen=True)
class PullProgress:
    """One progress line of a pull or a push; ``id`` is the layer."""
    id: str | None
    status: str
    current: int | None = None
    total: int | None = None

    @classmethod
    def from_raw(cls, data: dict) -> "PullProgress":
        detail = data.get("progressDetail") or {}
        return cls(id=data.get("id"), status=data.get("status", ""),
                   current=detail.get("current"), total=detail.get("total"))


@dataclass(frozen=True)
class BuildLine:
    """One line of a build's log; ``step`` is the step it belongs to."""
    text: str
    step: str | None = None


@dataclass(frozen=True)
class StatsSample:
    """One frame of a container's ``/stats`` stream, as the engine sent it.

    ``time`` is None when the container is not running (the engine then sends
    frames holding only its name and id). ``primed`` is False for the first
    frame of a stream, whose ``precpu_stats`` are empty so no CPU % can be
    computed from it.
    """
    id: str
    name: str
    time: datetime | None
    raw: dict

    @classmethod
    def from_raw(cls, data: dict) -> "StatsSample":
        return cls(id=data.get("id", ""), name=(data.get("name") or "").lstrip("/"),
                   time=_ts(data.get("read")), raw=data)

    @property
    def running(self) -> bool:
        return self.time is not None

    @property
    def primed(self) -> bool:
        return bool((self.raw.get("precpu_stats") or {}).get("system_cpu_usage"))


@dataclass(frozen=True)
class LogLine:
    stream: str  # "stdout" or "stderr"
    text: str
    time: datetime | None = None


class Stream(Generic[T], Iterator[T]):
    """An iterator of ``T`` over one engine response; close it to stop.

    ``items`` yields already-parsed events; ``response`` is the HTTP response
    to shut down on ``close()``; ``on_end`` runs when the items end by
    themselves (not by ``close()``) and may raise, e.g. when the engine is gone.
    ``operation`` and ``url`` name the request in the error a cut connection raises.
    """

    def __init__(self, items: Iterable[T], response: Any = None,
                 on_end: Callable[[], None] | None = None, *,
                 operation: str | None = None, url: str | None = None):
        self._items = iter(items)
        self._response = response
        self._on_end = on_end
        self._closed = threading.Event()
        self.operation = operation
        self.url = url

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __iter__(self) -> "Stream[T]":
        return self

    def __next__(self) -> T:
        if self.closed:
            raise StopIteration
        try:
            return next(self._items)
        except StopIteration:
            self._finish()
            raise
        except ContainersError:
            self._shutdown()
            raise
        except Exception as exc:
            if self.closed:  # close() shut the response under a reader in another thread
                raise StopIteration from None
            self._shutdown()
            if isinstance(exc, _transport_errors()):
                raise self._transport_error(exc) from exc
            raise  # not the engine's doing: a bug or bad data, shown as it is

    def _transport_error(self, exc: BaseException) -> EngineUnavailable:
        """The error tree's name for a connection that failed while we read it."""
        import socket

        import requests.exceptions
        import urllib3.exceptions

        url = self.url or _engine_url(self._response)
        what = f"the {self.operation} stream" if self.operation else "a stream"
        reason = one_line(exc) or type(exc).__name__
        if isinstance(exc, (socket.timeout, TimeoutError, requests.exceptions.Timeout,
                            urllib3.exceptions.TimeoutError)):
            return EngineTimeout(f"the engine at {url} sent nothing on {what} within its read timeout ({reason})",
                                 operation=self.operation, target=url)
        return EngineUnavailable(f"the engine at {url} cut {what} ({reason}); is it still running?",
                                 operation=self.operation, target=url)

    def _finish(self) -> None:
        ended_by_close = self.closed
        self._shutdown()
        if not ended_by_close and self._on_end is not None:
            self._on_end()

    def _shutdown(self) -> None:
        self._closed.set()
        response = self._response
        if response is None:
            return
        try:  # shutting the socket wakes a reader blocked in another thread
            sock = response.raw._fp.fp.raw._sock
            sock.shutdown(2)
        except Exception:
            pass
        try:
            response.close()
        except Exception:
            pass

    def close(self) -> None:
        """End the stream; safe from any thread and more than once."""
        self._shutdown()

    def __enter__(self) -> "Stream[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _engine_url(response: Any) -> str:
    """The engine a streamed response came from, as its url, for error messages."""
    adapter = getattr(response, "connection", None)
    if getattr(adapter, "socket_path", None):
        return f"unix://{adapter.socket_path}"
    url = str(getattr(response, "url", "") or "")
    if url.startswith(("http://", "https://")):
        return "/".join(url.split("/", 3)[:3])
    return "the engine"


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What reading an engine response raises when the connection, not the data, fails."""
    import http.client

    import requests.exceptions
    import urllib3.exceptions

    return (OSError, http.client.HTTPException, requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError)


def json_lines(response) -> Iterator[dict]:
    """Decoded JSON objects from a streamed engine response."""
    import json

    buffer = b""
    for chunk in response.iter_content(chunk_size=None):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffer.strip():
        yield json.loads(buffer)


def multiplexed_frames(raw, tty: bool) -> Iterator[tuple[str, bytes]]:
    """``(stream, bytes)`` pieces of a container's output from the engine's framed stream.

    Without a TTY each frame has an 8-byte header naming stdout or stderr; with
    one the bytes are plain stdout.
    """
    names = {1: "stdout", 2: "stderr"}
    while True:
        if tty:
            data = raw.read1(65536) if hasattr(raw, "read1") else raw.read(4096)
            if not data:
                return
            yield "stdout", data
            continue
        header = raw.read(8)
        if len(header) < 8:
            return
        kind, length = struct.unpack(">BxxxL", header)
        yield names.get(kind, "stdout"), raw.read(length)


def multiplexed_lines(raw, tty: bool, timestamps: bool = False) -> Iterator[LogLine]:
    """Lines of a container's output from the engine's framed stream (see ``multiplexed_frames``).

    Frames do not align with lines, so each stream keeps its own partial line.
    """
    partial = {"stdout": b"", "stderr": b""}

    def line(stream: str, data: bytes) -> LogLine:
        text = data.decode("utf-8", "replace").rstrip("\r")
        when = None
        if timestamps and " " in text:
            stamp, rest = text.split(" ", 1)
            try:
                when, text = _ts(stamp), rest
            except ValueError:
                pass
        return LogLine(stream, text, when)

    for stream, data in multiplexed_frames(raw, tty):
        buffer = partial[stream] + data
        *complete, partial[stream] = buffer.split(b"\n")
        for piece in complete:
            yield line(stream, piece)
    for stream, rest in partial.items():
        if rest:
            yield line(stream, rest)
