"""Kernels in containers: a notebook executed by nbclient on a kernel that runs in a container
(hostname, the notebook's directory, a memory limit), interrupt, restart and shutdown through
jupyter_client, a kernel killed from outside, images that cannot run the kernel, an engine that
does not answer, and the kernelspec CLI. The kernel's Python is this machine's, mounted into a
busybox image read-only (``kernels_support``)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import time

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from conftest import BUSYBOX, TEST_LABEL, RUN_ID, wait_for
from jupyter_containers import cli
from jupyter_containers.kernels import KERNEL_LABEL, SPEC_LABEL, ContainerProvisioner, KernelStartError
from kernels_support import build_kernel_image, python_argv, write_kernelspec

MiB = 2**20


@pytest.fixture
def kernels_dir(tmp_path, monkeypatch):
    """Kernelspecs go to (and are found in) a data dir of this test's own."""
    data = tmp_path / "jupyter-data"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_PATH", str(data))
    return data / "kernels"


@pytest.fixture
def kernel_image(root_engine, busybox):
    return build_kernel_image(root_engine)


def kernel_containers(engine, kernel_id: str | None = None) -> list:
    label = f"{KERNEL_LABEL}={kernel_id}" if kernel_id else KERNEL_LABEL
    return engine.containers.list(all=True, filters={"label": [label, f"{TEST_LABEL}={RUN_ID}"]})


def execute(client, code: str, timeout: float = 30) -> dict:
    """Run ``code``; its stdout and the reply's content."""
    msg_id = client.execute(code)
    out = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=timeout)
    return {"stdout": "".join(out), **reply["content"]}


def test_a_notebook_runs_in_the_container(engine, kernel_image, kernels_dir, tmp_path, name):
    """nbclient executes a notebook on the container kernel: the code runs in the container
    (its hostname), sees the notebook's directory at the same path, and has the memory limit."""
    write_kernelspec(name, memory="256m")
    work = tmp_path / "work"
    work.mkdir()
    (work / "data.txt").write_text("written on the host\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os, socket; print(socket.gethostname()); print(os.getcwd())"),
        nbformat.v4.new_code_cell("print(open('data.txt').read().strip())\nopen('made.txt', 'w').write('in the kernel')"),
        nbformat.v4.new_code_cell(
            "from pathlib import Path\n"
            "v1, v2 = Path('/sys/fs/cgroup/memory/memory.limit_in_bytes'), Path('/sys/fs/cgroup/memory.max')\n"
            "print((v1 if v1.exists() else v2).read_text().strip())"),
    ])
    seen = {}
    client = NotebookClient(nb, kernel_name=name, timeout=60, resources={"metadata": {"path": str(work)}})
    client.on_notebook_start = lambda **_: seen.update(
        kernel_id=client.km.kernel_id, containers=[c.id for c in kernel_containers(engine, client.km.kernel_id)])
    client.execute()
    outputs = ["".join(o.get("text", "") for o in cell.outputs).strip() for cell in nb.cells]
    assert len(seen["containers"]) == 1
    hostname, cwd = outputs[0].splitlines()
    assert hostname == seen["containers"][0][:12] and cwd == str(work.resolve())
    assert outputs[1] == "written on the host"
    assert (work / "made.txt").read_text() == "in the kernel"
    assert outputs[2] == str(256 * MiB)
    wait_for(lambda: not kernel_containers(engine, seen["kernel_id"]), timeout=10,
             message="the kernel's container removed at shutdown")


