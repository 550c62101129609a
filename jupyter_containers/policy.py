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
           "remove", "exec", "pull", "push", "build", "remove-image", "compose"}


# %container subcommands -> the action they need; the rest only read ("list")
COMMAND_ACTIONS = {"run": "run", "create": "run", "start": "start", "stop": "stop", "restart": "restart",
                   "kill": "kill", "pause": "pause", "unpause": "unpause", "rm": "remove", "prune": "remove",
                   "logs": "logs", "exec": "exec", "pull": "pull", "push": "push", "build": "build",
                   "rmi": "remove-image", "inspect": "inspect"}


def action_of(prefix: str, command: str) -> str:
    """The policy action a magic's subcommand needs (``compose ...`` needs "compose")."""
    if prefix == "compose":
        return "compose"
    return COMMAND_ACTIONS.get(command) or COMMAND_ACTIONS.get(command.split()[-1]) or "list"


class ContainersPolicy(Configurable):
    """Which actions are allowed, and which escapes from a container may be requested."""

    profile = Unicode(help="'personal' (default: all a docker CLI user can do) or 'hub' (no escapes)",
                      config=True)
    allowed_actions = Set(Unicode(), config=True, help=f"Actions allowed through the API and magics: {sorted(ACTIONS)}")
    allow_privileged = Bool(config=True, help="May a container run --privileged?")
    allow_host_network = Bool(config=True, help="May a container use the host's network?")
    allow_host_pid = Bool(config=True, help="May a container use the host's PID namespace?")
    allow_cap_add = Bool(config=True, help="May a container add Linux capabilities?")
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

    @default("allowed_bind_paths")
    def _bind_paths(self):
        return [str(PurePosixPath(os.path.expanduser("~")))] if self._hub() else None

    def check_action(self, action: str) -> None:
        if action not in self.allowed_actions:
            raise PolicyDenied(f"the {action!r} action is not allowed here (ContainersPolicy.allowed_actions)",
                               status=403, operation=action)

    def check_create(self, *, privileged: bool = False, network: str | None = None, pid_mode: str | None = None,
                     cap_add=None, volumes=None, mounts=None, **_ignored) -> None:
        """Refuse a container the policy does not allow; the message names the rule."""
        self.check_action("run")
        refuse = lambda what, rule: PolicyDenied(  # noqa: E731
            f"{what} is not allowed here (ContainersPolicy.{rule} is off)", status=403, operation="run")
        if privileged and not self.allow_privileged:
            raise refuse("a privileged container", "allow_privileged")
        if network == "host" and not self.allow_host_network:
            raise refuse("the host's network", "allow_host_network")
        if pid_mode == "host" and not self.allow_host_pid:
            raise refuse("the host's PID namespace", "allow_host_pid")
        if cap_add and not self.allow_cap_add:
            raise refuse("adding capabilities", "allow_cap_add")
        if self.allowed_bind_paths is not None:
            for source in _bind_sources(volumes, mounts):
                if not any(_under(source, root) for root in self.allowed_bind_paths):
                    allowed = ", ".join(self.allowed_bind_paths) or "nowhere"
                    raise PolicyDenied(f"a bind mount of {source} is not allowed here; allowed under: {allowed} "
                                       "(ContainersPolicy.allowed_bind_paths)", status=403, operation="run")

    def check_project(self, project) -> None:
        """Refuse a compose project with a service the policy would not let run (before anything is made)."""
        self.check_action("compose")
        for service in project.services:
            try:
                self.check_create(**project.create_options(service, 1))
            except PolicyDenied as exc:
                raise PolicyDenied(f"service {service}: {exc}", status=403, operation="compose") from None


def _bind_sources(volumes, mounts=None) -> list[str]:
    """Host paths among docker-style volume specs ("SRC:DST[:MODE]", SRC absolute or relative)
    and the Engine's mount objects of type bind."""
    sources = [os.path.realpath(m["Source"]) for m in mounts or () if m.get("Type") == "bind"]
    for spec in volumes or ():
        parts = str(spec).split(":")
        if len(parts) >= 2 and parts[0].startswith(("/", ".", "~")):
            sources.append(os.path.realpath(os.path.expanduser(parts[0])))
    return sources


def _under(path: str, root: str) -> bool:
    root = os.path.realpath(os.path.expanduser(root))
    return path == root or path.startswith(root.rstrip("/") + "/")
