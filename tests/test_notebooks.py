"""The tutorial notebooks, executed end to end by nbclient in a real ipykernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def outputs(nb, index: int) -> str:
    """All text a cell showed (streams and text/plain or text/html results)."""
    parts = []
    for out in nb.cells[index].get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.append(data.get("text/plain", "") + data.get("text/html", ""))
    return "".join(parts)


@pytest.fixture
def run_notebook(tmp_path):
    def run(path: Path):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, tmp_path / path.name)
        return nb
    return run


@pytest.mark.usefixtures("busybox")
def test_containers_tutorial(run_notebook, engine):
    nb = run_notebook(Path(__file__).parent.parent / "notebooks" / "01-containers.ipynb")
    texts = [outputs(nb, i) for i in range(len(nb.cells))]
    everything = "\n".join(texts)
    assert "Traceback" not in everything and "Error" not in everything
    assert any("tutorial-web" in t and "http://127.0.0.1:" in t for t in texts), "the run handle with a link"
    assert any("'localhost'" in t or "'" in t for t in texts)
    assert any("[exit code 3]" in t and "about to fail" in t for t in texts)
    assert any(t.split() == ["step", "1", "step", "2", "step", "3"] for t in texts)
    assert not engine.containers.exists("tutorial-web")


def test_every_notebook_is_stripped():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code"), path
