"""The magics in a real ipykernel: session cleanup when the kernel is killed."""

from __future__ import annotations

import signal

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, wait_for

pytestmark = pytest.mark.usefixtures("busybox")


def execute(client, code: str) -> dict:
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


def test_sigkilled_kernel_leaves_no_session_containers(engine, name):
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        execute(client, "%load_ext jupyter_containers")
        execute(client, f"%config ContainerMagics.labels = {{'{TEST_LABEL}': '{RUN_ID}'}}")
        execute(client, f"%container run -d --session --name {name} {BUSYBOX} sleep 300")
        execute(client, f"%container run -d --name {name}-kept {BUSYBOX} sleep 300")
        assert engine.containers.get(name).state == "running"
        manager.signal_kernel(signal.SIGKILL)  # no atexit, no shutdown hooks
    finally:
        client.stop_channels()
        manager.cleanup_resources()
    wait_for(lambda: not engine.containers.exists(name), timeout=10,
             message="the killed kernel's session container to be removed")
    assert engine.containers.get(f"{name}-kept").state == "running"  # not marked --session: kept


def test_shutdown_kernel_removes_session_containers(engine, name):
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        execute(client, "%load_ext jupyter_containers\n%config ContainerMagics.session_scoped = True")
        execute(client, f"%config ContainerMagics.labels = {{'{TEST_LABEL}': '{RUN_ID}'}}")
        execute(client, f"%container run -d --name {name} {BUSYBOX} sleep 300")
        assert engine.containers.exists(name)
        manager.shutdown_kernel(now=False)
    finally:
        client.stop_channels()
    wait_for(lambda: not engine.containers.exists(name), timeout=10,
             message="the session container to be removed at shutdown")
