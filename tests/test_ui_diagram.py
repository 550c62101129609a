"""``%container diagram`` in a real JupyterLab: the cell's output is drawn by JupyterLab's own
mermaid renderer (an SVG picture in ``.jp-RenderedMermaid``), naming what the test made; a
screenshot lands in artifacts/diagram.png."""

from __future__ import annotations

import urllib.parse

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL
from lab import (ARTIFACTS, browser, jp_asyncio_loop, jp_server_cleanup, lab_server,  # noqa: F401
                 open_notebook, page, run_all_cells, use_theme)
from test_diagram import STACK

pytestmark = pytest.mark.usefixtures("busybox")


def test_the_diagram_is_drawn_in_jupyterlab(engine, ip, lab_server, page, name):  # noqa: F811
    engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-web", init=True)
    cache = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-cache", init=True)
    engine.containers.pause(cache.id)
    project = f"{name}-shop"
    ip.run_cell_magic("compose", f"up -p {project}", STACK)
    try:
        path = lab_server.notebook("diagram.ipynb", [
            "%load_ext jupyter_containers",
            f"%container diagram --filter label={TEST_LABEL}={RUN_ID}",
        ])
        open_notebook(page, lab_server, path)
        run_all_cells(page)
        output = page.locator(".jp-Cell").nth(1).locator(".jp-Cell-outputArea")
        picture = output.locator(".jp-RenderedMermaid img")
        picture.wait_for(timeout=60_000)
        assert not output.locator(".jp-RenderedMermaid.jp-mod-warning").count(), output.inner_text()  # no parse error
        src = picture.get_attribute("src")
        assert src.startswith("data:image/svg+xml,")
        svg = urllib.parse.unquote(src.partition(",")[2])
        assert "<svg" in svg  # JupyterLab draws the SVG and shows it as a picture
        for text in (f"{name}-web", f"{name}-cache", f"stack {project}", f"{project}-db-1", f"{project}_data",
                     BUSYBOX, "instantiates"):
            assert text in svg, text
        assert "Traceback" not in output.inner_text()
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.wait_for_timeout(300)
        ARTIFACTS.mkdir(exist_ok=True)
        output.screenshot(path=str(ARTIFACTS / "diagram.png"))

        use_theme(page, "JupyterLab Dark")
        try:  # drawn again in the dark theme: the states' colours keep their text readable
            before = src
            run_all_cells(page)
            page.wait_for_function("(before) => { const img = document.querySelectorAll('.jp-Cell')[1]"
                                   ".querySelector('.jp-RenderedMermaid img'); return img && img.src !== before; }",
                                   arg=before, timeout=60_000)
            page.wait_for_timeout(300)
            output.screenshot(path=str(ARTIFACTS / "diagram-dark.png"))
        finally:  # the theme is a user setting, kept in the config dir the UI test modules share
            use_theme(page, "JupyterLab Light")
    finally:
        ip.run_line_magic("compose", f"down -p {project} -v")
