"""The lab extension's actions beyond the sidebar's rows, in a real JupyterLab:
Compose Up / Compose Down from a compose file's context menu in the file browser
(and the one-line notification of a bad file), a terminal that runs inside a
container, and the Containers commands in the command palette."""

from __future__ import annotations

import re

import pytest

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, wait_for
from lab import ARTIFACTS, browser, command, jp_asyncio_loop, lab_server, open_lab, page, start_lab  # noqa: F401
from test_ui_sidebar import menu_item, open_sidebar, row

pytestmark = pytest.mark.usefixtures("busybox")

# sh as PID 1 ignores SIGTERM unless it traps it: the trap makes Compose Down quick (no 10 s stop timeout).
COMPOSE = f"""
services:
  web:
    image: {BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
    labels: {{{TEST_LABEL}: "{RUN_ID}"}}
"""


def project_filter(project: str) -> dict:
    return {"label": [f"com.docker.compose.project={project}"]}


@pytest.fixture
def stack_dir(lab_server, root_engine, name):  # noqa: F811
    """A directory named after the test under the lab's root (so the project is ``name``);
    whatever the stack left on the engine is taken down afterwards."""
    from jupyter_containers.compose import Stack

    (lab_server.root / name).mkdir()
    yield lab_server.root / name
    Stack(root_engine, name=name).down()


def file_item(page, filename: str):  # noqa: F811
    return page.locator(".jp-DirListing-item[data-isdir='false']").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(filename)}$")))


def toast(page, pattern: str):  # noqa: F811
    return page.locator(".jp-toast-message", has_text=re.compile(pattern))


def pending_toasts(page):  # noqa: F811
    return page.locator(".Toastify__toast.jp-Notification-Toast-in-progress")


