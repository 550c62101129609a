"""Stage 1: find and read compose files, merge several into one mapping, read ``.env`` files.

Pure apart from reading the files it is given; nothing here talks to the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .errors import ComposeFileError

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
CELL = "<cell>"


@dataclass(frozen=True)
class Source:
    """One compose file: where it came from (a path or ``<cell>``) and its text."""

    name: str
    text: str


def find_files(directory: str | Path) -> list[Path]:
    """The default compose file in ``directory`` and its override file, if there is one."""
    directory = Path(directory)
    for name in DEFAULT_FILES:
        path = directory / name
        if path.is_file():
            stem, suffix = name.rsplit(".", 1)
            override = directory / f"{stem}.override.{suffix}"
            return [path, override] if override.is_file() else [path]
    raise ComposeFileError(f"no compose file in {directory}: write one of {', '.join(DEFAULT_FILES)}, "
                           "name one with -f, or give the file as the cell body")


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    sources = []
    for path in paths:
        try:
            sources.append(Source(str(path), Path(path).read_text()))
        except OSError as exc:
            raise ComposeFileError(f"cannot read compose file {path}: {exc.strerror or exc}") from None
    return sources


def parse(source: Source) -> dict:
    """The YAML of one file as a mapping; a syntax error names the file and the line."""
    try:
        data = yaml.safe_load(source.text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ComposeFileError(f"{source.name}:{where}: invalid YAML: {' '.join(str(problem).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComposeFileError(f"{source.name}: a compose file is a mapping (services:, networks:, ...), "
                               f"not a {type(data).__name__}")
    return data


# -- merging (the Compose Specification's merge rules) -----------------------------------------
_AS_MAPPING = {"environment": "=", "labels": "=", "extra_hosts": ":", "sysctls": "=", "annotations": "="}
_REPLACED = {"command", "entrypoint", "healthcheck.test"}


def _to_mapping(value: Any, separator: str) -> dict:
    if isinstance(value, Mapping):
        return dict(value)
    out = {}
    for item in value or []:
        key, eq, rest = str(item).partition(separator)
        out[key] = rest if eq else None
    return out


def _names(value: Any) -> dict:
    """``[a, b]`` or ``{a: {...}}`` -> ``{a: {...} or None}`` (depends_on, networks)."""
    if isinstance(value, Mapping):
        return dict(value)
    return {str(item): None for item in value or []}


def _volume_target(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        key = repr(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _merge_value(key: str, base: Any, override: Any) -> Any:
    if key in _REPLACED or override is None or base is None:
        return override if override is not None else base
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        return merge_mappings(base, override, key)
    if isinstance(base, list) and isinstance(override, list):
        return _unique(base + override)
    return override


def merge_mappings(base: Mapping, override: Mapping, prefix: str = "") -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge_value(f"{prefix}.{key}" if prefix else key, out.get(key), value) \
            if key in out else value
    return out


def merge_service(base: Mapping, override: Mapping) -> dict:
    """One service of an override file laid over the same service of the files before it."""
    out = dict(base)
    for key, value in override.items():
        if key not in out or value is None or out[key] is None:
            out[key] = value
        elif key in _AS_MAPPING:
            out[key] = {**_to_mapping(out[key], _AS_MAPPING[key]), **_to_mapping(value, _AS_MAPPING[key])}
        elif key in ("depends_on", "networks"):
            merged = _names(out[key])
            for name, options in _names(value).items():
                old = merged.get(name)
                merged[name] = merge_mappings(old, options) if isinstance(old, Mapping) and \
                    isinstance(options, Mapping) else (options if options is not None else old)
            out[key] = merged
        elif key == "volumes" and isinstance(value, list) and isinstance(out[key], list):
            by_target = {_volume_target(v): v for v in out[key]}
            by_target.update({_volume_target(v): v for v in value})
            out[key] = list(by_target.values())
        elif key == "build" and isinstance(value, (str, Mapping)) and isinstance(out[key], (str, Mapping)):
            as_map = lambda b: {"context": b} if isinstance(b, str) else dict(b)  # noqa: E731
            out[key] = merge_mappings(as_map(out[key]), as_map(value), "build")
        else:
            out[key] = _merge_value(key, out[key], value)
    return out


def merge(documents: list[dict]) -> dict:
    """Several files' mappings, later ones overriding earlier ones."""
    if not documents:
        return {}
    out = dict(documents[0])
    for doc in documents[1:]:
        for key, value in doc.items():
            if key == "services" and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                services = dict(out[key])
                for name, service in value.items():
                    old = services.get(name)
                    services[name] = merge_service(old, service or {}) if isinstance(old, Mapping) \
                        and isinstance(service, Mapping) else service
                out[key] = services
            elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge_mappings(out[key], value, key)
            else:
                out[key] = value
    return out


# -- .env files --------------------------------------------------------------------------------
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=(.*))?$")


def parse_env_text(text: str, name: str = ".env") -> dict[str, str | None]:
    """``KEY=VALUE`` lines; ``#`` comments, ``export``, single and double quotes as Compose reads them.

    A bare ``KEY`` maps to ``None`` (take it from the environment)."""
    out: dict[str, str | None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ComposeFileError(f"{name}: line {number}: expected KEY=VALUE, got {line.strip()!r}")
        key, value = match[1], match[2]
        if value is None:
            out[key] = None
            continue
        value = value.strip()
        if value[:1] in ("'", '"'):
            quote = value[0]
            end = value.find(quote, 1)
            if end < 0:
                raise ComposeFileError(f"{name}: line {number}: unterminated {quote} quote")
            inner = value[1:end]
            if quote == '"':
                inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            value = inner
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        out[key] = value
    return out


def read_env_file(path: str | Path, required: bool = True) -> dict[str, str | None]:
    path = Path(path)
    if not path.is_file():
        if required:
            raise ComposeFileError(f"env file {path} not found")
        return {}
    return parse_env_text(path.read_text(), str(path))
