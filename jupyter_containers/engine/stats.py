"""The engine's ``/containers/{id}/stats`` stream, one closeable stream per container.

The engine samples every followed container once per second (one collector
for all of them); each frame carries the previous frame's CPU counters as
``precpu_stats``, except the first frame of a stream. ``jupyter_containers.stats``
turns frames into rows with the docker CLI's formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .streams import StatsSample, Stream, json_lines

if TYPE_CHECKING:
    from .client import Engine


def follow_stats(engine: "Engine", ref: str) -> Stream[StatsSample]:
    """A closeable stream of ``StatsSample``, about one a second, for ``ref``.

    It does not end when the container stops (the engine then sends frames
    with no figures, ``sample.running`` is False); close it from any thread.
    Raises ``ContainerNotFound`` for an unknown container.
    """
    api = engine.api
    with engine.translated("stats", "container", ref):
        response = api._get(api._url("/containers/{0}/stats", ref), params={"stream": True},
                            stream=True, timeout=None)
        api._raise_for_status(response)
    return Stream((StatsSample.from_raw(frame) for frame in json_lines(response)), response)
