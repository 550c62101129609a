"""The Compose Specification's merge rules, once, for several ``-f`` files and for ``extends``.

Pure functions over the mappings the YAML loader gives (short syntax as written):

- mappings are merged key by key, a ``null`` override keeps what was there;
- sequences are appended; ``ports``, ``volumes``, ``devices``, ``secrets``, ``configs``, ``expose``,
  ``cap_add``, ``dns``... then keep one entry per unique key (the later entry, at the place of the first);
- ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced;
- ``environment``, ``labels``, ``sysctls``, ``build.args``... are mappings, list or not, merged by key;
- ``depends_on`` and ``networks`` are merged by name, ``ulimits`` by name (each limit replaced);
- ``!reset`` and ``!override`` (see ``load.parse_tagged``) remove a value from what came before.

Docker Compose v2's loader (compose-go, ``override/merge.go`` and ``override/uncity.go``) is the
reference; a value of one type over a value of another is refused as it refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ComposeFileError

Path = tuple  # ("services", "web", "ports"): where a value sits in the document


def where(path: Path) -> str:
    """``("services", "web", "ports")`` -> ``services.web.ports``."""
    return ".".join(str(p) for p in path)


# -- keys of sequence items (what makes two entries "the same") ------------------------------------
def _key_value(item: Any) -> str:
    return str(item).partition("=")[0]


def _exact(item: Any) -> str:
    return repr(item)


def _volume_target(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("target"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _mount(default_dir: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        if isinstance(item, Mapping):
            return str(item["target"]) if item.get("target") else f"{default_dir}/{item.get('source')}"
        return f"{default_dir}/{item}"
    return key


def _port(item: Any) -> Any:
    """One published port whatever its syntax: ``8080:80`` and ``{target: 80, published: 8080}`` match."""
    if isinstance(item, Mapping):
        published = item.get("published")
        return ((str(item.get("host_ip") or ""), "" if published is None else str(published),
                 str(item.get("target")), str(item.get("protocol") or "tcp")),)
    from ..engine import spec_parse
    from ..engine.errors import InvalidArgument

    try:
        _, bindings = spec_parse.parse_publish([str(item).strip()])
    except InvalidArgument:
        return repr(item)  # validation says what is wrong with it
    return tuple(sorted((b["HostIp"], b["HostPort"], *port.split("/"))
                        for port, entries in bindings.items() for b in entries))


def _extra_host(item: Any) -> str:
    name, _, address = str(item).replace("=", ":", 1).partition(":")
    return f"{name}:{address.strip('[]')}"


def _env_file(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, Mapping) else str(item)


def _by_path(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, Mapping) else repr(item)


# -- conversions ---------------------------------------------------------------------------------
def as_sequence(value: Any) -> list:
    """A mapping ``{K: V}`` as ``["K=V"]`` (``K`` alone when V is null), a scalar as a one-item list."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [str(k) if v is None else f"{k}={item}" for k, v in value.items()
                for item in (v if isinstance(v, list) else [v])]
    return list(value) if isinstance(value, list) else [value]


def as_mapping(value: Any) -> dict:
    """``["K=V", "K2"]`` -> ``{K: V, K2: None}``; a mapping is copied."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        value = [value]
    out = {}
    for item in value:
        key, eq, rest = str(item).partition("=")
        out[key] = rest if eq else None
    return out


def unique(items: Iterable, key: Callable[[Any], Any]) -> list:
    """One entry per key: a later entry replaces the earlier one, at the earlier one's place."""
    out: list = []
    seen: dict = {}
    for item in items:
        k = key(item)
        if k in seen:
            out[seen[k]] = item
        else:
            seen[k] = len(out)
            out.append(item)
    return out


# -- the rules -----------------------------------------------------------------------------------
Rule = Callable[[Any, Any, Path], Any]


def _replace(base: Any, override: Any, path: Path) -> Any:
    return override


def _by_key(base: Any, override: Any, path: Path) -> Any:
    if override is None:
        return base
    return {**as_mapping(base), **as_mapping(override)}


