"""The pure pipeline put together: files or a cell body -> a resolved ``Project``.

A ``Project`` knows the names Compose gives things (``PROJECT-SERVICE-N``,
``PROJECT_default``, ``PROJECT_VOLUME``), the labels it puts on them, each
service's config hash and the options to create its containers with. It never
talks to the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import yaml

from . import graph, load, models
from .errors import ComposeFileError
from .interpolate import interpolate
from .models import ComposeFile, Service

L = "com.docker.compose."
PROJECT, SERVICE, NUMBER, ONEOFF = L + "project", L + "service", L + "container-number", L + "oneoff"
CONFIG_HASH, WORKING_DIR, CONFIG_FILES = L + "config-hash", L + "project.working_dir", L + "project.config_files"
DEPENDS_ON, VERSION, IMAGE, NETWORK, VOLUME = (L + "depends_on", L + "version", L + "image",
                                                L + "network", L + "volume")
COMPOSE_VERSION = "2.0.0"  # the Compose line whose labels and names we write (docker-compose reads >= 1.21)


def normalize_name(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")


def check_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name or ""):
        raise ComposeFileError(f"invalid project name {name!r}: use lowercase letters, digits, '-' and '_', "
                               "starting with a letter or a digit")
    return name


@dataclass(frozen=True)
class Project:
    name: str
    model: ComposeFile
    working_dir: str
    config_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    services: dict[str, Service] = field(default_factory=dict)  # the active ones (profiles applied)

    # -- names -------------------------------------------------------------------------------
    def network_name(self, key: str) -> str:
        spec = self.model.networks.get(key)
        return spec.name if spec is not None and spec.name else f"{self.name}_{key}"

    def volume_name(self, key: str) -> str:
        spec = self.model.volumes.get(key)
        return spec.name if spec is not None and spec.name else f"{self.name}_{key}"

    def container_name(self, service: str, number: int) -> str:
        return self.services[service].container_name or f"{self.name}-{service}-{number}"

    def image(self, service: str) -> str:
        svc = self.services[service]
        return svc.image or f"{self.name}-{service}"

    def networks_of(self, service: str) -> dict[str, list[str]]:
        svc = self.services[service]
        keys = svc.networks or {"default": None}
        return {self.network_name(k): [service, *(v.aliases if v else [])] for k, v in keys.items()}

    def used_networks(self) -> list[str]:
        keys = {k for s in self.services.values() for k in (s.networks or {"default": None})}
        return sorted(keys)

    def used_volumes(self) -> list[str]:
        return sorted({m.source for s in self.services.values() for m in s.volumes
                       if m.type == "volume" and m.source})

    # -- dependencies ----------------------------------------------------------------------
    @property
    def deps(self) -> dict[str, set[str]]:
        """Each service's dependencies: ``depends_on`` and the services it names in ``links``,
        ``volumes_from``, ``network_mode``, ``ipc`` and ``pid`` (as docker compose orders them)."""
        return {name: set(svc.depends_on) | implicit_deps(svc) for name, svc in self.services.items()}

    def select(self, names: Iterable[str] = ()) -> list[str]:
        """The services an ``up NAMES`` touches (all active ones when none are named), in order."""
        names = list(names)
        for name in names:
            if name not in self.services:
                known = ", ".join(self.services) or "none"
                raise ComposeFileError(f"no such service: {name!r} (services: {known})")
        chosen = graph.with_dependencies(self.deps, names) if names else set(self.services)
        return [s for s in graph.order(self.deps) if s in chosen]

    # -- labels and options ------------------------------------------------------------------
    def config_hash(self, service: str) -> str:
        data = self.services[service].model_dump(mode="json")
        for key in ("scale", "profiles"):
            data.pop(key, None)
        if data.get("deploy"):
            data["deploy"].pop("replicas", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def project_labels(self) -> dict[str, str]:
        return {PROJECT: self.name, WORKING_DIR: self.working_dir,
                CONFIG_FILES: ",".join(self.config_files), VERSION: COMPOSE_VERSION}

    def container_labels(self, service: str, number: int) -> dict[str, str]:
        svc = self.services[service]
        depends = ",".join(f"{d}:{dep.condition}:{str(dep.restart).lower()}" for d, dep in svc.depends_on.items())
        return {**svc.labels, **self.project_labels(), SERVICE: service, NUMBER: str(number), ONEOFF: "False",
                CONFIG_HASH: self.config_hash(service), DEPENDS_ON: depends}

    def create_spec(self, service: str, number: int, api_version: str = "1.41"):
        """The ContainerSpec of container ``number`` of ``service`` (what ``docker run`` flags also make)."""
        from .to_spec import service_spec

        return service_spec(self, service, number, api_version)

    def path(self, relative: str) -> str:
        return _absolute(relative, Path(self.working_dir))

    def _file_refs(self, service: str):
        svc = self.services[service]
        for kind, refs, default_dir in (("secrets", svc.secrets, "/run/secrets/"), ("configs", svc.configs, "/")):
            for ref in refs:
                obj = getattr(self.model, kind)[ref.source]
                target = ref.target if (ref.target or "").startswith("/") else default_dir + (ref.target or ref.source)
                yield ref, obj, target

    def mounted_files(self, service: str) -> list[tuple[str, str]]:
        """Secrets and configs from files, with no owner or mode asked for: bind-mounted read-only."""
        return [(obj.file, target) for ref, obj, target in self._file_refs(service)
                if obj.file and ref.uid is None and ref.gid is None and ref.mode is None]

    def copied_files(self, service: str) -> list[tuple]:
        """Secrets and configs copied into the container before it starts, as docker compose does when
        they come from ``environment``/``content`` or ask for ``uid``/``gid``/``mode``:
        (target, bytes, uid, gid, mode)."""
        out = []
        for ref, obj, target in self._file_refs(service):
            if obj.file and ref.uid is None and ref.gid is None and ref.mode is None:
                continue
            if obj.environment is not None and obj.content is None:
                raise ComposeFileError(f"{ref.source}: its environment variable {obj.environment} is not set; "
                                       f"set it for service {service}")
            data = Path(obj.file).read_bytes() if obj.file else (obj.content or "").encode()
            mode = ref.mode if ref.mode is not None else 0o444
            out.append((target, data, int(ref.uid or 0), int(ref.gid or 0), mode))
        return out

    # -- the resolved file --------------------------------------------------------------------
    def config(self) -> dict:
        """The resolved configuration (what ``config`` prints), in the specification's long syntax."""
        def prune(value):
            if isinstance(value, dict):
                value = {k: prune(v) for k, v in value.items()}
                return {k: v for k, v in value.items() if v not in (None, {}, [])}
            if isinstance(value, list):
                return [prune(v) for v in value]
            return value

        data = self.model.model_dump(mode="json", exclude_none=True)
        data.pop("version", None)
        data["name"] = self.name
        data["services"] = {k: v for k, v in data["services"].items() if k in self.services}
        nets = {k: self.model.networks.get(k) for k in {*self.used_networks(), *self.model.networks}}
        data["networks"] = {k: {**(v.model_dump(mode="json", exclude_none=True) if v else {}),
                                "name": self.network_name(k)} for k, v in sorted(nets.items())}
        data["volumes"] = {k: {**(v.model_dump(mode="json", exclude_none=True) if v else {}),
                               "name": self.volume_name(k)} for k, v in self.model.volumes.items()}
        for kind in ("secrets", "configs"):  # a value read from the environment is printed as where it comes from
            for obj in data.get(kind, {}).values():
                if obj.get("environment") is not None:
                    obj.pop("content", None)
        return prune(data)

    def to_yaml(self, show_secrets: bool = False) -> str:
        """``config`` as YAML; values that look secret are ``***`` unless ``show_secrets``."""
        data = self.config() if show_secrets else masked(self.config(), self.secret_values())
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)

    def secret_values(self) -> set[str]:
        """The contents of the project's ``secrets:`` files (what a value must never show)."""
        values = set()
        for secret in self.model.secrets.values():
            path = getattr(secret, "file", None)
            try:
                text = Path(path).read_text().strip() if path else ""
            except (OSError, UnicodeDecodeError):
                continue
            if text:
                values.add(text)
        return values


SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
MASK = "***"


def masked(config: dict, secret_values: set[str]) -> dict:
    """``config`` with the values of environment variables and build args whose name looks secret
    (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ``*KEY*``, ...) or whose value is a secret file's
    content replaced by ``***``: what ``%compose config`` prints ends up in the saved notebook."""
    def hide(mapping: dict) -> dict:
        return {k: MASK if v is not None and (SECRET_NAME.search(k) or str(v).strip() in secret_values) else v
                for k, v in mapping.items()}

    services = {}
    for name, service in config.get("services", {}).items():
        service = dict(service)
        if isinstance(service.get("environment"), dict):
            service["environment"] = hide(service["environment"])
        if isinstance(service.get("build"), dict) and isinstance(service["build"].get("args"), dict):
            service["build"] = {**service["build"], "args": hide(service["build"]["args"])}
        services[name] = service
    return {**config, "services": services}


# -- the pipeline --------------------------------------------------------------------------------
def load_project(files: Iterable[str | os.PathLike] | None = None, *, text: str | None = None,
                 name: str | None = None, working_dir: str | os.PathLike | None = None,
                 env: Mapping[str, str] | None = None, profiles: Iterable[str] = (),
                 env_file: str | os.PathLike | None = None) -> Project:
    """Load, interpolate, validate and resolve; raises ``ComposeFileError`` naming file and path."""
    files = [Path(f) for f in files or ()]
    if text is not None:
        sources = [load.Source(load.CELL, text)]
    else:
        if not files:
            files = load.find_files(working_dir or os.getcwd())
        sources = load.read_sources(files)
    base = Path(working_dir) if working_dir else (files[0].resolve().parent if files else Path.cwd())
    base = base.resolve()
    variables: dict[str, str | None] = dict(load.read_env_file(env_file) if env_file
                                             else load.read_env_file(base / ".env", required=False))
    variables.update(os.environ if env is None else env)
    from .extends import load_files  # include, extends, !reset/!override, the merge of the files

    warnings: list[str] = []
    merged = load_files(sources, base, variables, warnings, validate=models.validate)  # errors name the file
    model = models.validate(merged, ", ".join(s.name for s in sources))
    project_name = check_name(name) if name else (
        check_name(model.name) if model.name else
        check_name(variables["COMPOSE_PROJECT_NAME"]) if variables.get("COMPOSE_PROJECT_NAME") else
        check_name(normalize_name(base.name) or "default"))
    active_profiles = tuple(profiles) or tuple(p for p in (variables.get("COMPOSE_PROFILES") or "").split(",") if p)
    model = _resolve(model, base, variables)
    warnings += _ignored_as_docker_compose_does(model)
    services = {k: s for k, s in model.services.items()
                if not s.profiles or set(s.profiles) & set(active_profiles) or "*" in active_profiles}
    project = Project(project_name, model, str(base), tuple(str(Path(f).resolve()) for f in files),
                      active_profiles, tuple(warnings), services)
    _check(project)
    return project


