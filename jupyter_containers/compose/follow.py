"""Several containers' log streams merged into one closeable stream."""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from ..engine.streams import LogLine

_END = object()


class MergedLogs(Iterator[tuple[str, LogLine]]):
    """(container name, line) as they come from each stream, until every stream ended or
    ``close()`` (from any thread). An error in one stream is raised when reached."""

    def __init__(self, streams: list[tuple[str, object]]):
        self._streams = streams
        self._queue: queue.Queue = queue.Queue()
        self._open = len(streams)
        self._closed = False
        for name, stream in streams:
            threading.Thread(target=self._pump, args=(name, stream), daemon=True).start()

    def _pump(self, name: str, stream) -> None:
        try:
            for line in stream:
                self._queue.put((name, line))
        except Exception as exc:  # noqa: BLE001 - handed to the reader
            self._queue.put(exc)
        finally:
            self._queue.put(_END)

    def __next__(self) -> tuple[str, LogLine]:
        while self._open and not self._closed:
            item = self._queue.get()
            if item is _END:
                self._open -= 1
            elif isinstance(item, Exception):
                self.close()
                raise item
            else:
                return item
        raise StopIteration

    def close(self) -> None:
        self._closed = True
        for _, stream in self._streams:
            stream.close()
        self._queue.put(_END)

    def __enter__(self) -> "MergedLogs":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
