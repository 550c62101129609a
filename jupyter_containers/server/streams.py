"""Streaming responses (followed logs, pulls) that hold no worker of the shared pool.

Each open stream gets a thread of its own from a bounded set of slots; when
every slot is taken the request is answered at once with 503
``{"kind": "too-many-streams"}``, so the pool that serves every other request
(the listings, the engine ping) is never held by a stream. A client that goes
away closes its stream: the engine's response is shut, which ends the
blocked read, and the thread with it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable

from ..engine.errors import ContainersError

log = logging.getLogger("jupyter_containers.server")
THREAD_PREFIX = "jupyter-containers-stream"


class TooManyStreams(ContainersError):
    kind = "too-many-streams"


class ClientGone(Exception):
    """Raised inside a stream's thread when its client has gone away."""


class StreamSlots:
    """At most ``limit`` streams open at once, each with a thread of its own."""

    def __init__(self, limit: int = 96):
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def acquire(self, what: str) -> None:
        with self._lock:
            if self.open >= self.limit:
                raise TooManyStreams(
                    f"cannot open {what}: {self.limit} streams (followed logs and pulls) are open already; "
                    "close a log panel or wait for a pull to end", status=503)
            self.open += 1

    def release(self) -> None:
        with self._lock:
            self.open -= 1

    def start(self, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"{THREAD_PREFIX}-{next(self._numbers)}", daemon=True)
        thread.start()
        return thread


class Relay:
    """Runs ``work(emit)`` in a slot's thread and writes what it emits to ``handler`` as it comes.

    The slot must have been acquired; it is released when the thread ends.
    ``work`` may register closers with ``on_gone``: they run (on the event loop)
    when the client goes away, e.g. to shut the engine's response.
    """

    def __init__(self, handler, slots: StreamSlots):
        self.handler = handler
        self.slots = slots
        self.gone = False
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_gone(self, closer: Callable[[], None]) -> None:
        with self._lock:
            if not self.gone:
                self._closers.append(closer)
                return
        closer()

    def client_gone(self) -> None:
        with self._lock:
            self.gone = True
            closers, self._closers = self._closers, []
        for closer in closers:
            try:
                closer()
            except Exception:
                log.debug("jupyter-containers: closing a stream failed", exc_info=True)

    async def run(self, work: Callable[[Callable[[str], None]], None]) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: the server is shutting down
                pass

        def emit(text: str) -> None:
            if self.gone:
                raise ClientGone
            put(text)

        def body() -> None:
            try:
                work(emit)
            except ClientGone:
                pass
            except ContainersError as exc:  # the response has started: it just ends
                log.info("jupyter-containers: a stream ended: %s (%s)", exc, exc.kind)
            except Exception:
                log.exception("jupyter-containers: a stream failed")
            finally:
                self.slots.release()
                put(done)

        try:
            self.slots.start(body)
        except BaseException:  # no thread to be had: the slot goes back
            self.slots.release()
            raise
        ended = False
        while not ended:
            items = [await queue.get()]
            while not queue.empty() and len(items) < 1000:  # a burst goes out in one write
                items.append(queue.get_nowait())
            if done in items:
                ended = True
                items = items[:items.index(done)]
            if self.gone or not items:
                continue  # drain until the thread ends
            self.handler.write("".join(items))
            try:
                await self.handler.flush()
            except Exception:  # noqa: BLE001 - StreamClosedError: the client went away
                self.client_gone()
        if not self.gone:
            try:
                self.handler.finish()
            except Exception:  # the connection closed meanwhile
                log.debug("jupyter-containers: the stream's client left at its end", exc_info=True)
