"""The Containers sidebar in a real JupyterLab: it lists what the engine runs with
CPU and memory sparklines, Stop from a row's context menu stops the container, the
logs panel follows its output; screenshots of the sidebar in the light and dark themes."""

from __future__ import annotations

import re

import pytest

from conftest import BUSYBOX, free_port, wait_for
from jupyter_containers.kernels import KERNEL_LABEL, SPEC_LABEL
from lab import ARTIFACTS, browser, command, jp_asyncio_loop, lab_server, open_lab, page, use_theme  # noqa: F401

pytestmark = pytest.mark.usefixtures("busybox")

# sh as PID 1 ignores SIGTERM unless it traps it: the trap makes Stop quick and leaves a last line.
TICKER = ("trap 'echo stopped by the sidebar; exit 0' TERM; httpd -p 80; echo hello from {name}; "
          "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")


def open_sidebar(page, lab):  # noqa: F811
    open_lab(page, lab)
    command(page, "containers:open-sidebar")
    sidebar = page.locator("#jupyter-containers-sidebar")
    sidebar.wait_for(timeout=10_000)
    return sidebar


def row(page, container_id: str):  # noqa: F811
    return page.locator(f".jp-ContainersSidebar-container[data-id='{container_id}']")


def menu_item(page, label: str):  # noqa: F811
    return page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                        has_text=re.compile(f"^{re.escape(label)}$"))


def logs_text(page) -> str:  # noqa: F811
    return page.locator(".jp-ContainersLogs-output").inner_text()


def ticks(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^tick (\d+)$", text, re.M)]


def test_sidebar_lists_stops_and_follows_logs(engine, lab_server, page, name):  # noqa: F811
    port = free_port()
    web = engine.containers.run(BUSYBOX, ["sh", "-c", TICKER.format(name=name)], name=f"{name}-web",
                                ports=[f"127.0.0.1:{port}:80"])
    api = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-api-1",
                                labels={"com.docker.compose.project": name, "com.docker.compose.service": "api"})
    cache = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-cache")
    engine.containers.pause(cache.id)
    kernel = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-py",  # a notebook kernel's container
                                   labels={KERNEL_LABEL: "0123456789abcdef", SPEC_LABEL: "python-busybox"})

    sidebar = open_sidebar(page, lab_server)
    sidebar.locator(".jp-ContainersSidebar-filter").fill(name)  # only this test's containers, for the screenshots
    web_row = row(page, web.id)
    web_row.wait_for(timeout=20_000)
    assert web_row.get_attribute("data-state") == "running"
    assert f"{name}-web" in web_row.locator(".jp-ContainersSidebar-name").inner_text()
    assert BUSYBOX in web_row.inner_text()
    link = web_row.locator("a.jp-ContainersSidebar-port")
    assert link.get_attribute("href") == f"http://127.0.0.1:{port}"
    assert link.inner_text() == f"{port}→80/tcp"
    row(page, cache.id).and_(page.locator("[data-state='paused']")).wait_for(timeout=10_000)
    stack = sidebar.locator(f".jp-ContainersSidebar-stack[data-project='{name}']")
    assert re.search(r"1/1", stack.inner_text()) and "api" in stack.inner_text()
    assert row(page, api.id).is_visible()
    pill = row(page, kernel.id).locator(".jp-ContainersSidebar-line > .jp-ContainersSidebar-kernel")
    pill.wait_for(timeout=10_000)
    assert pill.inner_text() == "kernel" and pill.get_attribute("title") == "notebook kernel: python-busybox"
    assert not web_row.locator(".jp-ContainersSidebar-kernel").count()  # a plain container has none
    assert not page.locator(".jp-ContainersSidebar-container[data-id]:visible").filter(
        has_not_text=name).count(), "the filter shows only matching rows"

    # The logs panel, from the row's context menu: the earlier output, then new lines as they come.
    web_row.click(button="right")
    assert not menu_item(page, "Unpause").count()  # only what fits the state is offered
    menu_item(page, "Show Logs").click()
    page.locator(".jp-ContainersLogs-output").wait_for(timeout=10_000)
    wait_for(lambda: f"hello from {name}" in logs_text(page) and ticks(logs_text(page)), timeout=20,
             message="the logs panel to show the container's output")
    first = max(ticks(logs_text(page)))
    wait_for(lambda: max(ticks(logs_text(page))) >= first + 5, timeout=20, message="the logs panel to follow")
    assert page.locator(".jp-ContainersLogs-status[data-state='following']").is_visible()

    # CPU and memory sparklines, from the server's one sampler, reading the kernel's cgroup files.
    spark = web_row.locator(".jp-ContainersSidebar-spark")
    spark.wait_for(state="visible", timeout=15_000)
    wait_for(lambda: "from cgroups" in (spark.get_attribute("title") or ""), timeout=15,
             message="the sparkline's figures, from cgroups")
    assert re.fullmatch(r"CPU \d+\.\d% · memory [\d.]+ [kMGT]?B of [\d.]+ [kMGT]?B \(from cgroups\)",
                        spark.get_attribute("title")), spark.get_attribute("title")
    cpu = spark.locator("svg.jp-ContainersSidebar-cpu polyline")
    wait_for(lambda: len(cpu.get_attribute("points").split()) >= 3, timeout=15,
             message="three samples in the CPU sparkline (the sidebar asks every 2 s)")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sidebar-logs-light.png"))
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-light.png"))
    use_theme(page, "JupyterLab Dark")
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-dark.png"))
    page.screenshot(path=str(ARTIFACTS / "sidebar-logs-dark.png"))

    # Stop, from the row's context menu: the engine stops it, the row and the logs panel say so.
    web_row.click(button="right")
    menu_item(page, "Stop").click()
    wait_for(lambda: engine.containers.get(web.id).state == "exited", timeout=30, message="the container to stop")
    page.locator(f".jp-ContainersSidebar-container[data-id='{web.id}'][data-state='exited']").wait_for(timeout=15_000)
    page.locator(".jp-ContainersLogs-status[data-state='ended']").wait_for(timeout=15_000)
    assert "stopped by the sidebar" in logs_text(page)
    assert engine.containers.get(api.id).state == "running"  # Stop touched only the one container
