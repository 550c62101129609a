"""Streams end quietly only when the engine ended them or we closed them;
a pull that cannot begin says which image and what failed.

A connection cut under a reader (the engine killed) is ``EngineUnavailable``
naming the streaming request; a decoder's error is raised as it is, never
taken for the end of the stream.
"""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest
from conftest import (
    BUSYBOX,
    RUN_ID,
    TEST_LABEL,
    build_busybox,
    free_port,
    usage_error,
    wait_for,
)

from jupyter_containers.engine import EngineUnavailable, ImageNotFound, PullError
from jupyter_containers.engine.streams import Stream, json_lines, multiplexed_lines


def _read_in_thread(stream):
    outcome = []

    def read():
        try:
            outcome.extend(stream)
            outcome.append("ended quietly")
        except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, outcome


def test_killed_engine_cuts_a_follow_stream_with_an_error_naming_it(second_engine):
    private, engine = second_engine
    build_busybox(engine)
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo up; exec sleep 300"], name="jc-test-cut", network="none")
    stream = engine.containers.follow_logs("jc-test-cut")
    assert next(stream).text == "up"
    reader, outcome = _read_in_thread(stream)
    os.kill(private.pid, signal.SIGKILL)
    reader.join(15)
    assert not reader.is_alive(), "the stream hung after the engine died"
    error = outcome[-1]
    assert isinstance(error, EngineUnavailable), outcome
    # the stream's own error, not a later request that found no engine
    assert error.operation == "logs jc-test-cut" and error.target == private.url, (error.operation, str(error))
    assert str(error).startswith(f"the engine at {private.url} cut the logs jc-test-cut stream (")
    assert "\n" not in str(error)
    assert stream.closed
    wait_for(lambda: private.pid is None, message="the daemon to be gone")


def test_a_decoder_error_is_raised_not_taken_for_the_end(engine, busybox, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo plain text, not json; exec sleep 300"], name=name,
                          network="none")
    wait_for(lambda: "plain text" in engine.containers.logs(name), message="the output")
    api = engine.api
    # the logs endpoint answers framed bytes; fed to the JSON decoder it must fail loudly
    response = api._get(api._url("/containers/{0}/logs", name), params={"stdout": 1, "follow": 0},
                        stream=True)
    api._raise_for_status(response)
    stream = Stream(json_lines(response), response)
    with pytest.raises(ValueError):  # JSONDecodeError or UnicodeDecodeError: bad data, said so
        list(stream)
    assert stream.closed


def test_close_from_another_thread_still_ends_quietly(engine, busybox, name):
    engine.containers.run(BUSYBOX, ["sh", "-c", "echo up; exec sleep 300"], name=name, network="none")
    stream = engine.containers.follow_logs(name)
    assert next(stream).text == "up"
    reader, outcome = _read_in_thread(stream)
    stream.close()
    reader.join(10)
    assert not reader.is_alive() and outcome == ["ended quietly"], outcome


# -- a pull stream that cannot start: what run and pull say --------------------------

def _mine(engine):
    return {c.id for c in engine.containers.list(all=True, filters={"label": f"{TEST_LABEL}={RUN_ID}"})}


def test_run_of_an_image_from_a_registry_that_does_not_answer(engine, ip, name):
    port = free_port()  # bound and released: nothing listens there
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    ref = f"127.0.0.1:{port}/jc-test/x:9"
    before = _mine(engine)
    with pytest.raises(PullError) as err:
        engine.containers.run(ref, name=name)
    assert str(err.value) == (f"image {ref} is not here and could not be pulled: "
                              f"127.0.0.1:{port} does not answer (connection refused)")
    assert err.value.target == ref and err.value.status == 500
    with pytest.raises(PullError) as err:
        engine.images.pull(ref)
    assert str(err.value) == f"pull of {ref} failed: 127.0.0.1:{port} does not answer (connection refused)"
    assert usage_error(ip, f"%container run --name {name} {ref}") == (
        f"container run: image {ref} is not here and could not be pulled: "
        f"127.0.0.1:{port} does not answer (connection refused)")
    assert _mine(engine) == before


def test_run_of_an_image_the_registry_does_not_have(engine, registry, ip, name):
    ref = f"{registry}/jc-test/nothing-{RUN_ID}:9"
    before = _mine(engine)
    with pytest.raises(ImageNotFound) as err:
        engine.containers.run(ref, name=name)
    assert str(err.value) == (f"image {ref} is not here and could not be pulled: "
                              f"{registry} has no jc-test/nothing-{RUN_ID}:9")
    with pytest.raises(ImageNotFound) as err:
        engine.images.pull(f"{registry}/jc-test/nothing-{RUN_ID}")
    assert str(err.value) == (f"pull of {registry}/jc-test/nothing-{RUN_ID} failed: "
                              f"{registry} has no jc-test/nothing-{RUN_ID}:latest")
    assert usage_error(ip, f"%container run {ref}").startswith(f"container run: image {ref} is not here")
    assert _mine(engine) == before


def test_a_read_timeout_is_engine_timeout_not_the_end(engine, busybox, name):
    from jupyter_containers.engine.errors import EngineTimeout

    engine.containers.run(BUSYBOX, ["sleep", "300"], name=name, network="none")  # says nothing
    api = engine.api
    response = api._get(api._url("/containers/{0}/logs", name), params={"stdout": 1, "follow": 1},
                        stream=True, timeout=1)
    api._raise_for_status(response)
    stream = Stream(multiplexed_lines(response.raw, False), response, operation=f"logs {name}", url=engine.url)
    with pytest.raises(EngineTimeout) as err:
        next(stream)
    assert str(err.value).startswith(f"the engine at {engine.url} sent nothing on the logs {name} stream")
    assert err.value.operation == f"logs {name}" and stream.closed
