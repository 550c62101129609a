"""The Binder experience in a real JupyterLab and Chromium: no engine, the server and its kernels
pointed at the replay of ``binder/recordings`` (as ``binder/start`` does). The last tutorial runs
in the browser: JupyterLab draws its diagrams as SVG, the dashboard and the sidebar say
"recorded session", and no cell fails. Screenshots: artifacts/binder-*.png."""

from __future__ import annotations

import urllib.parse

import nbformat
import pytest

from lab import (ARTIFACTS, browser, command, jp_asyncio_loop, open_notebook, page,  # noqa: F401
                 run_all_cells, start_lab)
from tutorials import NOTEBOOKS, replay_server

pytestmark = pytest.mark.slow
TUTORIAL = next(path for path in NOTEBOOKS if path.stem.startswith("05-"))


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("binder-lab")
    nb = nbformat.read(TUTORIAL, as_version=4)
    cleanup = next(i for i, cell in enumerate(nb.cells) if cell.source.startswith("## Clean up"))
    nb.cells = nb.cells[:cleanup]  # the dashboard stays open to be looked at
    nbformat.write(nb, root / TUTORIAL.name)
    with replay_server() as docker_host:
        yield from start_lab(root, {"DOCKER_HOST": docker_host, "DOCKER_CONTEXT": ""})


def test_the_dashboard_tutorial_on_the_replay_in_jupyterlab(binder_lab, page):  # noqa: F811
    page.set_viewport_size({"width": 1400, "height": 1000})
    open_notebook(page, binder_lab, TUTORIAL.name)
    run_all_cells(page)

    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
                          " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.all_inner_texts()

    pictures = page.locator(".jp-RenderedMermaid img")
    pictures.first.wait_for(timeout=60_000)
    assert pictures.count() == 3  # every %container diagram cell drawn (the .mermaid one prints text)
    assert not page.locator(".jp-RenderedMermaid.jp-mod-warning").count()  # no mermaid parse error
    svg = urllib.parse.unquote(pictures.first.get_attribute("src").partition(",")[2])
    for text in ("tutorial-worker", "tutorial-server", "stack tutorial-diagram", "tutorial-diagram_cache",
                 "jupyter-containers/busybox:tutorial"):
        assert text in svg, text

    dashboard = page.locator(".jcd-header")
    dashboard.wait_for(timeout=30_000)
    assert "recorded session" in dashboard.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    pictures.first.scroll_into_view_if_needed()
    page.locator(".jp-Cell", has=page.locator(".jp-RenderedMermaid")).first.screenshot(path=str(ARTIFACTS / "binder-diagram.png"))
    page.locator(".jp-Cell", has=dashboard).first.screenshot(path=str(ARTIFACTS / "binder-dashboard.png"))

    command(page, "containers:open-sidebar")
    status = page.locator("#jupyter-containers-sidebar .jp-ContainersSidebar-status-line")
    status.wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('#jupyter-containers-sidebar')"
                           ".textContent.includes('recorded session')", timeout=30_000)
    assert "not in the recorded session" not in page.locator("#jupyter-containers-sidebar").inner_text()
    page.screenshot(path=str(ARTIFACTS / "binder-lab.png"))
