"""Stage 1b: ``include`` and ``extends``, then several files merged into one mapping.

For each file, as Docker Compose v2 does: parse (``!reset``/``!override`` noted), interpolate, import
what ``include`` names, resolve each service's ``extends``, validate the file alone (so an error names
it), then merge the files in order (``merge.py``). What comes out has no ``include`` and no ``extends``.

- ``include``: each entry is loaded as a project of its own (its files merged, its ``.env`` or
  ``env_file`` for interpolation, the including project's variables winning), its relative paths
  made absolute against its project directory; its services, networks, volumes, configs and secrets
  are added. One defined both here and there, differently, is refused.
- ``extends``: the base service (of this file, or of ``file:``, whose relative paths are made
  absolute against that file's directory) with this service merged over it; chains are followed,
  a cycle is refused.

Pure apart from reading the files named.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import load
from .errors import ComposeFileError
from .interpolate import interpolate
from .merge import merge_all, merge_service, remove

RESOURCES = ("services", "networks", "volumes", "configs", "secrets", "models")
_REMOTE_CONTEXT = ("service:", "https://", "http://", "git://", "ssh://", "github.com/", "git@")


@dataclass(frozen=True)
class Context:
    """What loading a file needs besides the file: where relative paths start, the variables, the
    list that collects warnings, the per-file validation, and the includes on the way here."""

    working_dir: Path
    variables: Mapping[str, str | None]
    warnings: list[str] = field(default_factory=list)
    validate: Callable[[dict, str], Any] | None = None
    included: tuple[str, ...] = ()


def load_files(sources: list[load.Source], working_dir: str | os.PathLike, variables: Mapping[str, str | None],
               warnings: list[str] | None = None, validate: Callable[[dict, str], Any] | None = None) -> dict:
    """The files' mappings, includes and extends resolved, merged in order."""
    context = Context(Path(working_dir), variables, [] if warnings is None else warnings, validate)
    return load_model(sources, context)


def load_model(sources: list[load.Source], context: Context) -> dict:
    documents = [load_document(source, context) for source in sources]
    return merge_all(documents, name_of=lambda i: sources[i].name)


def load_document(source: load.Source, context: Context) -> tuple[dict, list[tuple]]:
    """One file: its mapping ready to merge, and the paths its ``!reset``/``!override`` tags clear."""
    data, tagged = load.parse_tagged(source)
    data = interpolate(data, context.variables, "", context.warnings)
    data = apply_include(data, source.name, context)
    data = apply_extends(data, source.name, context, tagged)
    if context.validate is not None:
        context.validate(data, source.name)  # errors name this file
    return data, tagged


def _identity(name: str) -> str:
    return name if name == load.CELL else os.path.normpath(os.path.abspath(name))


def _join(base: Path, path: str) -> Path:
    return Path(os.path.normpath(base / Path(path).expanduser()))


# -- include ---------------------------------------------------------------------------------------
def apply_include(data: dict, name: str, context: Context) -> dict:
    """``data`` with what its ``include`` names added (and ``include`` removed)."""
    if "include" not in data:
        return data
    entries = data["include"]
    data = {k: v for k, v in data.items() if k != "include"}
    if entries is None:
        return data
    if not isinstance(entries, list):
        raise ComposeFileError(f"{name}: include: expected a list of paths or of mappings with a path")
    context = replace(context, included=(*context.included, _identity(name)))
    for i, entry in enumerate(entries):
        imported, first = _load_include(entry, f"include[{i}]", name, context)
        data = import_resources(data, imported, name, first)
    return data


def _strings(value: Any, name: str, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise ComposeFileError(f"{name}: {where}: expected a path or a list of paths")
    return items


def _load_include(entry: Any, where: str, name: str, context: Context) -> tuple[dict, str]:
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict):
        raise ComposeFileError(f"{name}: {where}: expected a path or a mapping with path:")
    for key in entry:
        if key not in ("path", "project_directory", "env_file"):
            raise ComposeFileError(f"{name}: {where}: unknown key {key!r} (path, project_directory, env_file)")
    if entry.get("path") is None:
        raise ComposeFileError(f"{name}: {where}.path: required")
    files = [_join(context.working_dir, p) for p in _strings(entry["path"], name, f"{where}.path")]
    for path in files:
        if not path.is_file():
            raise ComposeFileError(f"{name}: {where}.path: compose file {path} not found")
    first = str(files[0])
    if first in context.included:
        chain = [*context.included[context.included.index(first):], first]
        raise ComposeFileError(f"{name}: {where}: include cycle: {' -> '.join(chain)}")
    directory = entry.get("project_directory")
    if directory is not None and not isinstance(directory, str):
        raise ComposeFileError(f"{name}: {where}.project_directory: expected a path")
    project_dir = _join(context.working_dir, directory) if directory else files[0].parent
    variables = {**include_env(entry.get("env_file"), project_dir, name, where, context),
                 **{k: v for k, v in context.variables.items() if v is not None}}
    inner = replace(context, working_dir=project_dir, variables=variables)
    model = load_model(load.read_sources(files), inner)
    return resolve_environment(resolve_paths(model, project_dir), variables), first


