"""Comparing what the engine made of two containers, one made by a reference tool (the docker CLI,
docker-compose) and one by us: ``state`` is an ``inspect`` without what differs by nature (ids,
names, times, generated volume names, labels of the tool that made it), ``differences`` lists where
two states differ."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# fields that differ by nature between two containers made from the same words
VOLATILE_HOST = {"ContainerIDFile"}
TOOL_LABELS = ("io.jupyter.containers", "com.docker.compose.")


def state(engine, ref: str, names: dict[str, str]) -> dict:
    """What the engine made of a container, without what differs by nature."""
    raw = engine.containers.inspect(ref)

    def scrub(value):
        if isinstance(value, str):
            for real, placeholder in names.items():
                value = value.replace(real, placeholder)
            return value
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        return value

    config = dict(raw["Config"])
    config["Env"] = sorted(config.get("Env") or [])  # the CLI 28 sends -e values in a random order (a Go map)
    config["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items()
                        if not k.startswith(TOOL_LABELS)}
    if config.get("Hostname") == raw["Id"][:12]:
        config.pop("Hostname")
    host = {k: v for k, v in raw["HostConfig"].items() if k not in VOLATILE_HOST}
    host["Binds"] = sorted(host.get("Binds") or [])  # the docker CLI 20.10 sends -v values in a map's order
    for key in ("CapAdd", "CapDrop"):  # the CLI before 23 sends them as typed, later ones as CAP_X, sorted
        host[key] = sorted({c.upper() if c.upper() == "ALL" or c.upper().startswith("CAP_") else f"CAP_{c.upper()}"
                            for c in host.get(key) or ()})
    mounts = sorted(({k: v for k, v in m.items() if not (m["Type"] == "volume" and k in ("Name", "Source"))}
                     for m in raw["Mounts"]), key=lambda m: m["Destination"])
    networks = {name: {"Aliases": sorted(a for a in ep.get("Aliases") or () if a != raw["Id"][:12]),
                       "IPAMConfig": ep.get("IPAMConfig"), "Links": ep.get("Links")}
                for name, ep in (raw["NetworkSettings"].get("Networks") or {}).items()}
    return scrub({"Config": config, "HostConfig": host, "Mounts": mounts, "Networks": networks})


def differences(theirs, ours, path="") -> list[str]:
    """Where two inspect trees differ; an empty list, an empty map and null are the same value."""
    empty = (None, [], {})
    if theirs in empty and ours in empty:
        return []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return [d for key in sorted(set(theirs) | set(ours))
                for d in differences(theirs.get(key), ours.get(key), f"{path}.{key}")]
    if isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        return [d for i, (a, b) in enumerate(zip(theirs, ours)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if theirs == ours else [f"{path}: docker {theirs!r} != ours {ours!r}"]


def docker_compose(engine, cwd, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Debian's docker-compose 1.29 in ``cwd``, on ``engine``; its finished process."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; `make test` installs Debian's docker-compose")
    return subprocess.run([binary, *args], cwd=cwd, env={**os.environ, "DOCKER_HOST": engine.url},
                          capture_output=True, text=True, timeout=timeout)
