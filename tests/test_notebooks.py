"""The tutorials, run both ways a user meets them.

1. On the real engine, through the recorder: every cell runs without an error, the
   outputs have the shape of the committed recording's, nothing is left on the engine,
   and the requests made are the ones ``binder/recordings`` holds (it is current).
2. On the replay of ``binder/recordings`` with no engine reachable from the kernel (its
   ``DOCKER_HOST`` is the replay's socket), as on Binder: every cell runs, and the
   outputs match the recorded run's (output kinds, DataFrame columns and row counts, names).
"""

from __future__ import annotations

import json
import socket

import nbformat
import pytest

from tutorials import NOTEBOOKS, RECORDINGS, errors, execute, replay_server, requests_made, signature, texts

pytestmark = pytest.mark.slow
IDS = [path.stem for path in NOTEBOOKS]
TUTORIAL_IMAGES = ["jupyter-containers/busybox:tutorial", "jupyter-containers/greeting:tutorial"]


def test_there_are_five_tutorials_each_recorded():
    assert IDS == ["01-getting-started", "02-resource-usage", "03-compose-stacks",
                   "04-images-and-registries", "05-dashboard-and-diagram"]
    for stem in IDS:
        assert (RECORDINGS / stem / "recording.json").is_file(), f"make recordings: {stem} has no recording"
        assert (RECORDINGS / stem / "outputs.json").is_file(), stem
    total = sum(f.stat().st_size for f in RECORDINGS.rglob("*") if f.is_file())
    assert total < 5e6, f"binder/recordings is {total / 1e6:.1f} MB; keep it under 5 MB"


def test_every_notebook_is_stripped():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells
                   if c.cell_type == "code"), f"{path.name}: commit it without outputs"


def recorded(stem: str) -> list[dict]:
    return json.loads((RECORDINGS / stem / "outputs.json").read_text())


def shape(cells: list[dict]) -> list[tuple]:
    """What must agree between a run on the real engine and the recorded one: output kinds and columns."""
    return [(c["cell"], c["outputs"], [f["columns"] for f in c["frames"]]) for c in cells]


def leftovers(engine) -> list[str]:
    """What a tutorial made and did not remove: containers, volumes, networks, its registry's port."""
    names = [c.name for c in engine.containers.list(all=True) if c.name.startswith("tutorial")]
    names += [v.name for v in engine.volumes.list() if v.name.startswith("tutorial")]
    names += [n.name for n in engine.networks.list() if n.name.startswith("tutorial")]
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5055)) == 0:
            names.append("a registry still listening on 127.0.0.1:5055")
    return names


@pytest.fixture(scope="module")
def tutorial_images(root_engine):
    yield
    for image in TUTORIAL_IMAGES:
        if root_engine.images.exists(image):
            root_engine.images.remove(image, force=True)


@pytest.mark.parametrize("stem", IDS)
@pytest.mark.usefixtures("tutorial_images")
def test_tutorial_on_the_real_engine(stem, engine, tmp_path):
    nb = execute(NOTEBOOKS[IDS.index(stem)], tmp_path / f"{stem}.ipynb", record=tmp_path / "recording")
    assert errors(nb) == []
    assert shape(signature(nb)) == shape(recorded(stem)), "outputs differ from the recorded run's"
    assert [c["names"] for c in signature(nb)] == [c["names"] for c in recorded(stem)]
    assert leftovers(engine) == []
    fresh, committed = requests_made(tmp_path / "recording"), requests_made(RECORDINGS / stem)
    assert fresh == committed, (f"binder/recordings/{stem} is stale (make recordings): "
                                f"new {sorted(fresh - committed)}, gone {sorted(committed - fresh)}")
    everything = "\n".join(texts(o) for c in nb.cells for o in c.get("outputs", []))
    for expected in CHECKS[stem]:
        assert expected in everything, f"{stem}: {expected!r} not in the outputs"


CHECKS = {  # what each tutorial must visibly do on a real engine
    "01-getting-started": ["found by", "tutorial-web", "http://127.0.0.1:", "(True, 0)", "[exit code 3]",
                           "step 3", "response:200"],
    "02-resource-usage": ["tutorial-busy", "tutorial-half", "tutorial-idle", "cpu_percent"],
    "03-compose-stacks": ["tutorial-shop-api-3", "orders: 3", "healthy", "GREETING: hello from",
                          "removed 5 container(s)"],
    "04-images-and-registries": ["hello from an image built in a notebook", "tutorial/greeting",
                                 "deleted 127.0.0.1:5055/tutorial/greeting:1.0", "pulled 127.0.0.1:5055"],
    "05-dashboard-and-diagram": ["flowchart", "tutorial-worker", "tutorial-diagram", "tutorial-server"],
}


@pytest.fixture(scope="module")
def replay():
    with replay_server() as docker_host:
        yield docker_host


@pytest.mark.parametrize("stem", IDS)
def test_tutorial_on_the_replay(stem, replay, tmp_path):
    env = {"DOCKER_HOST": replay, "DOCKER_CONTEXT": "", "DOCKER_CONFIG": str(tmp_path)}
    nb = execute(NOTEBOOKS[IDS.index(stem)], tmp_path / f"{stem}.ipynb", env=env)
    assert errors(nb) == []
    assert signature(nb) == recorded(stem)
    if stem == "01-getting-started":
        engine_cell = "\n".join(texts(o) for o in nb.cells[2].outputs)
        assert "recorded session: replay of a session recorded on" in engine_cell
