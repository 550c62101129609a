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
        return {name: set(svc.depends_on) for name, svc in self.services.items()}

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

    def create_options(self, service: str, number: int) -> dict:
        """Keyword arguments for ``engine.containers.create`` (the image aside)."""
        svc = self.services[service]
        ports: dict[str, list] = {}
        for p in svc.ports:
            ports.setdefault(f"{p.target}/{p.protocol}", []).append((p.host_ip or "", p.published or ""))
        binds, mounts = [], []
        for m in svc.volumes:
            if m.type == "bind" and (m.bind is None or m.bind.get("create_host_path", True)):
                binds.append(f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}")
            elif m.type == "bind":
                mounts.append({"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only})
            elif m.type == "volume":
                mount = {"Type": "volume", "Target": m.target, "ReadOnly": m.read_only,
                         "Source": self.volume_name(m.source) if m.source else ""}
                if m.volume and m.volume.get("nocopy"):
                    mount["VolumeOptions"] = {"NoCopy": True}
                mounts.append(mount)
            else:
                mounts.append({"Type": "tmpfs", "Target": m.target,
                               **({"TmpfsOptions": {"SizeBytes": m.tmpfs["size"]}} if m.tmpfs else {})})
        for kind, refs, default_dir in (("secrets", svc.secrets, "/run/secrets/"), ("configs", svc.configs, "/")):
            for ref in refs:
                source = getattr(self.model, kind)[ref.source].file
                target = ref.target if (ref.target or "").startswith("/") else default_dir + (ref.target or ref.source)
                binds.append(f"{source}:{target}:ro")
        health = None
        if svc.healthcheck is not None:
            h = svc.healthcheck
            ns = lambda s: int(s * 1e9) if s is not None else None  # noqa: E731
            health = {"test": ["NONE"]} if h.disable else {
                "test": h.test, "interval": ns(h.interval), "timeout": ns(h.timeout), "retries": h.retries,
                "start_period": ns(h.start_period)}
        limits = svc.deploy.resources.limits if svc.deploy and svc.deploy.resources else None
        env = {k: v for k, v in svc.environment.items() if v is not None}
        return dict(
            command=svc.command, entrypoint=svc.entrypoint, name=self.container_name(service, number),
            env=env or None, ports=ports or None, volumes=binds or None, mounts=mounts or None,
            labels=self.container_labels(service, number), workdir=svc.working_dir, user=svc.user,
            restart=svc.restart, cpus=(limits.cpus if limits and limits.cpus else svc.cpus),
            memory=(limits.memory if limits and limits.memory else svc.mem_limit),
            hostname=svc.hostname, privileged=bool(svc.privileged), tty=bool(svc.tty),
            stdin_open=bool(svc.stdin_open), healthcheck=health, init=svc.init,
            cap_add=svc.cap_add or None, cap_drop=svc.cap_drop or None, extra_hosts=svc.extra_hosts or None,
            ulimits={k: (u.soft, u.hard) for k, u in svc.ulimits.items()} or None,
            tmpfs=svc.tmpfs or None, read_only=bool(svc.read_only), stop_signal=svc.stop_signal,
            stop_timeout=int(svc.stop_grace_period) if svc.stop_grace_period is not None else None,
            networks=self.networks_of(service), expose=svc.expose or None,
            pull="never" if svc.build is not None or svc.pull_policy == "never" else "missing")

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
    warnings: list[str] = []
    documents = []
    for source in sources:
        data = interpolate(load.parse(source), variables, "", warnings)
        models.validate(data, source.name)  # errors name this file
        documents.append(data)
    merged = load.merge(documents)
    model = models.validate(merged, ", ".join(s.name for s in sources))
    project_name = check_name(name) if name else (
        check_name(model.name) if model.name else
        check_name(variables["COMPOSE_PROJECT_NAME"]) if variables.get("COMPOSE_PROJECT_NAME") else
        check_name(normalize_name(base.name) or "default"))
    active_profiles = tuple(profiles) or tuple(p for p in (variables.get("COMPOSE_PROFILES") or "").split(",") if p)
    model = _resolve(model, base, variables)
    services = {k: s for k, s in model.services.items()
                if not s.profiles or set(s.profiles) & set(active_profiles) or "*" in active_profiles}
    project = Project(project_name, model, str(base), tuple(str(Path(f).resolve()) for f in files),
                      active_profiles, tuple(warnings), services)
    _check(project)
    return project


def _absolute(path: str, base: Path) -> str:
    return str((base / Path(path).expanduser()).resolve()) if not path.startswith("/") else path


def _resolve(model: ComposeFile, base: Path, variables: Mapping[str, str | None]) -> ComposeFile:
    """env_file read into environment, relative paths made absolute."""
    services = {}
    for key, svc in model.services.items():
        env: dict[str, str | None] = {}
        for ref in svc.env_file:
            path = Path(_absolute(ref.path, base))
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
    files = {kind: {k: v.model_copy(update={"file": _absolute(v.file, base)})
                    for k, v in getattr(model, kind).items()} for kind in ("configs", "secrets")}
    return model.model_copy(update={"services": services, **files})


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