def test_interrupt_restart_shutdown(ip, engine, kernel_image, kernels_dir, tmp_path, name):
    write_kernelspec(name)
    km = KernelManager(kernel_name=name)
    km.start_kernel(cwd=str(tmp_path), env={"JPY_SESSION_NAME": str(tmp_path / "analysis.ipynb")})
    try:
        first = km.provisioner.container_id
        listed = ip.run_cell("%container kernels").result.set_index("kernel_id").loc[km.kernel_id]
        assert listed["kernelspec"] == name and listed["notebook"] == str(tmp_path / "analysis.ipynb")
        assert listed["container"] == f"jupyter-kernel-{km.kernel_id[:12]}" and listed["state"] == "running"
        assert listed["image"] == kernel_image and listed["mem_usage"] > 0
        container = engine.containers.inspect(first)
        assert container["Config"]["Labels"][KERNEL_LABEL] == km.kernel_id
        assert container["Config"]["Labels"][SPEC_LABEL] == name
        ports = container["HostConfig"]["PortBindings"]
        assert len(ports) == 5 and all(b[0]["HostIp"] == "127.0.0.1" for b in ports.values())
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        assert execute(client, "print(6 * 7)")["stdout"] == "42\n"

        # interrupt: a SIGINT through the container's init ends the sleep
        msg_id = client.execute("import time; time.sleep(100)")
        wait_for(lambda: _busy(client, msg_id), timeout=10, message="the cell to start")
        started = time.monotonic()
        km.interrupt_kernel()
        reply = client.get_shell_msg(timeout=15)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 10
        client.stop_channels()

        # restart: a new container; the old one removed
        km.restart_kernel(now=True)
        second = km.provisioner.container_id
        assert second and second != first
        assert not engine.containers.exists(first)
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        assert execute(client, "import socket; print(socket.gethostname())")["stdout"].strip() == second[:12]

        # killed from outside: the kernel is dead, and a restart brings it back
        engine.containers.kill(second)
        wait_for(lambda: not km.is_alive(), timeout=10, message="the kernel seen dead")
        km.restart_kernel(now=True)
        third = km.provisioner.container_id
        assert third not in (first, second) and not engine.containers.exists(second)
        client.stop_channels()
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        assert execute(client, "print('back')")["stdout"] == "back\n"
        client.stop_channels()
    finally:
        started = time.monotonic()
        km.shutdown_kernel(now=False)
    assert time.monotonic() - started < 10
    assert not kernel_containers(engine, km.kernel_id)


def test_a_restarted_server_finds_its_kernel(engine, kernel_image, kernels_dir, name):
    """The provisioner info keeps the container: a new provisioner loaded from it (a server that
    restarted) sees the kernel running, stops it and removes its container."""
    write_kernelspec(name)
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    container = km.provisioner.container_id
    saved = json.loads(json.dumps(asyncio.run(km.provisioner.get_provisioner_info()), default=_bytes))
    assert saved["container_id"] == container and saved["kernel_id"] == km.kernel_id

    async def later():
        again = ContainerProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
        await again.load_provisioner_info(saved)
        assert again.has_process and await again.poll() is None
        await again.terminate()
        code = await asyncio.wait_for(again.wait(), 10)
        await again.cleanup()
        return code

    assert asyncio.run(later()) is not None
    assert not engine.containers.exists(container)
    km.cleanup_resources()