def include_env(env_file: Any, project_dir: Path, name: str, where: str, context: Context) -> dict:
    """The variables of an include's ``env_file`` (relative to the including project), by default its
    project directory's ``.env``."""
    if env_file is None:
        return load.read_env_file(project_dir / ".env", required=False)
    values: dict[str, str | None] = {}
    for item in _strings(env_file, name, f"{where}.env_file"):
        if item == "/dev/null":
            continue
        path = _join(context.working_dir, item)
        if not path.is_file():
            raise ComposeFileError(f"{name}: {where}.env_file: env file {path} not found")
        values.update(load.read_env_file(path))
    return values


def import_resources(data: dict, imported: Mapping, name: str, source: str) -> dict:
    """``data`` with ``imported``'s resources added; one defined in both, differently, is refused."""
    out = dict(data)
    for kind in RESOURCES:
        theirs = imported.get(kind)
        if not isinstance(theirs, Mapping) or not theirs:
            continue
        mine = out.get(kind) or {}
        if not isinstance(mine, Mapping):
            continue  # validation says what is wrong with it
        for key, value in theirs.items():
            if key in mine and mine[key] != value:
                raise ComposeFileError(f"{name}: {kind}.{key}: also defined by the included file {source}; "
                                       "a resource is defined once (override it in another -f file)")
        out[kind] = {**theirs, **mine}
    return out


def resolve_environment(data: dict, variables: Mapping[str, str | None]) -> dict:
    """Values an included project's variables give: ``environment`` entries without a value, and
    configs and secrets ``environment:`` (which become ``content:``)."""
    def known(key: Any) -> bool:
        return variables.get(str(key)) is not None

    out = dict(data)
    services = data.get("services")
    if isinstance(services, Mapping):
        out["services"] = {}
        for key, svc in services.items():
            env = svc.get("environment") if isinstance(svc, Mapping) else None
            if isinstance(env, list):
                env = [f"{e}={variables[e]}" if isinstance(e, str) and "=" not in e and known(e) else e for e in env]
            elif isinstance(env, Mapping):
                env = {k: variables[k] if v is None and known(k) else v for k, v in env.items()}
            out["services"][key] = {**svc, "environment": env} if env is not None else svc
    for kind in ("configs", "secrets"):
        objects = data.get(kind)
        if isinstance(objects, Mapping):
            out[kind] = {k: ({**v, "content": variables[v["environment"]]}  # config() prints environment
                             if isinstance(v, Mapping) and isinstance(v.get("environment"), str)
                             and known(v["environment"]) else v)
                         for k, v in objects.items()}
    return out


# -- relative paths ----------------------------------------------------------------------------------
def _abs(path: Any, base: Path) -> Any:
    if not isinstance(path, str) or not path:
        return path
    return str(_join(base, path))


def _context(path: Any, base: Path) -> Any:
    if not isinstance(path, str) or "://" in path or path.startswith(_REMOTE_CONTEXT):
        return path
    return _abs(path, base)


def _volume(item: Any, base: Path) -> Any:
    if isinstance(item, str):
        source, colon, rest = item.partition(":")
        return f"{_abs(source, base)}:{rest}" if colon and source.startswith((".", "~")) else item
    if isinstance(item, Mapping) and item.get("type") == "bind":
        return {**item, "source": _abs(item.get("source"), base)}
    return item


def _files(value: Any, base: Path) -> Any:
    """``env_file``/``label_file``: a path, or a list of paths or of mappings with ``path``."""
    if isinstance(value, str):
        return _abs(value, base)
    if not isinstance(value, list):
        return value
    return [{**v, "path": _abs(v.get("path"), base)} if isinstance(v, Mapping) else _abs(v, base) for v in value]


def _service_paths(svc: Mapping, base: Path) -> dict:
    out = dict(svc)
    build = svc.get("build")
    if isinstance(build, str):
        out["build"] = _context(build, base)
    elif isinstance(build, Mapping):
        build = dict(build)
        if build.get("context") or not build.get("dockerfile_inline"):
            build["context"] = _context(build.get("context") or ".", base)
        if isinstance(build.get("additional_contexts"), Mapping):
            build["additional_contexts"] = {k: _context(v, base) for k, v in build["additional_contexts"].items()}
        out["build"] = build
    for key in ("env_file", "label_file"):
        if key in svc:
            out[key] = _files(svc[key], base)
    if isinstance(svc.get("extends"), Mapping) and isinstance(svc["extends"].get("file"), str):
        out["extends"] = {**svc["extends"], "file": _abs(svc["extends"]["file"], base)}
    if isinstance(svc.get("volumes"), list):
        out["volumes"] = [_volume(v, base) for v in svc["volumes"]]
    develop = svc.get("develop")
    if isinstance(develop, Mapping) and isinstance(develop.get("watch"), list):
        out["develop"] = {**develop, "watch": [{**w, "path": _abs(w.get("path"), base)} if isinstance(w, Mapping)
                                               else w for w in develop["watch"]]}
    return out


