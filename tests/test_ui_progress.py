"""What a notebook user sees: %container pull's per-layer progress bars, in JupyterLab."""

from __future__ import annotations

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL
from lab import ARTIFACTS, browser, jp_asyncio_loop, lab_server, open_notebook, page, run_all_cells  # noqa: F401

pytestmark = pytest.mark.usefixtures("busybox")


def test_pull_shows_a_bar_per_layer_and_a_total(engine, registry, lab_server, page, name):  # noqa: F811
    ref = f"{registry}/jc-test/{name}:1"
    built = engine.images.build(dockerfile=f"FROM {BUSYBOX}\nRUN head -c 3000000 /dev/urandom > /blob\n", tag=ref)
    engine.images.push(ref)
    engine.images.remove(ref)
    path = lab_server.notebook("progress.ipynb", [
        "%load_ext jupyter_containers",
        f"%config ContainerMagics.labels = {{'{TEST_LABEL}': '{RUN_ID}'}}",
        f"%container pull {ref}",
    ])
    try:
        open_notebook(page, lab_server, path)
        run_all_cells(page)
        output = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea")
        output.locator(".widget-hprogress").first.wait_for(timeout=30_000)
        bars = output.locator(".widget-hprogress")
        layers = len(built.raw["RootFS"]["Layers"])
        assert bars.count() == 1 + layers  # the total, and one per layer
        assert f"pulled {ref}" in output.inner_text()
        assert "size\t5.0 MB" in output.inner_text()  # the Image handle's HTML repr
        ARTIFACTS.mkdir(exist_ok=True)
        output.screenshot(path=str(ARTIFACTS / "pull-progress.png"))
        assert engine.images.get(ref).id == built.id
    finally:
        engine.images.remove(ref, force=True)