def _sequence(key: Callable[[Any], Any] | None) -> Rule:
    def rule(base: Any, override: Any, path: Path) -> Any:
        if override is None:
            return base
        items = as_sequence(base) + as_sequence(override)
        return unique(items, key) if key else items
    return rule


def _sequences_only(key: Callable[[Any], Any] | None) -> Rule:
    """Lists that must be lists on both sides (ports, volumes, ...)."""
    appended = _sequence(key)

    def rule(base: Any, override: Any, path: Path) -> Any:
        if override is None or base is None:
            return base if override is None else override
        if not isinstance(base, list) or not isinstance(override, list):
            return _mismatch(base, override, path)
        return appended(base, override, path)
    return rule


def _depends_on(base: Any, override: Any, path: Path) -> Any:
    if override is None:
        return base
    base, override = as_mapping(base), as_mapping(override)
    out = dict(base)
    for name, options in override.items():
        if name not in out:
            out[name] = options
        elif isinstance(out[name], Mapping) or isinstance(options, Mapping):
            # a name in a list is the long syntax's defaults (as compose-go reads it)
            started = {"condition": "service_started", "required": True}
            out[name] = merge_value(out[name] or started, options or started, (*path, name))
    return out


def _networks(base: Any, override: Any, path: Path) -> Any:
    if override is None:
        return base
    out = as_mapping(base)
    for name, options in as_mapping(override).items():
        out[name] = merge_value(out[name], options, (*path, name)) if name in out else options
    return out


def _build(base: Any, override: Any, path: Path) -> Any:
    def as_build(value: Any) -> Any:
        return {"context": value} if isinstance(value, str) else value
    if override is None:
        return base
    return merge_value(as_build(base), as_build(override), path, rules=False)