def resolve_paths(data: Mapping, base: Path) -> dict:
    """``data`` with its relative paths made absolute against ``base``: build contexts, env and label
    files, bind mount sources, ``extends.file``, config and secret files, bind volumes' devices."""
    out = dict(data)
    if isinstance(data.get("services"), Mapping):
        out["services"] = {k: _service_paths(v, base) if isinstance(v, Mapping) else v
                           for k, v in data["services"].items()}
    for kind in ("configs", "secrets"):
        if isinstance(data.get(kind), Mapping):
            out[kind] = {k: {**v, "file": _abs(v["file"], base)} if isinstance(v, Mapping) and "file" in v else v
                         for k, v in data[kind].items()}
    if isinstance(data.get("volumes"), Mapping):
        out["volumes"] = {k: _volume_device(v, base) for k, v in data["volumes"].items()}
    return out


def _volume_device(volume: Any, base: Path) -> Any:
    opts = volume.get("driver_opts") if isinstance(volume, Mapping) else None
    if not isinstance(opts, Mapping) or volume.get("driver") not in (None, "local") or opts.get("o") != "bind":
        return volume
    return {**volume, "driver_opts": {**opts, "device": _abs(opts.get("device"), base)}}


# -- extends -----------------------------------------------------------------------------------------
@dataclass
class _Pool:
    """The services one ``extends`` can name: a file's, with where it is and its tags."""

    file: str
    directory: Path
    services: dict
    tagged: list


def apply_extends(data: dict, name: str, context: Context, tagged: list) -> dict:
    """``data`` with each service's ``extends`` resolved (and removed)."""
    services = data.get("services")
    if not isinstance(services, Mapping) or not any(isinstance(s, Mapping) and "extends" in s
                                                     for s in services.values()):
        return data
    pool = _Pool(_identity(name), context.working_dir, dict(services), tagged)
    files: dict[str, _Pool] = {}
    for key in list(pool.services):
        _extend(key, pool, name, context, files, ())
    return {**data, "services": pool.services}


def _reference(value: Any, name: str, where: str) -> tuple[str, str | None]:
    if isinstance(value, str) and value:
        return value, None
    if not isinstance(value, Mapping):
        raise ComposeFileError(f"{name}: {where}: expected a service name or a mapping with service: (and file:)")
    for key in value:
        if key not in ("service", "file"):
            raise ComposeFileError(f"{name}: {where}: unknown key {key!r} (service, file)")
    service, file = value.get("service"), value.get("file")
    if not isinstance(service, str) or not service:
        raise ComposeFileError(f"{name}: {where}.service: required, the name of the service to extend")
    if file is not None and (not isinstance(file, str) or not file):
        raise ComposeFileError(f"{name}: {where}.file: expected the path of a compose file")
    return service, file


def _cycle(chain: tuple, name: str, where: str) -> ComposeFileError:
    first = chain[0][0]
    steps = [service if file == first else f"{service} ({os.path.basename(file)})" for file, service in chain]
    return ComposeFileError(f"{name}: {where}: circular extends: {' -> '.join(steps)}")


def _extend(key: str, pool: _Pool, name: str, context: Context, files: dict, chain: tuple) -> Any:
    service = pool.services[key]
    if not isinstance(service, Mapping) or "extends" not in service:
        return service
    where = f"services.{key}.extends"
    link = (pool.file, key)
    if link in chain:
        raise _cycle((*chain, link), name, where)
    ref, ref_file = _reference(service["extends"], name, where)
    base_pool = pool if ref_file is None else _file_pool(_join(pool.directory, ref_file), name, where, context,
                                                         files)
    if ref not in base_pool.services:
        inside = "" if ref_file is None else f" in {base_pool.file}"
        raise ComposeFileError(f"{name}: {where}: service {ref!r} not found{inside}")
    base = _extend(ref, base_pool, name, context, files, (*chain, link))
    if base is None:
        base = {}
    if not isinstance(base, Mapping):
        raise ComposeFileError(f"{name}: {where}: service {ref!r} is not a mapping")
    base = {k: v for k, v in base.items() if k != "extends"}
    for path in pool.tagged:  # this service's !reset and !override clear the base's value
        if len(path) > 2 and path[:2] == ("services", key):
            base = remove(base, path[2:])
    try:
        merged = merge_service(base, {k: v for k, v in service.items() if k != "extends"}, key)
    except ComposeFileError as exc:
        raise ComposeFileError(f"{name}: {exc}") from None
    pool.services[key] = merged
    return merged


def _file_pool(path: Path, name: str, where: str, context: Context, files: dict) -> _Pool:
    """The services of another file, interpolated, relative paths made absolute against its directory."""
    if str(path) in files:
        return files[str(path)]
    if not path.is_file():
        raise ComposeFileError(f"{name}: {where}.file: compose file {path} not found")
    data, tagged = load.parse_tagged(load.read_sources([path])[0])
    data = resolve_paths(interpolate(data, context.variables, "", context.warnings), path.parent)
    services = data.get("services")
    if not isinstance(services, Mapping):
        raise ComposeFileError(f"{name}: {where}.file: {path} has no services")
    files[str(path)] = _Pool(str(path), path.parent, dict(services), tagged)
    return files[str(path)]
