"""``%container service ...``: Swarm services from cells, with the docker CLI's verbs and flags (``swarm`` and
``node`` are in ``node_commands``).

``service create/update/scale/rollback`` wait until the tasks match the spec, as the CLI does
(``--detach=false``, its default since 20.10), with a progress line; ``-d`` returns at once and
``--timeout`` ends the wait in one line with the tasks' errors (the service stays, as the CLI's does).
The flags become a ServiceSpec in ``engine/service_spec.py``; a bad one ends the cell before anything
is made.
"""

from __future__ import annotations

import argparse
import base64
import json
import time

import pandas as pd

from ..engine import InvalidArgument
from ..engine import service_spec as ss
from ..engine import spec_parse as sp
from ..engine.swarm import NotConverged
from . import gotemplate as gt
from .container import container_commands as cli
from .display import JSONView, StatusLine, Text
from .pump import pumped
from .registry import arg, boolean, positive, tail, valid, value

REST = argparse.REMAINDER
STABLE = 1.0  # seconds the tasks must stay as the spec says before a wait ends (the CLI waits 5)
TIMEOUT = 120.0


# -- argument types ---------------------------------------------------------------------------------
def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of 0 or more")
    return int(text)


def ratio(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:  # NaN too
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 to 1")
    return number


def flag(*flags: str, default=None, help: str = ""):
    """A boolean flag as the CLI's: ``--init``, ``--init=true``, ``--init=false`` (never the next word)."""
    return arg(*flags, type=boolean, nargs="?", const=True, default=default, metavar="BOOL", help=help)


def many(*flags: str, metavar: str = "VALUE", **options):
    return arg(*flags, action="append", default=[], metavar=metavar, **options)


def duration(name: str, help: str):
    return arg(name, type=value(sp.parse_duration, name), metavar="DURATION", help=f"{help} (ns|us|ms|s|m|h)")


def prepared(arguments, stop_at_positional: bool):
    """The words rewritten so that argparse reads them as pflag does: a bare boolean flag (``--init``, ``-d``,
    ``-dq``) becomes ``--init=true``, so that it never takes the next word as its value; with
    ``stop_at_positional`` the first positional (the image) ends the options: what follows is the command."""
    booleans, takes_value = {}, set()
    for names, options in arguments:
        longs = [n for n in names if n.startswith("--")]
        for name in names:
            if not name.startswith("-"):
                continue
            if options.get("type") is boolean:
                booleans[name] = longs[0] if longs else name
            else:
                takes_value.add(name)

    def prepare(words: list[str]) -> list[str]:
        out, i = [], 0
        while i < len(words):
            word = words[i]
            name, eq, setting = word.partition("=")
            if word == "--" or not word.startswith("-") or word == "-":
                if word == "--" or stop_at_positional:
                    return out + words[i:]
                out.append(word)
            elif name in booleans:
                out.append(f"{booleans[name]}={setting if eq else 'true'}")
            elif not name.startswith("--") and len(name) > 2 and all(f"-{c}" in booleans for c in name[1:]):
                out += [f"{booleans['-' + c]}=true" for c in name[1:]]  # -dq
            else:
                out.append(word)
                if name in takes_value and not eq and (name.startswith("--") or len(word) == 2):
                    out += words[i + 1:i + 2]
                    i += 1
            i += 1
        return out
    return prepare


# -- progress ---------------------------------------------------------------------------------------
class ConvergeProgress(StatusLine):
    """Where a service is on its way to its spec: one line rewritten in place, a label in a notebook."""

    def __init__(self, style: str = "auto"):
        super().__init__(style)
        self._last = ""

    def __call__(self, progress) -> None:
        text = str(progress) + (f" ({progress.errors[0]})" if progress.errors and progress.running
                                < progress.desired else "")
        if text != self._last:
            self._last = text
            self.show(text)


def _wait(ctx, args, ref: str, name: str, rollback: bool = False, before: dict | None = None) -> None:
    """Unless ``-d``: wait until ``ref`` converges, showing where it is; one line when it does not, or when
    an update (its UpdateStatus no longer ``before``) was rolled back by its failure action."""
    if args.detach:
        return
    progress = ConvergeProgress("none" if args.quiet else ctx.progress)
    services = ctx.engine.services
    try:
        final = services.converge(ref, timeout=args.timeout, stable=STABLE, on_progress=progress)
    except KeyboardInterrupt:
        progress.fail()
        print(f"stopped waiting: service {name} goes on converging (%container service ps {name})", flush=True)
        return
    except BaseException:
        progress.fail()
        raise
    status = services.inspect(ref).get("UpdateStatus") or {}
    if not rollback and str(status.get("State", "")).startswith("rollback") and status != (before or {}):
        progress.fail()
        raise NotConverged(f"service {name}: the update failed and was rolled back: {status.get('Message', '')}")
    progress.finish(f"{final}: converged")


def _auth(ctx, image: str) -> str:
    """The X-Registry-Auth the CLI sends with a service: the kernel's (or the CLI's saved) login, or none."""
    return base64.urlsafe_b64encode(json.dumps(ctx.auth_for(image) or {}).encode()).decode()


def _check_policy(ctx, spec: dict) -> None:
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    mounts = container.get("Mounts") or []
    ctx.policy.check_create(mounts=mounts, cap_add=container.get("CapabilityAdd"),
                            networks=[n.get("Target") for n in task.get("Networks") or ()])
    for mount in mounts:
        driver = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
        if driver.get("Options"):
            ctx.policy.check_volume(driver.get("Name"), driver["Options"], mount.get("Source") or "")


# -- services: the flags ----------------------------------------------------------------------------
WAIT = (flag("-d", "--detach", default=False, help="return at once instead of waiting for convergence"),
        flag("-q", "--quiet", default=False, help="no progress"),
        arg("--timeout", type=positive(float), default=TIMEOUT, metavar="SECONDS",
            help=f"how long to wait for convergence (default {TIMEOUT:g}; jupyter-containers)"))


def _settings_flags(kind: str) -> tuple:
    actions = "|".join(ss.FAILURE_ACTIONS[kind])
    return (arg(f"--{kind}-parallelism", type=count, help=f"tasks {kind}d at once (0: all)"),
            duration(f"--{kind}-delay", f"delay between {kind}s"),
            arg(f"--{kind}-failure-action", choices=ss.FAILURE_ACTIONS[kind], help=f"on a failure: {actions}"),
            duration(f"--{kind}-monitor", f"time to watch each {kind}d task for failure"),
            arg(f"--{kind}-max-failure-ratio", type=ratio, metavar="FRACTION",
                help="failure rate to tolerate (0 to 1)"),
            arg(f"--{kind}-order", choices=ss.ORDERS, help="start-first or stop-first"))


def _common(update: bool) -> tuple:
    """The flags ``service create`` and ``service update`` share (an update's defaults change nothing)."""
    off = None if update else False
    return (
        arg("--replicas", type=count, help="number of tasks"),
        arg("--replicas-max-per-node", "--max-replicas", dest="replicas_max_per_node", type=count,
            help="maximum tasks per node (0: unlimited)"),
        *_settings_flags("update"), *_settings_flags("rollback"),
        arg("--restart-condition", choices=ss.RESTART_CONDITIONS, help="restart when: none, on-failure or any"),
        duration("--restart-delay", "delay between restart attempts"),
        arg("--restart-max-attempts", type=count, help="maximum restarts before giving up"),
        duration("--restart-window", "window used to evaluate the restart policy"),
        arg("--limit-cpu", type=value(sp.parse_cpus), metavar="CPUS", help="limit CPUs"),
        arg("--limit-memory", type=value(sp.parse_size, "--limit-memory"), metavar="BYTES", help="limit memory"),
        arg("--limit-pids", type=count, help="limit the number of processes (0: unlimited)"),
        arg("--reserve-cpu", type=value(sp.parse_cpus), metavar="CPUS", help="reserve CPUs"),
        arg("--reserve-memory", type=value(sp.parse_size, "--reserve-memory"), metavar="BYTES",
            help="reserve memory"),
        arg("-w", "--workdir", help="working directory inside the container"),
        arg("-u", "--user", help="username or UID (format: <name|uid>[:<group|gid>])"),
        arg("--hostname", help="container hostname"),
        duration("--stop-grace-period", "time to wait before force killing a container"),
        arg("--stop-signal", help="signal to stop the container"),
        arg("--endpoint-mode", choices=ss.ENDPOINT_MODES, help="vip (a virtual IP) or dnsrr (DNS round robin)"),
        arg("--entrypoint", help="overwrite the default ENTRYPOINT of the image (shell words)"),
        flag("--init", default=off, help="run an init inside each container that forwards signals and reaps"),
        flag("-t", "--tty", default=off, help="allocate a pseudo-TTY"),
        flag("--read-only", default=off, help="mount the container's root filesystem read only"),
        *WAIT,
        flag("--no-resolve-image", default=False, help="accepted: the image is never pinned to a digest here, "
             "each node uses it as named"),
        arg("--resolve-image", choices=("always", "changed", "never"), help="accepted, as --no-resolve-image"),
    )


PUBLISH = "[PUBLISHED:]TARGET[/PROTO] or published=P,target=T,protocol=udp,mode=host"
NETWORK = "NAME or name=NET,alias=A,driver-opt=K=V"
MOUNT = "type=bind|volume|tmpfs,source=...,target=...[,readonly]"

CREATE_FLAGS = (
    arg("--name", help="service name"),
    arg("--mode", choices=ss.MODES, default="replicated", help="replicated (default) or global: one task a node"),
    many("--constraint", metavar="EXPR", help="placement constraint, e.g. node.role==manager"),
    many("--placement-pref", metavar="spread=node.labels.X", type=value(ss.parse_placement_pref),
         help="placement preference"),
    many("-p", "--publish", metavar="PORT", type=value(ss.parse_port), help=f"publish a port on every node: {PUBLISH}"),
    many("--network", metavar="NETWORK", type=value(ss.parse_network), help=f"attach to a network: {NETWORK}"),
    many("--mount", metavar="MOUNT", type=value(ss.service_mount), help=f"attach a filesystem mount: {MOUNT}"),
    many("-e", "--env", metavar="KEY[=VALUE]", help="set environment variables"),
    many("--env-file", metavar="FILE", help="read in a file of environment variables"),
    many("-l", "--label", metavar="KEY[=VALUE]", help="service labels"),
    many("--container-label", metavar="KEY[=VALUE]", help="container labels"),
    many("--group", metavar="GROUP", help="additional groups for the container's process"),
    many("--dns", metavar="IP", type=valid(sp.check_ip, "--dns"), help="custom DNS servers"),
    many("--dns-option", metavar="OPT", help="DNS options"),
    many("--dns-search", metavar="DOMAIN", help="custom DNS search domains"),
    many("--host", metavar="HOST:IP", type=valid(ss.parse_host), help="a custom host-to-IP mapping"),
    arg("--log-driver", help="logging driver"), many("--log-opt", metavar="KEY=VALUE", help="logging driver options"),
    many("--cap-add", metavar="CAP", help="add Linux capabilities"),
    many("--cap-drop", metavar="CAP", help="drop Linux capabilities"),
    arg("--health-cmd", help="command to run to check health"),
    duration("--health-interval", "time between running the check"),
    duration("--health-timeout", "maximum time to allow one check to run"),
    arg("--health-retries", type=count, help="consecutive failures needed to report unhealthy"),
    duration("--health-start-period", "start period for the container to initialize"),
    flag("--no-healthcheck", default=False, help="disable any container-specified HEALTHCHECK"),
    *_common(update=False),
    arg("image", help="the image of the service's tasks"),
    arg("command", nargs=REST, help="command and arguments"),
)

UPDATE_FLAGS = (
    arg("--image", help="service image tag"),
    arg("--args", help="service command args (shell words)"),
    many("--env-add", metavar="KEY[=VALUE]", help="add or update an environment variable"),
    many("--env-rm", metavar="KEY", help="remove an environment variable"),
    many("--label-add", metavar="KEY[=VALUE]", help="add or update a service label"),
    many("--label-rm", metavar="KEY", help="remove a service label"),
    many("--container-label-add", metavar="KEY[=VALUE]", help="add or update a container label"),
    many("--container-label-rm", metavar="KEY", help="remove a container label"),
    many("--constraint-add", metavar="EXPR", help="add or update a placement constraint"),
    many("--constraint-rm", metavar="EXPR", help="remove a constraint"),
    many("--placement-pref-add", metavar="spread=node.labels.X", type=value(ss.parse_placement_pref),
         help="add a placement preference"),
    many("--placement-pref-rm", metavar="spread=node.labels.X", type=value(ss.parse_placement_pref),
         help="remove a placement preference"),
    many("--mount-add", metavar="MOUNT", type=value(ss.service_mount), help=f"add or update a mount: {MOUNT}"),
    many("--mount-rm", metavar="TARGET", help="remove a mount by its target path"),
    many("--network-add", metavar="NETWORK", type=value(ss.parse_network), help=f"add a network: {NETWORK}"),
    many("--network-rm", metavar="NETWORK", help="remove a network"),
    many("--publish-add", metavar="PORT", type=value(ss.parse_port), help=f"add or update a port: {PUBLISH}"),
    many("--publish-rm", metavar="TARGET[/PROTO]", help="remove a published port by its target port"),
    flag("--force", default=False, help="restart the tasks even if nothing changed"),
    flag("--rollback", default=False, help="roll back to the previous spec"),
    *_common(update=True),
    arg("service", help="name or id"),
)


# -- services: the verbs ----------------------------------------------------------------------------
@cli.command("service create", "Create a service and wait until its tasks run (-d: return at once)",
             *CREATE_FLAGS, prepare=prepared(CREATE_FLAGS, stop_at_positional=True))
def service_create(ctx, args):
    spec = ss.create_spec(vars(args))
    _check_policy(ctx, spec)
    service_id = ctx.engine.services.create(spec, registry_auth=_auth(ctx, args.image))
    _wait(ctx, args, service_id, args.name or service_id)
    return Text(service_id)


@cli.command("service update", "Change a service and wait until its tasks follow (-d: return at once)",
             *UPDATE_FLAGS, prepare=prepared(UPDATE_FLAGS, stop_at_positional=False))
def service_update(ctx, args):
    services = ctx.engine.services
    flags = vars(args)
    current = services.inspect(args.service)
    name = current["Spec"]["Name"]
    if args.rollback:
        ss.update_spec(current["Spec"], flags)  # refuses other flags with --rollback
        services.rollback(current["ID"])
        _wait(ctx, args, current["ID"], name, rollback=True)
        return Text(name)
    if args.network_rm:  # the spec names networks by id
        flags["network_rm"] = [ref for text in args.network_rm for ref in (text, _network_id(ctx, text))]
    spec = ss.update_spec(current["Spec"], flags)
    _check_policy(ctx, spec)
    services.update(current["ID"], spec, force=bool(args.force))
    _wait(ctx, args, current["ID"], name, before=current.get("UpdateStatus"))
    return Text(name)


def _network_id(ctx, ref: str) -> str:
    from ..engine import NotFound

    try:
        return ctx.engine.networks.inspect(ref)["Id"]
    except NotFound:
        return ref


@cli.command("service scale", "Set replicated services' numbers of tasks (SERVICE=N ...) and wait for them",
             *WAIT, arg("targets", nargs="+", metavar="SERVICE=REPLICAS"),
             prepare=prepared(WAIT, stop_at_positional=False))
def service_scale(ctx, args):
    targets = [ss.scale_target(text) for text in args.targets]
    services = ctx.engine.services
    found = {name: services.inspect(name) for name, _ in targets}  # every one exists before any changes
    for name, service in found.items():
        if "Replicated" not in (service["Spec"].get("Mode") or {}):
            raise InvalidArgument(f"service {name} is not a replicated service: it cannot be scaled")
    for name, replicas in targets:
        services.scale(found[name]["ID"], replicas)
        print(f"{name} scaled to {replicas}", flush=True)
    for name, _ in targets:
        _wait(ctx, args, found[name]["ID"], name, before=found[name].get("UpdateStatus"))


@cli.command("service rollback", "Go back to a service's previous spec and wait for its tasks",
             *WAIT, arg("service"), prepare=prepared(WAIT, stop_at_positional=False))
def service_rollback(ctx, args):
    service = ctx.engine.services.inspect(args.service)
    ctx.engine.services.rollback(service["ID"])
    _wait(ctx, args, service["ID"], service["Spec"]["Name"], rollback=True)
    return Text(service["Spec"]["Name"])


@cli.command("service rm", "Remove services", arg("services", nargs="+", metavar="SERVICE"))
def service_rm(ctx, args):
    found = [ctx.engine.services.inspect(ref)["ID"] for ref in args.services]
    for service_id in found:
        ctx.engine.services.remove(service_id)
    print(f"removed: {', '.join(args.services)}")


@cli.command("service inspect", "A service's details (JSON)", arg("service"))
def service_inspect(ctx, args):
    return JSONView(ctx.engine.services.inspect(args.service), root=args.service)


SERVICE_COLUMNS = ["id", "name", "mode", "replicas", "image", "ports"]
TASK_COLUMNS = ["id", "name", "image", "node", "desired state", "current state", "error"]


def _image(spec: dict) -> str:
    return str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")).partition("@")[0]


@cli.command("service ls", "The swarm's services (a DataFrame)",
             many("-f", "--filter", metavar="KEY=VALUE", help="e.g. name=web, label=app, mode=global"),
             arg("-q", "--quiet", action="store_true", help="only the ids"))
def service_ls(ctx, args):
    services = ctx.engine.services.list(filters=args.filter)
    if args.quiet:
        return Text("\n".join(s["ID"] for s in services))
    rows = []
    for service in services:
        spec, status = service["Spec"], service.get("ServiceStatus") or {}
        mode = "global" if "Global" in (spec.get("Mode") or {}) else "replicated"
        ports = ", ".join(f"*:{p.get('PublishedPort', 0)}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
                          for p in (service.get("Endpoint") or {}).get("Ports") or ()
                          if p.get("PublishMode", "ingress") == "ingress")
        rows.append((service["ID"][:12], spec["Name"], mode,
                     f"{status.get('RunningTasks', 0)}/{status.get('DesiredTasks', 0)}", _image(spec), ports))
    return pd.DataFrame(sorted(rows, key=lambda r: r[1]), columns=SERVICE_COLUMNS)


def _node_names(ctx) -> dict[str, str]:
    return {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in ctx.engine.nodes.list()}


def _task_name(service_name: str, task: dict) -> str:
    return f"{service_name}.{task.get('Slot') or task.get('NodeID', '')}"


@cli.command("service ps", "A service's tasks, newest first in each slot (a DataFrame)",
             many("-f", "--filter", metavar="KEY=VALUE", help="e.g. desired-state=running"),
             arg("-q", "--quiet", action="store_true", help="only the task ids"), arg("service"))
def service_ps(ctx, args):
    service = ctx.engine.services.inspect(args.service)
    tasks = ctx.engine.services.tasks(service["ID"], filters=args.filter)
    if args.quiet:
        return Text("\n".join(t["ID"] for t in tasks))
    nodes, now, rows = _node_names(ctx), time.time(), []
    for task in sorted(tasks, key=lambda t: (t.get("Slot") or 0, t.get("NodeID", ""))):  # stable: newest first
        status = task.get("Status") or {}
        since = pd.Timestamp(status.get("Timestamp") or task.get("UpdatedAt")).timestamp()
        state = f"{str(status.get('State', '')).capitalize()} {gt.human_duration(max(0.0, now - since))} ago"
        rows.append((task["ID"][:12], _task_name(service["Spec"]["Name"], task),
                     _image({"TaskTemplate": task.get("Spec") or {}}), nodes.get(task.get("NodeID", ""), ""),
                     str(task.get("DesiredState", "")).capitalize(), state, status.get("Err", "")))
    return pd.DataFrame(rows, columns=TASK_COLUMNS)


class TaskNames:
    """``name.slot.task@node``, as the CLI prefixes a service's log lines, from the line's details."""

    def __init__(self, ctx, service: dict):
        self._ctx, self._service, self._names = ctx, service, {}

    def _refresh(self) -> None:
        nodes = _node_names(self._ctx)
        for task in self._ctx.engine.services.tasks(self._service["ID"]):
            self._names[task["ID"]] = (f"{_task_name(self._service['Spec']['Name'], task)}.{task['ID'][:12]}"
                                       f"@{nodes.get(task.get('NodeID', ''), '')}")

    def __call__(self, line) -> str:
        details, _, text = line.text.partition(" ")
        attributes = dict(item.partition("=")[::2] for item in details.split(","))
        task = attributes.get("com.docker.swarm.task.id")
        if task is None:
            return line.text
        if task not in self._names:
            self._refresh()
        prefix = self._names.get(task, task[:12])
        stamp = f"{line.time.isoformat()} " if line.time else ""
        return f"{stamp}{prefix} | {text}"


@cli.command("service logs", "A service's output, all its tasks' (-f follows it until you interrupt)",
             arg("-f", "--follow", action="store_true", help="keep printing new output"),
             arg("-n", "--tail", type=tail, help="only the last N lines of each task (or all)"),
             arg("-t", "--timestamps", action="store_true", help="prefix each line with its time"),
             arg("--raw", action="store_true", help="without the task@node prefixes"),
             arg("service"))
def service_logs(ctx, args):
    service = ctx.engine.services.inspect(args.service)
    name = TaskNames(ctx, service)
    stream = ctx.engine.services.logs(service["ID"], follow=args.follow, tail=args.tail, timestamps=args.timestamps)

    def text(line) -> str:
        return line.text.partition(" ")[2] if args.raw else name(line)
    if not args.follow:
        with stream:
            return Text("\n".join(text(line) for line in stream))
    with stream:
        try:
            for line in pumped(stream, "service logs reader"):
                print(text(line), flush=True)
        except KeyboardInterrupt:
            pass
    return None