def _logging(base: Any, override: Any, path: Path) -> Any:
    """Options are merged when both name the same driver (or one names none); else replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping) and base.get("driver") and \
            override.get("driver") and base["driver"] != override["driver"]:
        return override
    return merge_value(base, override, path, rules=False)


def _ipam_config(base: Any, override: Any, path: Path) -> Any:
    if override is None:
        return base
    if not isinstance(base, list) or not isinstance(override, list):
        return _mismatch(base, override, path)
    out = {}
    for item in base + override:
        subnet = item.get("subnet") if isinstance(item, Mapping) else repr(item)
        out[subnet] = merge_value(out[subnet], item, path, rules=False) if subnet in out else item
    return list(out.values())


def _mismatch(base: Any, override: Any, path: Path) -> Any:
    def kind(v: Any) -> str:
        return "mapping" if isinstance(v, Mapping) else "list" if isinstance(v, list) else "value"
    raise ComposeFileError(f"{where(path)}: cannot merge a {kind(override)} into a {kind(base)}")


_S = ("services", "*")
RULES: dict[Path, Rule] = {
    (*_S, "command"): _replace,
    (*_S, "entrypoint"): _replace,
    (*_S, "healthcheck", "test"): _replace,
    (*_S, "ulimits", "*"): _replace,
    (*_S, "build"): _build,
    (*_S, "depends_on"): _depends_on,
    (*_S, "networks"): _networks,
    (*_S, "logging"): _logging,
    (*_S, "extra_hosts"): _sequence(_extra_host),
    (*_S, "build", "extra_hosts"): _sequence(_extra_host),
    (*_S, "ports"): _sequences_only(_port),
    (*_S, "volumes"): _sequences_only(_volume_target),
    (*_S, "devices"): _sequences_only(_volume_target),
    (*_S, "secrets"): _sequences_only(_mount("/run/secrets")),
    (*_S, "configs"): _sequences_only(_mount("")),
    (*_S, "expose"): _sequences_only(str),
    (*_S, "env_file"): _sequence(_env_file),
    (*_S, "label_file"): _sequence(None),
    ("networks", "*", "ipam", "config"): _ipam_config,
}
for _key in ("environment", "labels", "annotations", "sysctls", "build.args", "build.labels",
             "build.additional_contexts", "deploy.labels", "volumes.*.volume.labels"):
    RULES[(*_S, *_key.split("."))] = _by_key
for _kind in ("networks", "volumes", "configs", "secrets"):
    RULES[(_kind, "*", "labels")] = _by_key
for _key in ("dns", "dns_opt", "dns_search", "tmpfs"):
    RULES[(*_S, _key)] = _sequence(_key_value)
for _key in ("cap_add", "cap_drop", "links", "profiles", "build.tags", "build.platforms", "networks.*.aliases",
             "networks.*.link_local_ips"):
    RULES[(*_S, *_key.split("."))] = _sequences_only(_key_value)
for _key in ("security_opt", "external_links", "device_cgroup_rules", "deploy.placement.constraints",
             "deploy.placement.preferences", "deploy.resources.reservations.generic_resources"):
    RULES[(*_S, *_key.split("."))] = _sequences_only(_exact)
for _key in ("weight_device", "device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops"):
    RULES[(*_S, "blkio_config", _key)] = _sequences_only(_by_path)
_BY_LENGTH: dict[int, list[tuple[Path, Rule]]] = {}
for _pattern, _rule in RULES.items():
    _BY_LENGTH.setdefault(len(_pattern), []).append((_pattern, _rule))


def rule_for(path: Path) -> Rule | None:
    for pattern, rule in _BY_LENGTH.get(len(path), ()):
        if all(p == "*" or p == k for p, k in zip(pattern, path)):
            return rule
    return None


# -- merging -------------------------------------------------------------------------------------
def merge_value(base: Any, override: Any, path: Path, rules: bool = True) -> Any:
    """``override`` laid over ``base``, which sits at ``path`` in the document."""
    rule = rule_for(path) if rules else None
    if rule is not None:
        return rule(base, override, path)
    if override is None:
        return base
    if base is None:
        return override
    if isinstance(base, Mapping) or isinstance(override, Mapping):
        if not (isinstance(base, Mapping) and isinstance(override, Mapping)):
            return _mismatch(base, override, path)
        out = dict(base)
        for key, value in override.items():
            out[key] = merge_value(out[key], value, (*path, key)) if key in out else value
        return out
    if isinstance(base, list) or isinstance(override, list):
        if not (isinstance(base, list) and isinstance(override, list)):
            return _mismatch(base, override, path)
        return base + override
    return override


def merge_service(base: Mapping, override: Mapping, name: str = "*") -> dict:
    """One service over another: the rules of several files, and of ``extends``."""
    return merge_value(dict(base), dict(override), ("services", name))


def merge_documents(base: Mapping, override: Mapping) -> dict:
    """A whole file over the files before it."""
    return merge_value(dict(base), dict(override), ())


def remove(data: Any, path: Path) -> Any:
    """``data`` without the value at ``path`` (what ``!reset`` and ``!override`` clear first).

    In a list of ``KEY=VALUE`` or of names (``environment: [A=1]``, ``depends_on: [db]``), the entries
    of that key go."""
    if not path:
        return data
    head, rest = path[0], path[1:]
    if isinstance(data, Mapping):
        if head not in data:
            return data
        out = dict(data)
        if rest:
            out[head] = remove(data[head], rest)
        else:
            del out[head]
        return out
    if isinstance(data, list) and not rest:
        return [item for item in data if not (isinstance(item, (str, int)) and _key_value(item) == str(head))]
    return data


def merge_all(documents: Iterable[tuple[Mapping, Iterable[Path]]], name_of: Callable[[int], str] | None = None
              ) -> dict:
    """Files in order, each with the paths its ``!reset``/``!override`` tags cleared from the files before."""
    out: dict = {}
    for i, (doc, cleared) in enumerate(documents):
        for path in cleared:
            out = remove(out, tuple(path))
        try:
            out = merge_documents(out, doc)
        except ComposeFileError as exc:
            if name_of is None:
                raise
            raise ComposeFileError(f"{name_of(i)}: {exc}") from None
    return out
