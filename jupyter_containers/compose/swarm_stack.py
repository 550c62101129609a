"""A compose file as a Swarm stack, the way ``docker stack deploy`` makes one.

``SwarmStack`` carries out a plan (``swarm_plan.py``): it creates what is missing, updates
only the services whose spec changed, waits until they converged, lists the stack's tasks
and removes it. Everything it makes carries ``com.docker.stack.namespace``, so stacks
deployed by the docker CLI are ours to list and remove, and ours are the CLI's.
"""

from __future__ import annotations

import base64
import copy
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from ..engine.errors import ContainersError, NotFound
from ..engine.swarm import NAMESPACE_LABEL, NotConverged, Progress
from .errors import ComposeError
from .execute import Event
from .project import Project, check_name

if TYPE_CHECKING:
    import pandas

    from ..engine import Engine

from .swarm_plan import IMAGE_LABEL, StackPlan, comparable, service_spec, service_warnings, stack_plan

# -- the executor --------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class SwarmStack:
    """One stack on a swarm manager: ``deploy`` needs the compose project (its name is the
    stack's); ``ps`` and ``remove`` work from the name alone, also on stacks of the docker CLI."""

    def __init__(self, engine: "Engine", project: Project | None = None, *, name: str | None = None,
                 on_event: Callable[[Event], None] | None = None):
        if project is None and name is None:
            raise ComposeError("give a stack name (-p NAME) or a compose file")
        if project is not None and name is not None and name != project.name:
            raise ComposeError(f"the project is named {project.name}, not {name}")
        self.engine = engine
        self.project = project
        self.name = check_name(project.name if project is not None else name)
        self.on_event = on_event or (lambda event: None)
        self._plan: StackPlan | None = None
        self._shown: dict[str, str] = {}

    @classmethod
    def from_text(cls, engine: "Engine", text: str, name: str, *, on_event: Callable[[Event], None] | None = None,
                  **load_options) -> "SwarmStack":
        """The stack ``name`` of a compose file's text (``load_options`` as ``load_project``'s)."""
        from .project import load_project

        return cls(engine, load_project(text=text, name=name, **load_options), on_event=on_event)

    @property
    def _filters(self) -> dict:
        return {"label": [f"{NAMESPACE_LABEL}={self.name}"]}

    @property
    def plan(self) -> StackPlan:
        if self._plan is None:
            if self.project is None:
                raise ComposeError("deploying a stack needs the compose file (a cell body or -f FILE)")
            self._plan = stack_plan(self.project, self.engine.api._version, self.engine.labels)
        return self._plan

    @property
    def warnings(self) -> list[str]:
        return list(self.plan.warnings)

    def services(self) -> list[dict]:
        """The stack's services, as the engine inspects them (``NotSwarmManager`` when it cannot)."""
        return sorted(self.engine.services.list(filters=self._filters, status=False), key=lambda s: s["Spec"]["Name"])

    def _emit(self, service: str, action: str, detail: str = "") -> None:
        self.on_event(Event(service, action, None, detail))

    # -- deploy ---------------------------------------------------------------------------------
    def deploy(self, *, detach: bool = False, timeout: float = 120.0, stable: float = 1.0,
               prune: bool = False) -> dict[str, str]:
        """Create or update the stack; each service's name -> created, updated or unchanged (and
        removed ones with ``prune``). Unless ``detach``, wait until every service converged;
        ``NotConverged`` after ``timeout`` s, in one line with the tasks' errors."""
        plan = self.plan  # every error in the file before anything is made
        existing = {s["Spec"]["Name"]: s for s in self.services()}  # and here: not a manager
        self._check_external(plan.external_networks)
        names = self._networks(plan.networks)
        configs = self._objects("config", plan.configs)
        secrets = self._objects("secret", plan.secrets)
        results: dict[str, str] = {}
        for service, wanted in plan.services.items():
            wanted = copy.deepcopy(wanted)
            container = wanted["TaskTemplate"]["ContainerSpec"]
            for ref in container.get("Configs") or ():
                ref["ConfigID"] = configs[ref["ConfigName"]]
            for ref in container.get("Secrets") or ():
                ref["SecretID"] = secrets[ref["SecretName"]]
            current = existing.pop(wanted["Name"], None)
            if current is None:
                self.engine.services.create(wanted)
                results[wanted["Name"]] = "created"
            elif comparable(wanted, names) != comparable(current["Spec"], names):
                force = (current["Spec"].get("TaskTemplate") or {}).get("ForceUpdate", 0)
                wanted["TaskTemplate"]["ForceUpdate"] = force  # as docker stack deploy: no restart asked for
                self.engine.services.update(current["ID"], wanted)
                results[wanted["Name"]] = "updated"
            else:
                results[wanted["Name"]] = "unchanged"
            self._emit(wanted["Name"], results[wanted["Name"]])
        if prune:
            for name, service in existing.items():
                self.engine.services.remove(service["ID"])
                results[name] = "removed"
                self._emit(name, "removed")
        if not detach:
            self.converge([n for n, r in results.items() if r != "removed"], timeout=timeout, stable=stable)
        return results

    def _check_external(self, names: Iterable[str]) -> None:
        for name in names:
            if name in ("bridge", "host", "none"):
                continue
            try:
                found = self.engine.networks.inspect(name)
            except NotFound:
                raise ComposeError(f"network {name} is declared as external, but could not be found; create a "
                                   "swarm-scoped network before the stack is deployed") from None
            if found.get("Scope") != "swarm":
                raise ComposeError(f"network {name} is declared as external, but it is not in the right scope: "
                                   f"{found.get('Scope')!r} instead of 'swarm'")

    def _networks(self, wanted: Mapping[str, dict]) -> dict[str, str]:
        """Create the stack's networks that are missing; every network's id -> name."""
        have = {n.name for n in self.engine.networks.list(filters=self._filters)}
        for name, options in wanted.items():
            if name not in have:
                self.engine.networks.create(name, **options)
                self._emit(name, "created", "network")
        return {n.id: n.name for n in self.engine.networks.list()}

    def _objects(self, kind: str, wanted: Mapping[str, tuple[bytes, dict]]) -> dict[str, str]:
        """Create the configs (secrets) that are missing, update the labels of those that are there
        (their data cannot change); every one's name -> id."""
        api = self.engine.api
        listing = api.configs if kind == "config" else api.secrets
        with self.engine.translated(f"{kind} ls"):
            have = {o["Spec"]["Name"]: o for o in listing()}
        for name, (data, labels) in wanted.items():
            labels = {**self.engine.labels, **labels}
            if name in have:
                obj = have[name]
                if kind == "config" and base64.b64decode(obj["Spec"].get("Data") or "") != data:
                    raise ComposeError(f"config {name} exists with other content, and a config cannot change: "
                                       f"remove the stack first (%compose down --swarm -p {self.name})")
                body = {**obj["Spec"], "Labels": labels}
                with self.engine.translated(f"{kind} update", kind, name):
                    response = api._post_json(api._url(f"/{kind}s/{{0}}/update", obj["ID"]), data=body,
                                              params={"version": obj["Version"]["Index"]})
                    api._raise_for_status(response)
                continue
            create = api.create_config if kind == "config" else api.create_secret
            with self.engine.translated(f"{kind} create", kind, name):
                have[name] = {"ID": create(name, data, labels=labels)["ID"]}
            self._emit(name, "created", kind)
        return {name: obj["ID"] for name, obj in have.items()}

    def converge(self, names: Iterable[str], *, timeout: float = 120.0, stable: float = 1.0) -> None:
        """Wait until each service converged, all at once; the first failure (and how many more) in one line."""
        names = list(names)
        if not names:
            return
        errors = []
        with ThreadPoolExecutor(min(16, len(names))) as pool:
            futures = [pool.submit(self.engine.services.converge, n, timeout=timeout, stable=stable,
                                   on_progress=self._progress) for n in names]
            for future in futures:
                try:
                    future.result()
                except NotConverged as exc:
                    errors.append(_one_line(exc))
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise NotConverged(f"{errors[0]}{more}")

    def _progress(self, progress: Progress) -> None:
        text = str(progress).partition(": ")[2]
        if self._shown.get(progress.service) != text:
            self._shown[progress.service] = text
            self._emit(progress.service, "converging" if progress.running != progress.desired else "running", text)

    # -- ps and remove --------------------------------------------------------------------------
    def ps(self, services: Iterable[str] = ()) -> "pandas.DataFrame":
        """The stack's tasks (``docker stack ps``): name, service, slot, node, image, desired_state,
        current_state, since, error; newest first within each slot."""
        import pandas as pd

        wanted = set(services)
        found = [s for s in self.services() if not wanted or _descoped(self.name, s["Spec"]["Name"]) in wanted
                 or s["Spec"]["Name"] in wanted]
        columns = ["name", "service", "slot", "node", "image", "desired_state", "current_state", "since", "error"]
        tasks = self.engine.services.tasks(filters={"service": [s["ID"] for s in found]}) if found else []
        names = {s["ID"]: s["Spec"]["Name"] for s in found}
        nodes = {n["ID"]: (n.get("Description") or {}).get("Hostname", n["ID"][:12])
                 for n in self.engine.nodes.list()} if tasks else {}
        rows = []
        for task in tasks:
            service = names.get(task.get("ServiceID"), "")
            status = task.get("Status") or {}
            slot = task.get("Slot")
            image = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")
            rows.append((f"{service}.{slot or task.get('NodeID', '')}", _descoped(self.name, service), slot,
                         nodes.get(task.get("NodeID"), task.get("NodeID") or ""), image.split("@sha256:")[0],
                         task.get("DesiredState", ""), status.get("State", ""), status.get("Timestamp"),
                         _one_line(status.get("Err") or "")))
        frame = pd.DataFrame(rows, columns=columns)
        frame["since"] = pd.to_datetime(frame["since"], utc=True, format="ISO8601")
        frame = frame.sort_values(["service", "slot", "node", "since"], ascending=[True, True, True, False],
                                  na_position="last", kind="stable")
        frame["slot"] = frame["slot"].astype("Int64")
        return frame.reset_index(drop=True)

    def remove(self, *, timeout: float = 60.0, volumes: bool = False) -> dict[str, list[str]]:
        """Remove the stack's services, then (once their containers here are gone) its networks,
        configs and secrets, and with ``volumes`` its volumes: what was removed, by kind."""
        removed: dict[str, list[str]] = {"services": [], "networks": [], "configs": [], "secrets": [], "volumes": []}
        ids = set()
        for service in self.services():
            self.engine.services.remove(service["ID"])
            ids.add(service["ID"])
            removed["services"].append(service["Spec"]["Name"])
            self._emit(service["Spec"]["Name"], "removed")
        self._wait_gone(ids, timeout)
        api = self.engine.api
        for kind, listing, remove in (("secret", api.secrets, api.remove_secret),
                                      ("config", api.configs, api.remove_config)):
            with self.engine.translated(f"{kind} ls"):
                found = listing(filters=self._filters)
            for obj in found:
                try:
                    with self.engine.translated(f"{kind} rm", kind, obj["Spec"]["Name"]):
                        remove(obj["ID"])
                except NotFound:
                    pass
                removed[kind + "s"].append(obj["Spec"]["Name"])
        for network in self.engine.networks.list(filters=self._filters):
            self._remove_network(network.id, timeout)
            removed["networks"].append(network.name)
        if volumes:
            for volume in self.engine.volumes.list(filters=self._filters):
                self.engine.volumes.remove(volume.name, force=True, missing_ok=True)
                removed["volumes"].append(volume.name)
        return removed

    def _wait_gone(self, services: set[str], timeout: float) -> None:
        """Until the removed services' tasks (a task being prepared still makes its volumes) and
        the stack's containers here are gone."""
        deadline = time.monotonic() + timeout
        while True:
            left = [c.name for c in self.engine.containers.list(all=True, filters=self._filters)]
            if services and not left:
                with self.engine.translated("service ps"):
                    left = [t["ID"] for t in self.engine.api.tasks() if t.get("ServiceID") in services]
            if not left:
                return
            if time.monotonic() > deadline:
                raise ComposeError(f"stack {self.name}: {len(left)} task(s) or container(s) still there after "
                                   f"{timeout:g} s: {', '.join(sorted(left)[:3])}")
            time.sleep(0.2)

    def _remove_network(self, ref: str, timeout: float) -> None:
        """An overlay network stays busy a moment after the last container left it."""
        deadline = time.monotonic() + min(timeout, 15.0)
        while True:
            try:
                self.engine.networks.remove(ref, missing_ok=True)
                return
            except ContainersError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)


def _descoped(stack: str, name: str) -> str:
    return name[len(stack) + 1:] if name.startswith(stack + "_") else name


# -- for callers that have a compose text ----------------------------------------------------------
def deploy_stack(engine: "Engine", text: str, name: str, *, detach: bool = False, timeout: float = 120.0,
                 on_event: Callable[[Event], None] | None = None, **load_options) -> SwarmStack:
    """``docker stack deploy -c <text> NAME``: the deployed (and, unless ``detach``, converged) stack."""
    stack = SwarmStack.from_text(engine, text, name, on_event=on_event, **load_options)
    stack.deploy(detach=detach, timeout=timeout)
    return stack


def remove_stack(engine: "Engine", name: str, *, timeout: float = 60.0, volumes: bool = False) -> dict[str, list[str]]:
    """``docker stack rm NAME``, waiting until its containers here are gone."""
    return SwarmStack(engine, name=name).remove(timeout=timeout, volumes=volumes)


__all__ = ["IMAGE_LABEL", "StackPlan", "SwarmStack", "comparable", "deploy_stack", "remove_stack",
           "service_spec", "service_warnings", "stack_plan"]
