"""Kernelspecs whose kernels run in containers: write, list and remove them.

A container kernelspec is an ordinary ``kernel.json`` (in Jupyter's kernels
directory, so JupyterLab's launcher and ``jupyter kernelspec list`` show it)
whose ``metadata.kernel_provisioner`` names this project's provisioner and
carries its config: the image, mounts, limits, environment, network, user.
Writing, listing and removing need no engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from ..engine import specs
from ..engine.errors import InvalidArgument
from ..engine.spec_parse import parse_cpus, parse_size
from .provisioner import NAME

LOGO = os.path.join(os.path.dirname(__file__), "logo-svg.svg")
PYTHON_ARGV = ["{python}", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass
class ContainerKernel:
    """What ``kernel create`` takes: everything a container kernelspec says."""
    name: str
    image: str
    display_name: str | None = None
    python: str = "python3"
    argv: list[str] | None = None  # any command (other languages); must take {connection_file}
    language: str | None = None
    mounts: list[str] = field(default_factory=list)
    workdir_mount: bool = True
    cpus: float | None = None
    memory: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    network: str | None = None
    user: str | None = None
    engine: str | None = None

    def check(self) -> None:
        """``InvalidArgument`` (one line) for anything the kernel could not start with."""
        if not _NAME.match(self.name):
            raise InvalidArgument(f"kernel name {self.name!r}: use lower-case letters, digits, '.', '_' and '-'")
        specs.check_reference(self.image)
        if self.argv is not None and not any("{connection_file}" in arg for arg in self.argv):
            raise InvalidArgument("--argv must pass {connection_file} to the kernel, e.g. "
                                  "--argv python -m ipykernel_launcher -f {connection_file}")
        for mount in self.mounts:
            parts = mount.split(":")
            if len(parts) not in (2, 3) or not all(parts[:2]) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
                raise InvalidArgument(f"--mount {mount!r}: use SRC:DST or SRC:DST:ro")
            if not parts[1].startswith("/"):
                raise InvalidArgument(f"--mount {mount!r}: the path in the container must be absolute")
        if self.cpus is not None:
            parse_cpus(self.cpus)
        if self.memory is not None:
            parse_size(self.memory, "--memory")
        for key in self.env:
            if not key or "=" in key:
                raise InvalidArgument(f"--env {key!r}: use KEY=VALUE")

    def kernel_json(self) -> dict:
        argv = self.argv or [arg.replace("{python}", self.python) for arg in PYTHON_ARGV]
        config = {"image": self.image, "mounts": [_absolute(m) for m in self.mounts],
                  "workdir_mount": self.workdir_mount, "cpus": self.cpus, "memory": self.memory,
                  "environment": self.env, "network": self.network, "user": self.user, "engine": self.engine}
        return {"argv": argv, "display_name": self.display_name or f"{self.name} (container {self.image})",
                "language": self.language or ("python" if self.argv is None else self.name),
                "interrupt_mode": "signal", "env": {},
                "metadata": {"kernel_provisioner": {"provisioner_name": NAME,
                                                    "config": {k: v for k, v in config.items() if v is not None}}}}


def _absolute(mount: str) -> str:
    """A relative source (``./data:/data``) made absolute: the kernelspec is used from anywhere."""
    source, _, rest = mount.partition(":")
    return f"{os.path.abspath(os.path.expanduser(source))}:{rest}"


def create(kernel: ContainerKernel, *, user: bool = True, prefix: str | None = None) -> str:
    """Write ``kernel``'s kernelspec (replacing one of ours with the same name); its directory."""
    kernel.check()
    manager = KernelSpecManager()
    existing = _ours(manager).get(kernel.name)
    if existing is None and kernel.name in manager.find_kernel_specs():
        raise InvalidArgument(f"a kernelspec named {kernel.name!r} exists and is not a container kernel: "
                              "choose another name")
    with tempfile.TemporaryDirectory() as source:
        with open(os.path.join(source, "kernel.json"), "w", encoding="utf-8") as file:
            json.dump(kernel.kernel_json(), file, indent=1)
        shutil.copy(LOGO, os.path.join(source, "logo-svg.svg"))  # the launcher's card: containers, not a letter
        return manager.install_kernel_spec(source, kernel.name, user=user and prefix is None, prefix=prefix)


def list_kernels() -> list[dict]:
    """name, display_name, image, argv and directory of each container kernelspec, by name."""
    manager = KernelSpecManager()
    rows = []
    for name, found in sorted(_ours(manager).items()):
        config = found["spec"]["metadata"]["kernel_provisioner"].get("config") or {}
        rows.append({"name": name, "display_name": found["spec"].get("display_name", name),
                     "image": config.get("image", ""), "argv": found["spec"].get("argv", []),
                     "directory": found["resource_dir"]})
    return rows


def remove(name: str) -> str:
    """Remove the container kernelspec ``name``; its directory. Never one that is not ours."""
    manager = KernelSpecManager()
    if name not in _ours(manager):
        if name in manager.find_kernel_specs():
            raise InvalidArgument(f"kernelspec {name!r} is not a container kernel: remove it with "
                                  f"`jupyter kernelspec remove {name}`")
        raise InvalidArgument(f"no container kernel named {name!r}; `jupyter containers kernel ls` lists them")
    try:
        return manager.remove_kernel_spec(name)
    except (NoSuchKernel, OSError) as exc:
        raise InvalidArgument(f"cannot remove kernelspec {name!r}: {exc}") from None


def _ours(manager: KernelSpecManager) -> dict[str, dict]:
    found = {}
    for name, item in manager.get_all_specs().items():
        provisioner = (item.get("spec", {}).get("metadata") or {}).get("kernel_provisioner") or {}
        if provisioner.get("provisioner_name") == NAME:
            found[name] = item
    return found
