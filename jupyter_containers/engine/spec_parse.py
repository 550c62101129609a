"""Parsers of the docker CLI's option values, shared by ``docker run`` flags and compose services.

Pure functions; each raises ``InvalidArgument`` naming the bad value before anything reaches the engine.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidArgument


def _read_lines(path: str | os.PathLike, what: str) -> list[str]:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read the {what} {str(path)!r}: {exc.strerror or exc}") from None
    return [line.lstrip() for line in text.splitlines()]


def read_env_file(path: str | os.PathLike) -> list[str]:
    """``--env-file``: ``KEY=VALUE`` lines as the docker CLI reads them (no quotes are removed,
    ``#`` starts a comment line, a bare ``KEY`` takes this process's value when it has one)."""
    out = []
    for line in _read_lines(path, "env file"):
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if not key:
            raise InvalidArgument(f"invalid line in env file {str(path)!r}: {line!r} has no variable name")
        if key != key.rstrip() or " " in key or "\t" in key:
            raise InvalidArgument(f"invalid line in env file {str(path)!r}: variable {key!r} contains whitespace")
        if eq:
            out.append(f"{key}={value}")
        elif key in os.environ:
            out.append(f"{key}={os.environ[key]}")
    return out


def read_label_file(path: str | os.PathLike) -> list[str]:
    """``--label-file``: ``KEY[=VALUE]`` lines (``#`` comments and blank lines skipped)."""
    return [line.rstrip("\n") for line in _read_lines(path, "label file") if line and not line.startswith("#")]
