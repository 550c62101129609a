"""Interoperability with Debian's docker-compose (1.29) on the same engine, both ways."""

from __future__ import annotations


import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL
from differential import docker_compose as run_docker_compose
from jupyter_containers.compose import Stack, list_stacks, load_project
from jupyter_containers.compose.project import PROJECT

pytestmark = pytest.mark.usefixtures("busybox")

FILE = f"""
services:
  base:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
  top:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
    depends_on: [base]
"""


@pytest.fixture
def docker_compose(engine, tmp_path):
    (tmp_path / "compose.yaml").write_text(FILE)

    def run(*args: str) -> str:
        done = run_docker_compose(engine, tmp_path, *args, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    return run


def project_state(engine, name: str) -> tuple[list[str], list[str]]:
    containers = engine.containers.list(all=True, filters={"label": [f"{PROJECT}={name}"]})
    networks = engine.networks.list(filters={"name": [f"{name}_default"]})
    return sorted(c.name for c in containers), [n.name for n in networks]


def test_docker_compose_lists_and_stops_our_stack(engine, name, tmp_path, docker_compose):
    Stack(engine, load_project([tmp_path / "compose.yaml"], name=name)).up()
    assert project_state(engine, name) == ([f"{name}-base-1", f"{name}-top-1"], [f"{name}_default"])
    listed = docker_compose("-p", name, "ps")
    assert f"{name}-base-1" in listed and f"{name}-top-1" in listed and listed.count(" Up ") == 2
    out = docker_compose("-p", name, "down")
    assert f"Removing network {name}_default" in out
    assert project_state(engine, name) == ([], [])


def test_we_see_and_stop_a_docker_compose_stack(engine, name, docker_compose):
    try:
        docker_compose("-p", name, "up", "-d")
        stacks = list_stacks(engine).set_index("name")
        assert stacks.loc[name, "status"] == "running(2)"
        assert stacks.loc[name, "config_files"] == "compose.yaml"
        theirs = Stack(engine, name=name)
        frame = theirs.ps()
        assert list(frame["name"]) == [f"{name}_base_1", f"{name}_top_1"]
        assert list(frame["service"]) == ["base", "top"] and set(frame["state"]) == {"running"}
        assert theirs.exec("top", "echo inside").output == "inside\n"
        assert sorted(theirs.down()) == [f"{name}_base_1", f"{name}_top_1"]
        assert project_state(engine, name) == ([], [])
    finally:
        docker_compose("-p", name, "down")
