"""Kernels in containers in a real JupyterLab: a container kernelspec written before the
server starts is listed by the server (with this project's provisioner) and shown by the
launcher under Notebook and Console; a screenshot of the launcher."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from jupyter_containers.kernels import NAME
from jupyter_containers.kernels.kernelspecs import ContainerKernel, create
from lab import (ARTIFACTS, browser, command, jp_asyncio_loop, jp_server_cleanup,  # noqa: F401
                 open_lab, page, start_lab)

IMAGE = "python:3.12-slim"  # only listed here: no kernel starts, nothing is pulled
DISPLAY = f"Python (container {IMAGE})"


@pytest.fixture(scope="module")
def kernel_name():
    return f"jc-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def kernels_lab(tmp_path_factory, kernel_name):
    """``jupyter lab`` whose kernelspec path holds a container kernelspec, written before it starts."""
    prefix = tmp_path_factory.mktemp("prefix")
    directory = create(ContainerKernel(kernel_name, IMAGE, display_name=DISPLAY), prefix=str(prefix))
    assert os.path.isfile(os.path.join(directory, "kernel.json"))
    path = os.pathsep.join(p for p in (str(prefix / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")) if p)
    yield from start_lab(tmp_path_factory.mktemp("lab"), env={"JUPYTER_PATH": path})


def test_server_lists_the_container_kernelspec(kernels_lab, kernel_name):
    answer = requests.get(f"{kernels_lab.url}/api/kernelspecs", params={"token": kernels_lab.token}, timeout=10)
    answer.raise_for_status()
    specs = answer.json()["kernelspecs"]
    assert kernel_name in specs, f"the server lists only {sorted(specs)}"
    spec = specs[kernel_name]["spec"]
    assert spec["display_name"] == DISPLAY and spec["language"] == "python"
    provisioner = spec["metadata"]["kernel_provisioner"]
    assert provisioner["provisioner_name"] == NAME == "jupyter-containers"
    assert provisioner["config"]["image"] == IMAGE
    assert "python3" in specs  # the ordinary kernel is still there


def test_launcher_shows_the_container_kernel(kernels_lab, page):  # noqa: F811
    open_lab(page, kernels_lab)
    command(page, "launcher:create")
    launcher = page.locator(".jp-Launcher:visible").last
    launcher.wait_for(timeout=20_000)
    for section in ("Notebook", "Console"):
        cards = launcher.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle",
                                                                        has_text=section))
        card = cards.locator(".jp-LauncherCard", has=page.locator(".jp-LauncherCard-label", has_text=DISPLAY))
        card.wait_for(timeout=20_000)
        assert card.is_visible(), f"the container kernel's card under {section}"
        assert cards.locator(".jp-LauncherCard", has_text="Python 3").count() == 1  # next to the local kernel
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "launcher-container-kernel.png"))