def test_compose_up_and_down_from_the_file_browser(engine, lab_server, page, name, stack_dir):  # noqa: F811
    (stack_dir / "compose.yaml").write_text(COMPOSE)
    open_lab(page, lab_server, name)
    item = file_item(page, "compose.yaml")
    item.wait_for(timeout=20_000)
    item.click(button="right")
    menu_item(page, "Compose Up").click()
    web = wait_for(lambda: [c for c in engine.containers.list(filters=project_filter(name)) if c.state == "running"],
                   timeout=30, message="the stack's container to run")
    assert [c.name for c in web] == [f"{name}-web-1"]
    assert engine.networks.list(filters=project_filter(name)), "compose up made the project's network"
    toast(page, rf"^Compose up: {name} \(1 services\)$").wait_for(timeout=15_000)

    sidebar = open_sidebar_here(page)  # it takes the file browser's place in the left area
    sidebar.locator(".jp-ContainersSidebar-filter").fill(name)
    stack = sidebar.locator(f".jp-ContainersSidebar-stack[data-project='{name}'][data-state='running']")
    stack.wait_for(timeout=15_000)
    assert "1/1" in stack.inner_text() and "web" in stack.inner_text()
    row(page, web[0].id).and_(page.locator("[data-state='running']")).wait_for(timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compose-up-file-browser.png"))

    command(page, "filebrowser:activate")
    item.click(button="right")
    menu_item(page, "Compose Down").click()
    expect_stack_removed(page, engine, name)
    pending_toasts(page).first.wait_for(state="detached", timeout=10_000)
    open_sidebar_here(page)
    sidebar.locator(f".jp-ContainersSidebar-stack[data-project='{name}']").wait_for(state="detached", timeout=15_000)


def expect_stack_removed(page, engine, name):  # noqa: F811
    """Compose down took the stack's containers and network off the engine, and said so."""
    wait_for(lambda: not engine.containers.list(all=True, filters=project_filter(name))
             and not engine.networks.list(filters=project_filter(name)),
             timeout=30, message="compose down to remove the stack's containers and network")
    toast(page, rf"^Compose down: {name} removed$").wait_for(timeout=15_000)


def test_compose_down_from_the_stack_row(engine, lab_server, page, name, stack_dir):  # noqa: F811
    from jupyter_containers.compose import Stack, load_project

    (stack_dir / "compose.yaml").write_text(COMPOSE)
    Stack(engine, load_project([stack_dir / "compose.yaml"])).up()
    sidebar = open_sidebar(page, lab_server)
    sidebar.locator(".jp-ContainersSidebar-filter").fill(name)
    stack = sidebar.locator(f".jp-ContainersSidebar-stack[data-project='{name}']")
    stack.wait_for(timeout=20_000)
    stack.click(button="right")
    menu_item(page, "Compose Down").click()
    expect_stack_removed(page, engine, name)
    stack.wait_for(state="detached", timeout=15_000)


def test_compose_up_of_a_bad_file_is_one_line(engine, lab_server, page, name, stack_dir):  # noqa: F811
    (stack_dir / "docker-compose.yml").write_text(COMPOSE + "    ports: ['127.0.0.1:99999:80']\n    bogus: 1\n")
    open_lab(page, lab_server, name)
    item = file_item(page, "docker-compose.yml")
    item.wait_for(timeout=20_000)
    item.click(button="right")
    menu_item(page, "Compose Up").click()
    error = page.locator(".Toastify__toast--error").locator(".jp-toast-message", has_text=re.compile("^Compose up: "))
    error.wait_for(timeout=15_000)
    message = error.inner_text()
    assert "\n" not in message and "Traceback" not in message, message
    # the file as the file browser names it, and the place in it
    assert message.startswith(f"Compose up: {name}/docker-compose.yml: services.web"), message
    assert not engine.containers.list(all=True, filters=project_filter(name))
    assert not engine.networks.list(filters=project_filter(name))
    # The pending "Compose up: PATH…" goes away (a quick answer once left its spinner up for good).
    pending_toasts(page).first.wait_for(state="detached", timeout=10_000)


def test_compose_menu_is_only_on_compose_files(lab_server, page, name, stack_dir):  # noqa: F811
    (stack_dir / "notes.yaml").write_text("services: {}\n")
    open_lab(page, lab_server, name)
    item = file_item(page, "notes.yaml")
    item.wait_for(timeout=20_000)
    item.click(button="right")
    page.locator(".lm-Menu").first.wait_for(timeout=5_000)
    assert menu_item(page, "Rename").is_visible(), "the file browser's own menu is open"
    assert not menu_item(page, "Compose Up").is_visible() and not menu_item(page, "Compose Down").is_visible()


def open_sidebar_here(page):  # noqa: F811
    command(page, "containers:open-sidebar")
    sidebar = page.locator("#jupyter-containers-sidebar")
    sidebar.wait_for(timeout=10_000)
    return sidebar


def terminal_text(page) -> str:  # noqa: F811
    """The text of the current terminal, from xterm's buffer (the renderer may draw on a canvas)."""
    return page.evaluate("""() => {
        const term = window.jupyterapp.shell.currentWidget.content._term;
        const buffer = term.buffer.active, lines = [];
        for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
        return lines.join('\\n');
    }""")


def test_terminal_runs_inside_the_container(engine, lab_server, page, name):  # noqa: F811
    box = engine.containers.run(BUSYBOX, "sleep 600", name=name)
    sidebar = open_sidebar(page, lab_server)
    sidebar.locator(".jp-ContainersSidebar-filter").fill(name)
    box_row = row(page, box.id)
    box_row.wait_for(timeout=20_000)
    assert page.evaluate("() => window.jupyterapp.commands.hasCommand('terminal:create-new')"), \
        "JupyterLab has no terminals here (is terminado installed?)"
    box_row.click(button="right")
    menu_item(page, "Open Terminal in Container").click()
    terminal = page.locator(".jp-Terminal")
    terminal.wait_for(timeout=20_000)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel",
                 has_text=re.compile(rf"^{name} \(sh\)$")).wait_for(timeout=10_000)  # the tab names the container
    # `docker exec -it` is typed into the terminal's shell: busybox's sh prompt shows when it is in.
    wait_for(lambda: re.search(r"^/ # ", terminal_text(page), re.M), timeout=20,
             message=f"busybox's prompt in the terminal; it shows:\n{terminal_text(page)}")
    terminal.click()
    page.keyboard.type("echo in-$(hostname)")
    page.keyboard.press("Enter")
    wait_for(lambda: re.search(rf"^in-{box.id[:12]}$", terminal_text(page), re.M), timeout=20,
             message=f"the container's hostname in the terminal; it shows:\n{terminal_text(page)}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "terminal-in-container.png"))
    page.evaluate("() => window.jupyterapp.serviceManager.terminals.shutdownAll()")


def test_terminal_follows_the_allowed_actions(engine, tmp_path_factory, page, name):  # noqa: F811
    """With "exec" not allowed, Open Terminal in Container says so and types nothing anywhere."""
    box = engine.containers.run(BUSYBOX, "sleep 600", name=name)
    policy = [f"--ContainersPolicy.allowed_actions={action}" for action in ("list", "inspect", "logs")]
    for lab in start_lab(tmp_path_factory.mktemp("no-exec"), args=policy):
        sidebar = open_sidebar(page, lab)
        sidebar.locator(".jp-ContainersSidebar-filter").fill(name)
        box_row = row(page, box.id)
        box_row.wait_for(timeout=20_000)
        box_row.click(button="right")
        menu_item(page, "Open Terminal in Container").click()
        page.locator(".jp-Notification-Toast-error, .Toastify__toast--error",
                     has_text="the 'exec' action is not allowed here").wait_for(timeout=20_000)
        assert page.locator(".jp-Terminal").count() == 0


def test_command_palette_lists_the_containers_commands(lab_server, page):  # noqa: F811
    open_lab(page, lab_server)
    command(page, "apputils:activate-command-palette")
    search = page.locator(".lm-CommandPalette-input")
    search.wait_for(timeout=10_000)
    search.fill("Containers")
    palette = page.locator("#command-palette")
    expected = ["Open Containers Sidebar", "Refresh Containers", "Stop Container…", "Show Container Logs…",
                "Open Terminal in Container…"]
    for label in expected:
        palette.locator(".lm-CommandPalette-item:not(.lm-mod-disabled) .lm-CommandPalette-itemLabel",
                        has_text=re.compile(f"^{re.escape(label)}$")).wait_for(timeout=10_000)
    assert "Containers" in palette.locator(".lm-CommandPalette-header").all_text_contents()
    assert not page.locator("#jupyter-containers-sidebar").is_visible()
    palette.locator(".lm-CommandPalette-itemLabel", has_text=re.compile("^Open Containers Sidebar$")).click()
    page.locator("#jupyter-containers-sidebar").wait_for(state="visible", timeout=10_000)
