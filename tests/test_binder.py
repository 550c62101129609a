"""``binder/`` as repo2docker uses it: a fresh environment from ``binder/requirements.txt``
alone has the lab extension and the server extension enabled, and ``binder/start`` with no
engine anywhere serves the recorded tutorials and exports a ``DOCKER_HOST`` that works."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import short_tmp

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A new virtual environment with only what binder/requirements.txt installs (from the repository root)."""
    venv = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r",
                           str(BINDER / "requirements.txt")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def test_requirements_install_this_repository_not_a_name_from_pypi():
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == [".[lab]"]
    assert os.access(BINDER / "start", os.X_OK)


def test_extensions_enabled_in_a_fresh_environment(binder_env):
    env = {**os.environ, "PATH": f"{binder_env}:{os.environ['PATH']}"}
    labext = subprocess.run([str(binder_env / "jupyter"), "labextension", "list"], env=env,
                            capture_output=True, text=True)
    listing = labext.stdout + labext.stderr
    line = next((ln for ln in listing.splitlines() if "jupyter-containers-labextension" in ln), "")
    assert "enabled" in line and "OK" in line and "jupyterlab-containers" in line, listing
    server = subprocess.run([str(binder_env / "jupyter"), "server", "extension", "list"], env=env,
                            capture_output=True, text=True)
    listing = server.stdout + server.stderr
    assert any("jupyter_containers" in ln and "enabled" in ln for ln in listing.splitlines()), listing


PROBE = """
import os
from jupyter_containers import Engine
engine = Engine.connect()
print(os.environ["DOCKER_HOST"])
print(engine.replay)
print(engine.system.info()["Name"])
"""


def test_start_without_an_engine_serves_the_recordings(binder_env):
    """No engine is reachable: /run (and so /var/run) is an empty tmpfs in a mount namespace of its own,
    HOME and the private engine's state dir are empty directories."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to hide the engine's sockets")
    home, tmp = short_tmp(), short_tmp()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKER_")}
    env.update(HOME=str(home), TMPDIR=str(tmp), JUPYTER_CONTAINERS_STATE_DIR=str(home / "state"),
               PATH=f"{binder_env}:{env['PATH']}", XDG_RUNTIME_DIR=str(home))
    script = f'mount -t tmpfs none /run && exec {BINDER / "start"} python -c "$PROBE"'
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                               env={**env, "PROBE": PROBE}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # the replay server start left in the background
        except ProcessLookupError:
            pass
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    assert process.returncode == 0, err
    host, replay, name = out.strip().splitlines()[-3:]
    assert host.startswith(f"unix://{tmp}/") and host.endswith(".sock")
    assert replay == "replay"
    assert name.startswith("replay of a session recorded on ")
