"""Stage 1: find and read compose files (YAML with the ``!reset`` and ``!override`` tags), read ``.env``
files. ``extends.py`` resolves ``include`` and ``extends``; ``merge.py`` merges several files into one.

Pure apart from reading the files it is given; nothing here talks to the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ComposeFileError
from .merge import merge_all

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


class _Tag:
    """What a ``!reset`` or ``!override`` node becomes until ``split_tags`` takes it out."""

    def __init__(self, kind: str, value: Any = None):
        self.kind, self.value = kind, value


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the Compose Specification's ``!reset`` and ``!override`` tags."""


def _construct_tag(kind: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> _Tag:
        if kind == "reset":
            return _Tag(kind)  # the value is ignored, as the specification says
        if isinstance(node, yaml.MappingNode):
            plain: yaml.Node = yaml.MappingNode("tag:yaml.org,2002:map", node.value, node.start_mark,
                                                node.end_mark, node.flow_style)
        elif isinstance(node, yaml.SequenceNode):
            plain = yaml.SequenceNode("tag:yaml.org,2002:seq", node.value, node.start_mark, node.end_mark,
                                      node.flow_style)
        else:
            tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
            plain = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
        return _Tag(kind, loader.construct_object(plain, deep=True))
    return construct


_Loader.add_constructor("!reset", _construct_tag("reset"))
_Loader.add_constructor("!override", _construct_tag("override"))


def split_tags(data: Any, path: tuple = ()) -> tuple[Any, list[tuple]]:
    """``data`` without its ``!reset`` values and with its ``!override`` values as plain values, and the
    paths of both (what the merge clears from the files before this one). A ``!reset`` item of a
    list is left out of the list."""
    tagged: list[tuple] = []
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            here = (*path, key)
            if isinstance(value, _Tag):
                tagged.append(here)
                if value.kind == "reset":
                    continue
                value = value.value
            out[key], inner = split_tags(value, here)
            tagged += inner
        return out, tagged
    if isinstance(data, list):
        items = []
        for i, value in enumerate(data):
            if isinstance(value, _Tag):
                if value.kind == "reset":
                    continue
                value = value.value
            item, inner = split_tags(value, (*path, i))
            items.append(item)
            tagged += inner
        return items, tagged
    if isinstance(data, _Tag):
        return (None if data.kind == "reset" else split_tags(data.value, path)[0]), [path]
    return data, tagged


def parse_tagged(source: Source) -> tuple[dict, list[tuple]]:
    """The YAML of one file as a mapping, and the paths its ``!reset``/``!override`` tags name.

    A syntax error names the file and the line."""
    try:
        data = yaml.load(source.text, Loader=_Loader)  # a SafeLoader with two more tags
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ComposeFileError(f"{source.name}:{where}: invalid YAML: {' '.join(str(problem).split())}") from None
    data, tagged = split_tags(data)
    if data is None:
        return {}, tagged
    if not isinstance(data, dict):
        raise ComposeFileError(f"{source.name}: a compose file is a mapping (services:, networks:, ...), "
                               f"not a {type(data).__name__}")
    return data, tagged


def parse(source: Source) -> dict:
    """The YAML of one file as a mapping; a syntax error names the file and the line."""
    return parse_tagged(source)[0]


def merge(documents: list[dict]) -> dict:
    """Several files' mappings, later ones overriding earlier ones (the rules are in ``merge.py``)."""
    return merge_all((doc, ()) for doc in documents)


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


def read_raw_env_file(path: str | Path, required: bool = True) -> dict[str, str | None]:
    """``env_file: {path: ..., format: raw}``: KEY=VALUE lines taken as they are."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise ComposeFileError(f"env file {path} not found")
        return {}
    out: dict[str, str | None] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, eq, value = line.partition("=")
            out[name.strip()] = value if eq else None
    return out


def read_env_file(path: str | Path, required: bool = True) -> dict[str, str | None]:
    path = Path(path)
    if not path.is_file():
        if required:
            raise ComposeFileError(f"env file {path} not found")
        return {}
    return parse_env_text(path.read_text(), str(path))
