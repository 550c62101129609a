"""The REST server under load: open streams (followed logs, pulls) must not starve the other requests."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import test_server
from conftest import BUSYBOX, wait_for
from test_server import API, error_of

pytestmark = pytest.mark.usefixtures("busybox")
api, jp_server_config, jp_root_dir = test_server.api, test_server.jp_server_config, test_server.jp_root_dir


@pytest.fixture
def open_stream(jp_serverapp, http_server_port, jp_auth_header, jp_base_url):
    """Open a request on a raw connection and read its status line and headers; (status, reader, writer).
    Closing the writer is a client that goes away."""
    opened = []

    async def start(method: str, path: str, body: dict | None = None):
        reader, writer = await asyncio.open_connection("127.0.0.1", http_server_port[1])
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {jp_base_url}{API}/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {jp_auth_header['Authorization']}\r\nContent-Length: {len(data)}\r\n\r\n")
        writer.write(head.encode() + data)
        await writer.drain()
        status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        opened.append(writer)
        return status, reader, writer
    yield start
    for writer in opened:
        writer.close()


def stream_threads() -> int:
    return sum(t.name.startswith("jupyter-containers-stream") and t.is_alive() for t in threading.enumerate())


async def test_followed_logs_do_not_starve_other_requests(api, open_stream, jp_serverapp, engine, name):
    engine.containers.run(BUSYBOX, "sleep 300", name=name)  # says nothing: its followers just wait
    streams = []
    for _ in range(12):  # more than the pool that serves every other request
        status, _reader, writer = await open_stream("GET", f"containers/{name}/logs?follow=1")
        assert status == 200
        streams.append(writer)
    for path in ("engine", "containers", "images", "stacks"):
        await asyncio.wait_for(api("GET", path), 10)
    assert stream_threads() == 12
    for writer in streams:  # the clients go away: their streams end, their threads with them
        writer.close()
    await asyncio.to_thread(wait_for, lambda: stream_threads() == 0, 10, 0.05, "the streams to end")
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    assert state.streams.open == 0


async def test_too_many_streams_is_an_immediate_503(api, open_stream, jp_serverapp, engine, name):
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    state.streams.limit = 3
    engine.containers.run(BUSYBOX, "sleep 300", name=name)
    for _ in range(3):
        assert (await open_stream("GET", f"containers/{name}/logs?follow=1"))[0] == 200
    message = error_of(await asyncio.wait_for(api("GET", "containers", name, "logs", follow="1", expect=503), 10),
                       "too-many-streams")
    assert "3 streams" in message, message
    error_of(await asyncio.wait_for(api("POST", "images", "pull", body={"image": BUSYBOX}, expect=503), 10),
             "too-many-streams")
    assert name in {c["name"] for c in await asyncio.wait_for(api("GET", "containers"), 10)}
    assert stream_threads() <= 3


async def test_a_pull_whose_client_goes_away_ends(api, open_stream, engine, registry, name):
    ref = f"{registry}/jc-test/{name}:1"
    engine.images.tag(BUSYBOX, ref)
    engine.images.push(ref)
    engine.images.remove(ref)
    try:
        status, _reader, writer = await open_stream("POST", "images/pull", {"image": ref})
        assert status == 200
        writer.close()
        await asyncio.to_thread(wait_for, lambda: stream_threads() == 0, 20, 0.05, "the pull's thread to end")
        for path in ("engine", "containers"):
            await asyncio.wait_for(api("GET", path), 10)
    finally:
        if engine.images.exists(ref):
            engine.images.remove(ref, force=True)


@pytest.mark.parametrize("jp_server_config", [
    {"ServerApp": {"jpserver_extensions": {"jupyter_containers.server": True}},
     "ContainersAPI": {"max_streams": 2, "stats_idle": 5.0}}])
async def test_the_limits_are_configurable(jp_serverapp, jp_server_config):
    state = jp_serverapp.web_app.settings["jupyter_containers"]
    assert state.streams.limit == 2 and state.stats_idle == 5.0


async def test_a_chatty_followed_log_arrives_whole_and_in_order(api, engine, name):
    engine.containers.run(BUSYBOX, ["seq", "1", "20000"], name=name)
    text = await asyncio.wait_for(api("GET", "containers", name, "logs", follow="1", tail="all"), 30)
    assert text == "".join(f"{i}\n" for i in range(1, 20001))
