"""ContainersPolicy: what the REST API and the magics may ask of the engine.

A guard rail for shared deployments (JupyterHub), NOT a security boundary:
anyone whose code can reach the engine's socket directly (a terminal, or
``import docker`` in a kernel) can do whatever the engine allows. Use it to
keep well-meaning users from escaping their container by accident, and use
rootless engines, user namespaces or a socket proxy when you need isolation.

Configure it as traitlets config (``c.ContainersPolicy.profile = "hub"`` in
jupyter_server_config.py or ipython_config.py) or with the environment variable
``JUPYTER_CONTAINERS_POLICY=hub`` that the server and its kernels inherit.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

from traitlets import Bool, List, Set, Unicode, default
from traitlets.config import Configurable

from .engine import PolicyDenied

ACTIONS = {"list", "inspect", "logs", "run", "start", "stop", "restart", "pause", "unpause", "kill",
           "remove", "exec", "pull", "push", "build", "remove-image", "compose", "tag", "login", "volume",
           "network", "registry-delete"}


# %container subcommands -> the action they need; the ones not named only read ("list")
COMMAND_ACTIONS = {"run": "run", "create": "run", "start": "start", "stop": "stop", "restart": "restart",
                   "kill": "kill", "pause": "pause", "unpause": "unpause", "rm": "remove", "prune": "remove",
                   "rename": "run", "logs": "logs", "exec": "exec", "pull": "pull", "push": "push",
                   "build": "build", "rmi": "remove-image", "inspect": "inspect", "top": "inspect",
                   "tag": "tag", "login": "login", "logout": "login", "registry rm": "registry-delete",
                   "volume create": "volume", "volume rm": "volume", "volume prune": "volume",
                   "network create": "network", "network rm": "network", "network prune": "network",
                   "network connect": "network", "network disconnect": "network", "attach": "exec",
                   "cp": "exec", "export": "exec", "diff": "inspect", "commit": "build", "import": "build",
                   "load": "build", "save": "list", "update": "run", "checkpoint": "run",
                   "swarm init": "run", "swarm join": "run", "swarm update": "run", "swarm leave": "remove",
                   "swarm join-token": "inspect", "swarm info": "inspect", "node update": "run",
                   "node rm": "remove", "service create": "run", "service update": "run", "service scale": "run",
                   "service rollback": "run", "service rm": "remove"}
# %compose subcommands -> what they need besides "compose"
COMPOSE_ACTIONS = {"up": "run", "scale": "run", "down": "remove", "stop": "stop", "start": "start",
                   "restart": "restart", "exec": "exec", "logs": "logs", "pull": "pull", "build": "build",
                   "run": "run", "create": "run", "kill": "kill", "rm": "remove", "pause": "pause",
                   "unpause": "unpause", "top": "inspect", "port": "inspect", "images": "inspect", "cp": "exec",
                   "events": "list", "wait": "list", "version": "list"}


def action_of(prefix: str, command: str) -> tuple[str, ...]:
    """The policy actions a magic's subcommand needs: ``compose ...`` needs "compose" and what the verb
    does (``compose exec`` is an exec), ``container volume create`` needs "volume"."""
    if prefix == "compose":
        return ("compose", *((COMPOSE_ACTIONS[command],) if command in COMPOSE_ACTIONS else ()))
    return (COMMAND_ACTIONS.get(command) or COMMAND_ACTIONS.get(command.split()[-1]) or "list",)


class ContainersPolicy(Configurable):
    """Which actions are allowed, and which escapes from a container may be requested."""

    profile = Unicode(help="'personal' (default: all a docker CLI user can do) or 'hub' (no escapes)",
                      config=True)
    allowed_actions = Set(Unicode(), config=True, help=f"Actions allowed through the API and magics: {sorted(ACTIONS)}")
    allow_privileged = Bool(config=True, help="May a container run --privileged?")
    allow_host_network = Bool(config=True, help="May a container use the host's network?")
    allow_host_pid = Bool(config=True, help="May a container use the host's PID namespace?")
    allow_cap_add = Bool(config=True, help="May a container add Linux capabilities?")
    allow_host_namespaces = Bool(config=True, help="May a container share the host's IPC, UTS, user or cgroup "
                                                   "namespace (--ipc/--uts/--userns/--cgroupns host)?")
    allow_devices = Bool(config=True, help="May a container be given host devices (--device)?")
    allow_unconfined = Bool(config=True, help="May a container run without seccomp, AppArmor or SELinux "
                                              "confinement (--security-opt ...=unconfined, label=disable)?")
    allowed_bind_paths = List(Unicode(), allow_none=True, config=True,
                              help="Host paths under which bind mounts are allowed; None: anywhere")

    @default("profile")
    def _profile(self):
        return os.environ.get("JUPYTER_CONTAINERS_POLICY", "personal")

    def _hub(self) -> bool:
        return self.profile == "hub"

    @default("allowed_actions")
    def _actions(self):
        return set(ACTIONS)

    @default("allow_privileged")
    def _privileged(self):
        return not self._hub()

    @default("allow_host_network")
    def _host_network(self):
        return not self._hub()

    @default("allow_host_pid")
    def _host_pid(self):
        return not self._hub()

    @default("allow_cap_add")
    def _cap_add(self):
        return not self._hub()

    @default("allow_host_namespaces")
    def _host_namespaces(self):
        return not self._hub()

    @default("allow_devices")
    def _devices(self):
        return not self._hub()

    @default("allow_unconfined")
    def _unconfined(self):
        return not self._hub()

    @default("allowed_bind_paths")
    def _bind_paths(self):
        return [str(PurePosixPath(os.path.expanduser("~")))] if self._hub() else None

    def check_action(self, *actions: str) -> None:
        for action in actions:
            if action not in self.allowed_actions:
                raise PolicyDenied(f"the {action!r} action is not allowed here (ContainersPolicy.allowed_actions)",
                                   status=403, operation=action)

    def check_create(self, *, privileged: bool = False, network: str | None = None, pid_mode: str | None = None,
                     cap_add=None, volumes=None, mounts=None, networks=None, ipc_mode: str | None = None,
                     uts_mode: str | None = None, userns_mode: str | None = None, cgroupns: str | None = None,
                     devices=None, security_opt=None, **_ignored) -> None:
        """Refuse a container the policy does not allow; the message names the rule."""
        self.check_action("run")
        refuse = lambda what, rule: PolicyDenied(  # noqa: E731
            f"{what} is not allowed here (ContainersPolicy.{rule} is off)", status=403, operation="run")
        if privileged and not self.allow_privileged:
            raise refuse("a privileged container", "allow_privileged")
        if "host" in {network, *(networks or ())} and not self.allow_host_network:
            raise refuse("the host's network", "allow_host_network")
        if pid_mode == "host" and not self.allow_host_pid:
            raise refuse("the host's PID namespace", "allow_host_pid")
        if cap_add and not self.allow_cap_add:
            raise refuse("adding capabilities", "allow_cap_add")
        shared = [flag for flag, mode in (("--ipc", ipc_mode), ("--uts", uts_mode), ("--userns", userns_mode),
                                          ("--cgroupns", cgroupns)) if mode == "host"]
        if shared and not self.allow_host_namespaces:
            raise refuse(f"the host's namespaces ({', '.join(f + ' host' for f in shared)})", "allow_host_namespaces")
        if devices and not self.allow_devices:
            raise refuse("a host device", "allow_devices")
        if any(_unconfined(opt) for opt in security_opt or ()) and not self.allow_unconfined:
            raise refuse("a container without confinement (security-opt)", "allow_unconfined")
        if self.allowed_bind_paths is not None:
            for source in _bind_sources(volumes, mounts):
                if not any(_under(source, root) for root in self.allowed_bind_paths):
                    allowed = ", ".join(self.allowed_bind_paths) or "nowhere"
                    raise PolicyDenied(f"a bind mount of {source} is not allowed here; allowed under: {allowed} "
                                       "(ContainersPolicy.allowed_bind_paths)", status=403, operation="run")

    def check_spec(self, spec) -> None:
        """Refuse a ContainerSpec the policy does not allow (``docker run`` flags, compose services)."""
        self.check_create(privileged=bool(spec.privileged), networks=spec.networks(), pid_mode=spec.pid_mode,
                          cap_add=spec.cap_add, ipc_mode=spec.ipc_mode, uts_mode=spec.uts_mode,
                          userns_mode=spec.userns_mode, cgroupns=spec.cgroupns_mode,
                          devices=spec.devices or spec.device_requests or spec.device_cgroup_rules,
                          security_opt=spec.security_opt, volumes=spec.binds, mounts=spec.mounts)
        for mount in spec.mounts or ():
            driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
            if mount.get("Type") == "volume" and driver.get("Options"):
                self.check_volume(driver.get("Name"), driver["Options"], mount.get("Source") or "")

    def check_volume(self, driver: str | None = None, options: dict | None = None, name: str = "") -> None:
        """Refuse a volume whose driver options mount a host path the bind rule would refuse
        (``local`` with ``type: none, o: bind, device: /etc`` is a bind mount by another name)."""
        options = options or {}
        device = options.get("device")
        if self.allowed_bind_paths is None or not device or options.get("type") == "tmpfs":
            return
        source = os.path.realpath(os.path.expanduser(str(device)))
        if options.get("type") in (None, "", "none", "bind") or "bind" in str(options.get("o", "")).split(","):
            if any(_under(source, root) for root in self.allowed_bind_paths):
                return
        allowed = ", ".join(self.allowed_bind_paths) or "nowhere"
        raise PolicyDenied(f"volume {name + ' ' if name else ''}mounts {device} from the host (driver options); "
                           f"allowed under: {allowed} (ContainersPolicy.allowed_bind_paths)",
                           status=403, operation="volume")

    def check_project(self, project) -> None:
        """Refuse a compose project with a service or a volume the policy would not allow (before anything is made)."""
        self.check_action("compose")
        for service in project.services:
            try:
                self.check_spec(project.create_spec(service, 1))
            except PolicyDenied as exc:
                raise PolicyDenied(f"service {service}: {exc}", status=403, operation="compose") from None
        for key, spec in project.model.volumes.items():
            if spec is not None and not spec.external:
                self.check_volume(spec.driver, spec.driver_opts, project.volume_name(key))


def _bind_sources(volumes, mounts=None) -> list[str]:
    """Host paths among docker-style volume specs ("SRC:DST[:MODE]", SRC absolute or relative)
    and the Engine's mount objects of type bind."""
    sources = [os.path.realpath(m["Source"]) for m in mounts or () if m.get("Type") == "bind"]
    for spec in volumes or ():
        parts = str(spec).split(":")
        if len(parts) >= 2 and parts[0].startswith(("/", ".", "~")):
            sources.append(os.path.realpath(os.path.expanduser(parts[0])))
    return sources


def _unconfined(option: str) -> bool:
    """``seccomp=unconfined``, ``apparmor:unconfined``, ``label=disable``, ``systempaths=unconfined``..."""
    value = str(option).replace(":", "=", 1).partition("=")[2]
    return value in ("unconfined", "disable")


def _under(path: str, root: str) -> bool:
    root = os.path.realpath(os.path.expanduser(root))
    return path == root or path.startswith(root.rstrip("/") + "/")
