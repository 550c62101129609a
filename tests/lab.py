"""A real JupyterLab and a headless Chromium (Debian's) for UI tests.

Import the fixtures into a test module: ``from lab import lab_server, page``.
Screenshots go to ``artifacts/`` at the top of the repo.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from conftest import free_port, wait_for

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Lab:
    def __init__(self, root: Path, port: int, token: str):
        self.root, self.port, self.token = root, port, token
        self.url = f"http://127.0.0.1:{port}"

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the lab's root; its path there."""
        nb = {"nbformat": 4, "nbformat_minor": 5,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "cells": [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [],
                         "execution_count": None, "id": uuid.uuid4().hex[:8]} for src in cells]}
        (self.root / name).write_text(json.dumps(nb))
        return name

    def open_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


def start_lab(root: Path, env: dict[str, str] | None = None, args: list[str] = ()):
    """``jupyter lab`` on 127.0.0.1 serving ``root``, with a token, ``env`` added to its environment
    (its kernels inherit it) and ``args`` to its command line; yields a ``Lab``, stops it afterwards."""
    port, token = free_port(), uuid.uuid4().hex
    config = root.parent / f"lab-config-{port}"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    log = open(root.parent / f"lab-{port}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.expose_app_in_browser=True", *args],
        stdout=log, stderr=subprocess.STDOUT, cwd=root,
        env={**os.environ, **(env or {}), "JUPYTER_CONFIG_DIR": str(config)})
    lab = Lab(root, port, token)

    def answers():
        assert process.poll() is None, (root.parent / f"lab-{port}.log").read_text()[-2000:]
        try:
            return requests.get(f"{lab.url}/api/status?token={token}", timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=60, message="jupyter lab to answer")
    yield lab
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """``jupyter lab`` on 127.0.0.1, its root a temp dir, with a token."""
    yield from start_lab(tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; a screenshot of it lands in artifacts/ when the test ends."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"))
    context.close()


def command(page, name: str, args: dict | None = None):
    """Run a JupyterLab command (the app is exposed as ``window.jupyterapp``)."""
    return page.evaluate("([name, args]) => window.jupyterapp.commands.execute(name, args)", [name, args or {}])


THEME_FAILED = ("[...document.querySelectorAll('.jp-Dialog')]"
                ".some(d => d.textContent.includes('Error Loading Theme'))")


EXTENSION_LOADED = "window.jupyterapp.commands.hasCommand('containers:open-sidebar')"


def open_lab(page, lab: Lab, path: str | None = None, ready: str = EXTENSION_LOADED, tries: int = 3) -> None:
    """Open JupyterLab (at ``path``, with a fresh layout) and wait until it is restored, its theme
    applied and the JS expression ``ready`` (default: our extension is loaded) holds. On a loaded machine the theme's stylesheet request
    can fail: JupyterLab then puts an "Error Loading Theme" dialog over everything; load it again."""
    url = lab.open_url(path) if path else f"{lab.url}/lab?token={lab.token}&reset"
    for _ in range(tries):
        page.goto(url)
        page.wait_for_function(f"() => {THEME_FAILED} || (window.jupyterapp && !!document.body.dataset.jpThemeName"
                               f" && ({ready}))", timeout=60_000)
        if not page.evaluate(f"() => {THEME_FAILED}"):
            page.evaluate("() => window.jupyterapp.restored.then(() => true)")
            return
    raise AssertionError(f"JupyterLab could not load its theme in {tries} tries")


def open_notebook(page, lab: Lab, path: str) -> None:
    """Open the notebook at ``path`` and wait until its kernel is idle."""
    open_lab(page, lab, path, ready="window.jupyterapp.shell.currentWidget"
             " && window.jupyterapp.shell.currentWidget.sessionContext"
             " && window.jupyterapp.shell.currentWidget.sessionContext.session"
             " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
             " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'")


def run_all_cells(page) -> None:
    command(page, "notebook:run-all-cells")
    page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return [...w.content.widgets].every(c => c.model.type !== 'code'"
                           " || (c.model.executionCount !== null && !c.node.querySelector('.jp-InputArea-prompt')"
                           ".textContent.includes('*'))); }", timeout=120_000)


@pytest.fixture
def jp_asyncio_loop():
    """Playwright's sync API owns the event loop in UI tests; pytest-jupyter's
    autouse per-test loop (made for its server tests) is made current and then closed
    under it; here the plugin gets a loop of its own that nothing else runs."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def jp_server_cleanup():
    """pytest-jupyter's per-test server clean-up, for a server these UI tests never start (they run
    ``jupyter lab`` themselves): nothing to clean, and no loop of Playwright's to close."""
    yield


def use_theme(page, theme: str = "JupyterLab Dark", tries: int = 3) -> None:
    """Switch JupyterLab's theme and wait until it applies. On a loaded machine the new
    stylesheet's request can fail (JupyterLab then shows an error dialog): dismiss it and retry."""
    light = "true" if "Light" in theme else "false"
    page.wait_for_function("() => !!document.body.dataset.jpThemeName", timeout=20_000)
    for attempt in range(tries):
        command(page, "apputils:change-theme", {"theme": theme})
        page.wait_for_function(
            f"() => (document.body.dataset.jpThemeName === {theme!r} && document.body.dataset.jpThemeLight"
            f" === '{light}') || !!document.querySelector('.jp-Dialog')", timeout=30_000)
        dialog = page.locator(".jp-Dialog")
        if not dialog.count():
            page.wait_for_timeout(300)  # the stylesheet paints after it applies (not a sync point)
            return
        dialog.locator("button").last.click()
        dialog.wait_for(state="detached", timeout=10_000)
    raise AssertionError(f"JupyterLab could not load the {theme} theme in {tries} tries")
