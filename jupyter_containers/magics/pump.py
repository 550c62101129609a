"""Streams read for the kernel's main thread in a way that a kernel interrupt always reaches.

A kernel interrupt is a SIGINT to the process, and the kernel may hand it to any of its threads:
then a main thread blocked in a socket read would not see it until the engine sends more (a
quiet ``sleep 600`` never does). So a background thread reads, and the main thread waits on a
queue in short steps, running Python (and so the interrupt) between them.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
POLL = 0.2  # seconds the main thread waits at most before it looks at signals again
_END = object()


def pumped(stream: Iterable[T], name: str = "stream reader") -> Iterator[T]:
    """``stream``'s items, read in a thread; its errors are raised here. Close the stream to stop the
    reader (``with stream:`` around the loop does)."""
    items: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            for item in stream:
                items.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            items.put(exc)
        finally:
            items.put(_END)

    threading.Thread(target=read, name=name, daemon=True).start()
    while True:
        try:
            item = items.get(timeout=POLL)
        except queue.Empty:
            continue
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
