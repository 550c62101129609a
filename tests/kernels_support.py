"""Container kernels for tests: an image with no Python of its own and this machine's Python
mounted into it read-only (no public registry), and kernelspecs that use it.

The image is the busybox test image plus ``/tmp`` and the ``/lib`` links the C library needs;
the kernel's command is this venv's Python, and ``runtime_mounts()`` are its prefix, the
venv and ``/usr`` (the shared libraries) at the same paths, read-only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import BUSYBOX, RUN_ID, TEST_LABEL
from jupyter_containers.kernels.kernelspecs import ContainerKernel, create

KERNEL_IMAGE = "jupyter-containers/kernel-base:test"
KERNEL_DOCKERFILE = (f"FROM {BUSYBOX}\n"
                     'RUN ["/bin/sh", "-c", "mkdir -p /tmp && chmod 1777 /tmp && ln -s usr/lib /lib && '
                     'ln -s usr/lib64 /lib64"]\n')


def build_kernel_image(engine) -> str:
    if not engine.images.exists(KERNEL_IMAGE):
        engine.images.build(None, tag=KERNEL_IMAGE, dockerfile=KERNEL_DOCKERFILE)
    return KERNEL_IMAGE


def runtime_mounts() -> list[str]:
    """This Python (its prefix and venv) and /usr, read-only at the same paths; none inside another."""
    paths = sorted({"/usr", os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                    os.path.dirname(os.path.realpath(sys.executable))})
    kept = [p for p in paths if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in paths)]
    return [f"{p}:{p}:ro" for p in kept]


def python_argv(module: str = "ipykernel_launcher") -> list[str]:
    return [sys.executable, "-m", module, "-f", "{connection_file}"]


def write_kernelspec(name: str, *, image: str = KERNEL_IMAGE, argv: list[str] | None = None,
                     prefix: str | None = None, **options) -> Path:
    """A container kernelspec ``name`` (in ``prefix``/share/jupyter/kernels, or the user's data dir,
    which tests point at a temporary one), labelled for the test run's cleanup."""
    options.setdefault("mounts", runtime_mounts())
    options.setdefault("env", {"HOME": "/tmp"})
    kernel = ContainerKernel(name, image, argv=argv or python_argv(), language="python", **options)
    directory = Path(create(kernel, prefix=prefix))
    spec = json.loads((directory / "kernel.json").read_text())
    spec["metadata"]["kernel_provisioner"]["config"]["labels"] = {TEST_LABEL: RUN_ID}
    (directory / "kernel.json").write_text(json.dumps(spec, indent=1))
    return directory