def implicit_deps(svc: Service) -> set[str]:
    names = {link.partition(":")[0] for link in svc.links}
    names |= {v.partition(":")[0] for v in svc.volumes_from if not v.startswith("container:")}
    for value in (svc.network_mode, svc.ipc, svc.pid):
        if value and value.startswith("service:"):
            names.add(value.removeprefix("service:"))
    return names


def _absolute(path: str, base: Path) -> str:
    return str((base / Path(path).expanduser()).resolve()) if not path.startswith("/") else path


def _resolve(model: ComposeFile, base: Path, variables: Mapping[str, str | None]) -> ComposeFile:
    """env_file read into environment, relative paths made absolute."""
    services = {}
    for key, svc in model.services.items():
        env: dict[str, str | None] = {}
        for ref in svc.env_file:
            path = Path(_absolute(ref.path, base))
            if ref.format == "raw":  # values as written: no quotes removed, nothing interpolated
                env.update(load.read_raw_env_file(path, required=ref.required))
                continue
            values = load.read_env_file(path, required=ref.required)
            env.update(interpolate(values, variables, f"services.{key}.env_file"))
        env.update(svc.environment)
        env = {k: (v if v is not None else variables.get(k)) for k, v in env.items()}
        volumes = [m.model_copy(update={"source": _absolute(m.source, base)}) if m.type == "bind" else m
                   for m in svc.volumes]
        build = svc.build
        if build is not None and (build.context or not build.dockerfile_inline):
            build = build.model_copy(update={"context": _absolute(build.context or ".", base)})
        services[key] = svc.model_copy(update={"environment": env, "env_file": [], "volumes": volumes,
                                               "build": build})
    files = {kind: {k: _file_object(v, base, variables, f"{kind}.{k}") for k, v in getattr(model, kind).items()}
             for kind in ("configs", "secrets")}
    return model.model_copy(update={"services": services, **files})