def _bytes(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _busy(client, msg_id: str) -> bool:
    try:
        msg = client.get_iopub_msg(timeout=0.2)
    except queue.Empty:
        return False
    return (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "busy")


@pytest.mark.parametrize("image, argv, expected", [
    (BUSYBOX, ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
     r"the kernel's command ended at once in image jupyter-containers/busybox:test \(exit 127\): "
     r".*exec python3 failed: No such file or directory; command: python3 -m ipykernel_launcher -f "),
    (None, python_argv("no_such_kernel_module"),
     r"the kernel's command ended at once in image jupyter-containers/kernel-base:test \(exit 1\): "
     r".*No module named no_such_kernel_module; command: .* -m no_such_kernel_module -f "),
])
def test_an_image_that_cannot_run_the_kernel_says_why_at_once(engine, kernel_image, kernels_dir, name,
                                                               image, argv, expected):
    write_kernelspec(name, image=image or kernel_image, argv=argv)
    km = KernelManager(kernel_name=name)
    started = time.monotonic()
    with pytest.raises(KernelStartError, match=expected) as error:
        km.start_kernel()
    assert "\n" not in str(error.value) and time.monotonic() - started < 15
    assert not kernel_containers(engine, km.kernel_id)


def test_an_engine_that_does_not_answer(kernels_dir, name, capsys):
    write_kernelspec(name, engine="unix:///nonexistent/docker.sock")
    assert cli.main(["kernel", "ls"]) == 0
    assert name in capsys.readouterr().out  # listing needs no engine
    km = KernelManager(kernel_name=name)
    with pytest.raises(KernelStartError, match=r"the kernel's container engine does not answer: .*nonexistent"):
        km.start_kernel()


def test_a_kernelspec_is_no_way_around_the_policy(engine, kernels_dir, monkeypatch, name):
    """In a hub deployment (ContainersPolicy profile "hub") a kernelspec that mounts /etc is refused
    as ``%container run -v /etc:/e`` is: one line naming the rule, nothing created."""
    monkeypatch.setenv("JUPYTER_CONTAINERS_POLICY", "hub")
    write_kernelspec(name, image=BUSYBOX, mounts=["/etc:/host-etc:ro"])
    km = KernelManager(kernel_name=name)
    with pytest.raises(KernelStartError, match=r"a bind mount of /etc is not allowed here; .*allowed_bind_paths"):
        km.start_kernel()
    assert not kernel_containers(engine, km.kernel_id)


def test_kernelspec_cli(kernels_dir, name, capsys):
    assert cli.main(["kernel", "create", name, "--image", "python:3.12-slim", "--mount", "./data:/data:ro",
                     "--memory", "1g", "--cpus", "1.5", "--env", "A=1", "--display-name", "Py in a box"]) == 0
    spec = json.loads((kernels_dir / name / "kernel.json").read_text())
    config = spec["metadata"]["kernel_provisioner"]["config"]
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "jupyter-containers"
    assert spec["argv"] == ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == "Py in a box" and spec["interrupt_mode"] == "signal"
    assert config["image"] == "python:3.12-slim" and config["memory"] == "1g" and config["cpus"] == 1.5
    assert config["mounts"] == [f"{os.path.abspath('data')}:/data:ro"] and config["environment"] == {"A": "1"}
    assert config["workdir_mount"] is True
    capsys.readouterr()
    assert cli.main(["kernel", "ls"]) == 0
    assert name in capsys.readouterr().out
    (kernels_dir / "plain").mkdir(parents=True)
    (kernels_dir / "plain" / "kernel.json").write_text(json.dumps({"argv": ["x", "{connection_file}"],
                                                                    "display_name": "plain", "language": "x"}))
    for argv, message in [
        (["kernel", "create", "Bad Name", "--image", "x"], "kernel name 'Bad Name'"),
        (["kernel", "create", name, "--image", "UPPER:case"], "invalid image reference 'UPPER:case'"),
        (["kernel", "create", name, "--image", "x", "--mount", "/a"], "--mount '/a': use SRC:DST"),
        (["kernel", "create", name, "--image", "x", "--mount", "/a:rel"], "must be absolute"),
        (["kernel", "create", name, "--image", "x", "--memory", "lots"], "--memory"),
        (["kernel", "create", name, "--image", "x", "--env", "NOVALUE"], "--env 'NOVALUE': use KEY=VALUE"),
        (["kernel", "create", name, "--image", "x", "--argv", "python", "-m", "ipykernel"], "{connection_file}"),
        (["kernel", "create", "plain", "--image", "x"], "not a container kernel: choose another name"),
        (["kernel", "rm", "plain"], "is not a container kernel"),
        (["kernel", "rm", "jc-test-missing"], "no container kernel named 'jc-test-missing'"),
    ]:
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    assert (kernels_dir / "plain").exists()  # never removed: not ours
    assert cli.main(["kernel", "rm", name]) == 0 and not (kernels_dir / name).exists()


async def test_a_jupyter_server_runs_a_container_kernel(jp_fetch, jp_serverapp, root_engine, engine, kernel_image,
                                                         name):
    """A jupyter_server lists the kernelspec, and a kernel started through its REST API runs
    in a container, answers, and goes with its container when deleted."""
    write_kernelspec(name, engine=root_engine.url)  # into the server's data dir (pytest-jupyter's)
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert specs[name]["spec"]["metadata"]["kernel_provisioner"]["provisioner_name"] == "jupyter-containers"
    started = json.loads((await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": name}))).body)
    km = jp_serverapp.kernel_manager.get_kernel(started["id"])
    container = km.provisioner.container_id
    assert engine.containers.inspect(container)["Config"]["Labels"][KERNEL_LABEL] == started["id"]
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        seen = []
        reply = await client.execute_interactive("import socket; print(socket.gethostname())", timeout=30,
                                                 output_hook=seen.append)
        assert reply["content"]["status"] == "ok"
        assert "".join(m["content"].get("text", "") for m in seen if m["msg_type"] == "stream").strip() == container[:12]
    finally:
        client.stop_channels()
    await jp_fetch("api", "kernels", started["id"], method="DELETE")
    assert not engine.containers.exists(container)
