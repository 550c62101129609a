"""The widget dashboard in a real JupyterLab: ``%container dashboard`` shows the engine's
containers, a container started by the test appears, Stop clicked in the browser stops it;
screenshots in the light and dark themes."""

from __future__ import annotations

import re

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port, wait_for
from jupyter_containers.kernels import KERNEL_LABEL, SPEC_LABEL
from lab import (ARTIFACTS, browser, command, jp_asyncio_loop, jp_server_cleanup,  # noqa: F401
                 lab_server, open_notebook, page, run_all_cells, use_theme)

pytestmark = pytest.mark.usefixtures("busybox")


def row(page, name: str):  # noqa: F811
    return page.locator(".jcd-rowbox", has=page.locator(f"b:text-is('{name}')"))


def state_of(page, name: str) -> str:  # noqa: F811
    return row(page, name).locator(".jcd-pill").inner_text()


def test_dashboard_shows_a_new_container_and_stops_it(engine, lab_server, page, name):  # noqa: F811
    port = free_port()
    engine.containers.run(BUSYBOX, "httpd -f -p 80", name=f"{name}-web", ports=[f"127.0.0.1:{port}:80"], init=True)
    engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-api-1", init=True,
                          labels={"com.docker.compose.project": name, "com.docker.compose.service": "api"})
    cache = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-cache", init=True)
    engine.containers.pause(cache.id)
    engine.containers.create(BUSYBOX, "true", name=f"{name}-job")
    engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-kernel", init=True,  # a notebook kernel's container
                          labels={KERNEL_LABEL: "0123456789abcdef", SPEC_LABEL: "python-busybox"})
    path = lab_server.notebook("dashboard.ipynb", [
        "%load_ext jupyter_containers",
        f"%container dashboard --filter label={TEST_LABEL}={RUN_ID}",
    ])
    open_notebook(page, lab_server, path)
    run_all_cells(page)
    output = page.locator(".jp-Cell").nth(1).locator(".jp-Cell-outputArea")
    row(page, f"{name}-web").wait_for(timeout=30_000)
    assert state_of(page, f"{name}-cache") == "paused" and state_of(page, f"{name}-job") == "created"
    link = row(page, f"{name}-web").locator("a")
    assert link.get_attribute("href") == f"http://127.0.0.1:{port}" and link.inner_text() == f"{port}→80"
    assert "[" + name + "]" in row(page, f"{name}-api-1").inner_text()  # its compose project
    badge = row(page, f"{name}-kernel").locator(".jcd-tag")
    assert badge.inner_text() == "kernel"
    assert badge.get_attribute("title") == "notebook kernel (kernelspec python-busybox, kernel 01234567)"
    assert not row(page, f"{name}-web").locator(".jcd-tag").count()

    worker = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-worker", init=True)
    row(page, f"{name}-worker").wait_for(timeout=10_000)  # appears by itself, from the engine's events
    wait_for(lambda: state_of(page, f"{name}-worker") == "running", timeout=10,
             message="the new row to follow the start event")  # the create event comes first
    wait_for(lambda: re.search(r"\d+\.\d %", row(page, f"{name}-worker").inner_text()), timeout=15,
             message="CPU % from the stats sampler")
    ARTIFACTS.mkdir(exist_ok=True)
    output.screenshot(path=str(ARTIFACTS / "dashboard-light.png"))

    row(page, f"{name}-worker").locator("input[type=checkbox]").check()
    page.locator("button.jupyter-button:visible", has_text=re.compile(r"^\s*Stop\s*$")).click()
    wait_for(lambda: engine.containers.get(worker.id).state == "exited", timeout=15, message="the engine to stop it")
    wait_for(lambda: state_of(page, f"{name}-worker") == "exited", timeout=10, message="the row to say exited")
    wait_for(lambda: f"stopped {name}-worker" in output.inner_text(), timeout=10,
             message="the status line to say so")  # written when the stop call returns, after the events
    assert engine.containers.get(cache.id).state == "paused"  # Stop touched only the selected one

    use_theme(page, "JupyterLab Dark")
    try:
        output.screenshot(path=str(ARTIFACTS / "dashboard-dark.png"))
        page.locator(".lm-TabBar-tab", has_text="Engine").click()
        output.locator(".js-plotly-plot").wait_for(timeout=30_000)  # the disk usage chart
        page.locator(".jcd-feed", has_text=f"{name}-worker").wait_for(timeout=10_000)
        page.set_viewport_size({"width": 1280, "height": 1100})  # the whole tab on screen
        page.wait_for_timeout(500)
        output.screenshot(path=str(ARTIFACTS / "dashboard-engine-dark.png"))
        assert "Traceback" not in output.inner_text()
    finally:  # the theme is a user setting, kept in the config dir the UI test modules share
        use_theme(page, "JupyterLab Light")