def _file_object(obj, base: Path, variables: Mapping[str, str | None], where: str):
    """A config or secret with its file made absolute, or its ``environment`` read into ``content``."""
    if obj.file:
        return obj.model_copy(update={"file": _absolute(obj.file, base)})
    if obj.environment is not None and variables.get(obj.environment) is not None:
        return obj.model_copy(update={"content": variables[obj.environment]})  # config() prints environment
    return obj  # an unset variable is an error when a container needs it, as in docker compose


def _ignored_as_docker_compose_does(model: ComposeFile) -> list[str]:
    """One warning line per key that only a Swarm (or watch) acts on: docker compose ignores them too."""
    out = []
    for key, svc in model.services.items():
        where = f"services.{key}"
        if svc.deploy is not None:
            out += [f"{where}.deploy.{k}: only a Swarm uses it; ignored here, as docker compose does"
                    for k in svc.deploy.swarm_only()]
            if svc.deploy.labels:
                out.append(f"{where}.deploy.labels: labels of a Swarm service; ignored here, as docker compose does")
            policy = svc.deploy.restart_policy
            if policy is not None and (policy.delay or policy.window):
                out.append(f"{where}.deploy.restart_policy: delay and window are the Swarm's; the engine restarts "
                           "at once")
            reserve = svc.deploy.resources.reservations if svc.deploy.resources else None
            if reserve is not None and (reserve.cpus or reserve.generic_resources):
                out.append(f"{where}.deploy.resources.reservations: cpus and generic_resources are the Swarm's "
                           "scheduling; ignored here, as docker compose does")
        if svc.develop is not None:
            out.append(f"{where}.develop: watch is not implemented; the service runs without it")
    return out


def _check_refs(project: Project, key: str, svc: Service) -> None:
    """Services named by links, volumes_from, network_mode, ipc and pid exist and are active."""
    where = f"services.{key}"
    refs = [("links", link.partition(":")[0]) for link in svc.links]
    refs += [("volumes_from", v.partition(":")[0]) for v in svc.volumes_from if not v.startswith("container:")]
    refs += [(key_, value.removeprefix("service:")) for key_, value in
             (("network_mode", svc.network_mode), ("ipc", svc.ipc), ("pid", svc.pid))
             if value and value.startswith("service:")]
    for key_, name in refs:
        if name not in project.services:
            why = "is disabled by its profiles" if name in project.model.services else "is not a service of this file"
            raise ComposeFileError(f"{where}.{key_}: {name!r} {why}")


def _check(project: Project) -> None:
    model = project.model
    for key, svc in project.services.items():
        where = f"services.{key}"
        if not svc.image and svc.build is None:
            raise ComposeFileError(f"{where}: needs an image or a build")
        if svc.container_name and svc.replicas > 1:
            raise ComposeFileError(f"{where}: container_name {svc.container_name!r} allows one replica, "
                                   f"not {svc.replicas}")
        for dep, spec in list(svc.depends_on.items()):
            if dep not in project.services:
                if not spec.required:
                    del svc.depends_on[dep]
                    continue
                why = "is disabled by its profiles" if dep in model.services else "is not a service of this file"
                raise ComposeFileError(f"{where}.depends_on: {dep!r} {why}")
        _check_refs(project, key, svc)
        for net in svc.networks:
            if net != "default" and net not in model.networks:
                raise ComposeFileError(f"{where}.networks: {net!r} is not declared under the top-level networks")
        for i, mount in enumerate(svc.volumes):
            if mount.type == "volume" and mount.source and mount.source not in model.volumes:
                raise ComposeFileError(f"{where}.volumes[{i}]: named volume {mount.source!r} is not declared "
                                       "under the top-level volumes")
        for kind in ("secrets", "configs"):
            for i, ref in enumerate(getattr(svc, kind)):
                if ref.source not in getattr(model, kind):
                    raise ComposeFileError(f"{where}.{kind}[{i}]: {ref.source!r} is not declared under the "
                                           f"top-level {kind}")
    graph.check(project.deps)
