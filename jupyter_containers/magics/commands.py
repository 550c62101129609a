"""``%container`` subcommands for containers: run, ps, logs, exec, ..."""

from __future__ import annotations

import argparse
import time

import pandas as pd

from . import gotemplate as gt
from .container import container_commands as cli
from .display import JSONView, Text
from .registry import arg, tail, valid
from .pump import pumped

REST = argparse.REMAINDER
FORMAT_HELP = ("a Go template as the docker CLI takes it: 'table' (aligned, with a header), 'table TEMPLATE', "
               "'json' (one object a line) or TEMPLATE, e.g. '{{.Names}}'; gives text")


def _moment(text: str):
    from ..engine.specs import unix_nanoseconds

    return unix_nanoseconds(text)


moment = valid(_moment)  # --since/--until: checked here, read by the engine layer


def formatted(format: str, rows: list, header: gt.Header, table: str, raw: str | None = None,
              template: gt.Template | None = None) -> Text:
    """Rows through a --format value, as the docker CLI prints them."""
    return Text(gt.render(gt.resolve(format, table, raw), rows, header, template))


def follow(stream) -> bool:
    """Print a stream of log lines until it ends (False) or the user interrupts (True)."""
    with stream:
        try:
            for line in pumped(stream):
                print(line.text, flush=True)
        except KeyboardInterrupt:
            return True
    return False


PS_TABLE = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
PS_RAW = ("container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\n"
          "state: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\n"
          "labels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n")


@cli.command("ps", "List containers (a DataFrame; with --format, text as the docker CLI prints it)",
             arg("-a", "--all", action="store_true", help="show stopped ones too"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="e.g. status=exited, label=team=nb, name=web"),
             arg("-n", "--last", type=int, default=-1, metavar="N", help="the N most recently created (any state)"),
             arg("-l", "--latest", action="store_true", help="the most recently created (any state)"),
             arg("-s", "--size", action="store_true", help="their sizes too (size_rw, size_root_fs)"),
             arg("--no-trunc", action="store_true", help="full ids (and, in --format, full commands)"),
             arg("-q", "--quiet", action="store_true", help="only the ids"),
             arg("--format", help=FORMAT_HELP))
def ps(ctx, args):
    limit = 1 if args.latest and args.last == -1 else args.last
    size = args.size
    if args.format:  # as the CLI: the format as typed is tried on an empty row; .Size in it asks for sizes
        probe = ContainerRow({})
        gt.parse(args.format).execute(probe)
        size = size or "Size" in probe.used and not args.quiet
    fmt = None
    if args.quiet:  # as docker 23 and later: -q wins over --format
        fmt = "{{.ID}}"
    elif args.format:
        fmt = gt.resolve(args.format, PS_TABLE + "\\t{{.Size}}" * size, PS_RAW + "size: {{.Size}}\\n" * size)
    template = gt.parse(gt.template_text(fmt)) if fmt else None
    if not (fmt or size or args.no_trunc or limit > 0):
        return ctx.engine.containers.frame(all=args.all, filters=args.filter)
    rows = [c.raw for c in ctx.engine.containers.list(all=args.all or limit > 0, filters=args.filter)]
    rows = rows[:limit] if limit > 0 else rows
    if size:  # the listing's own sizes need ?size=1; the engine's disk usage has the same numbers
        sizes = {c["Id"]: c for c in ctx.engine.system.df().get("Containers") or []}
        rows = [{**row, **{k: sizes.get(row["Id"], {}).get(k, 0) for k in ("SizeRw", "SizeRootFs")}} for row in rows]
    if fmt:
        return formatted(fmt, [ContainerRow(row, not args.no_trunc) for row in rows], ContainerRow.header,
                         PS_TABLE, PS_RAW, template)
    return _ps_frame(rows, args.no_trunc, size)


def _ps_frame(rows: list[dict], no_trunc: bool, size: bool) -> pd.DataFrame:
    from ..engine.containers import LIST_COLUMNS
    from ..engine.records import Container

    records = [Container.from_list(row) for row in rows]
    frame = pd.DataFrame([(c.id if no_trunc else c.short_id, c.name, c.image, c.command, None, c.status, c.state,
                           ", ".join(map(str, c.ports))) for c in records], columns=LIST_COLUMNS)
    frame["created"] = pd.to_datetime([row.get("Created", 0) for row in rows], unit="s", utc=True)
    if size:
        frame["size_rw"] = [int(row.get("SizeRw") or 0) for row in rows]
        frame["size_root_fs"] = [int(row.get("SizeRootFs") or 0) for row in rows]
    return frame


class ContainerRow(gt.Context):
    """``docker ps --format``'s fields over one row of the engine's listing (docker's ContainerContext)."""

    go_type = "*formatter.ContainerContext"
    header = gt.Header(ID="CONTAINER ID", Names="NAMES", Image="IMAGE", Command="COMMAND", CreatedAt="CREATED AT",
                       RunningFor="CREATED", Ports="PORTS", State="STATE", Status="STATUS", Size="SIZE",
                       Labels="LABELS", Mounts="MOUNTS", LocalVolumes="LOCAL VOLUMES", Networks="NETWORKS")

    def __init__(self, row: dict, trunc: bool = True):
        self.row, self.trunc, self.used = row, trunc, set()

    def ID(self) -> str:
        return _short(self.row.get("Id", "")) if self.trunc else self.row.get("Id", "")

    def Names(self) -> str:
        names = [n[1:] for n in self.row.get("Names") or []]
        if self.trunc:  # without the legacy links' extra names (other/alias)
            names = next(([n] for n in names if "/" not in n), names)
        return ",".join(names)

    def Image(self) -> str:
        image = self.row.get("Image") or ""
        if not image:
            return "<no image>"
        if self.trunc and _short(self.row.get("ImageID", "")) == _short(image):
            return _short(image)
        return _familiar(image) if self.trunc else image

    def Command(self) -> str:
        command = self.row.get("Command", "")
        return gt.go_quote(gt.ellipsis(command, 20) if self.trunc else command)

    def CreatedAt(self) -> str:
        return gt.go_time(int(self.row.get("Created") or 0))

    def RunningFor(self) -> str:
        return gt.human_duration(time.time() - int(self.row.get("Created") or 0)) + " ago"

    def Ports(self) -> str:
        return displayable_ports(self.row.get("Ports") or [])

    def State(self) -> str:
        return self.row.get("State", "")

    def Status(self) -> str:
        return self.row.get("Status", "")

    def Size(self) -> str:
        self.used.add("Size")
        rw, root = int(self.row.get("SizeRw") or 0), int(self.row.get("SizeRootFs") or 0)
        text = gt.human_size(rw, 3)
        return f"{text} (virtual {gt.human_size(root, 3)})" if root > 0 else text

    def Labels(self) -> str:
        return ",".join(sorted(f"{k}={v}" for k, v in (self.row.get("Labels") or {}).items()))

    @gt.go("string")
    def Label(self, name: str) -> str:
        return (self.row.get("Labels") or {}).get(name, "")

    def Mounts(self) -> str:
        names = [m.get("Name") or m.get("Source", "") for m in self.row.get("Mounts") or []]
        return ",".join(gt.ellipsis(n, 15) if self.trunc else n for n in names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.row.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        return ",".join((self.row.get("NetworkSettings") or {}).get("Networks") or {})


def _short(ref: str) -> str:
    """docker's TruncateID: without the algorithm, 12 characters."""
    return ref.partition(":")[2][:12] if ":" in ref else ref[:12]


def _familiar(image: str) -> str:
    """An image reference as the CLI shows it: docker.io/library/ dropped, no digest when tagged."""
    from ..engine import ContainersError
    from ..engine.specs import check_reference

    try:
        check_reference(image)
    except ContainersError:
        return image
    name = image.partition("@")[0]
    repository, colon, tag = name.rpartition(":") if ":" in name.rpartition("/")[2] else (name, "", "")
    domain, slash, rest = repository.partition("/")
    if slash and domain in ("docker.io", "index.docker.io"):
        repository = rest
    elif slash and ("." in domain or ":" in domain or domain == "localhost"):
        return f"{repository}{colon}{tag}"
    repository = repository.removeprefix("library/") if repository.count("/") == 1 else repository
    return f"{repository}{colon}{tag}"


def displayable_ports(ports: list[dict]) -> str:
    """docker's DisplayablePorts: ranges grouped (``8000-8002/tcp``), published ones as ip:port->port/proto."""
    groups: dict[str, list[int]] = {}  # "ip/proto" or "proto" -> [first, last], in the order first seen
    result, published = [], []
    for port in sorted(ports, key=lambda p: (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0),
                                            p.get("Type", ""))):
        current, kind, ip = port.get("PrivatePort", 0), port.get("Type", ""), port.get("IP", "")
        key = kind
        if ip:
            if port.get("PublicPort", 0) != current:
                published.append(f"{_host_port(ip, port.get('PublicPort', 0))}->{current}/{kind}")
                continue
            key = f"{ip}/{kind}"
        group = groups.get(key)
        if group is None or current != group[1] + 1:
            if group is not None:
                result.append(_port_group(key, *group))
            groups[key] = [current, current]
        else:
            group[1] = current
    return ", ".join(result + [_port_group(key, *group) for key, group in groups.items()] + published)


def _host_port(ip: str, port) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    return f"{_host_port(ip, group)}->{group}/{kind}" if ip else f"{group}/{kind}"


def _each(verb: str, past: str, method: str, extra=lambda args: {}):
    @cli.command(verb, f"{verb.capitalize()} one or more containers",
                 *((arg("-t", "--time", type=int, dest="timeout", help="seconds to wait before killing"),)
                   if verb in ("stop", "restart") else ()),
                 *((arg("-s", "--signal", help="signal to send (default KILL)"),) if verb == "kill" else ()),
                 *((arg("-f", "--force", action="store_true", help="remove running containers too"),
                    arg("-v", "--volumes", action="store_true", help="remove their anonymous volumes"))
                   if verb == "rm" else ()),
                 arg("containers", nargs="+", metavar="CONTAINER"))
    def command(ctx, args):
        call = getattr(ctx.engine.containers, method)
        for ref in args.containers:
            call(ref, **extra(args))
        print(f"{past}: {', '.join(args.containers)}")
        if verb in ("start", "restart", "unpause") and len(args.containers) == 1:
            return ctx.engine.containers.get(args.containers[0])
        return None
    return command


_each("start", "started", "start")
_each("stop", "stopped", "stop", lambda a: {"timeout": a.timeout})
_each("restart", "restarted", "restart", lambda a: {"timeout": a.timeout})
_each("kill", "killed", "kill", lambda a: {"signal": a.signal})
_each("pause", "paused", "pause")
_each("unpause", "unpaused", "unpause")
_each("rm", "removed", "remove", lambda a: {"force": a.force, "volumes": a.volumes})


@cli.command("rename", "Rename a container", arg("container"), arg("new_name"))
def rename(ctx, args):
    ctx.engine.containers.rename(args.container, args.new_name)
    print(f"renamed {args.container} to {args.new_name}")


@cli.command("wait", "Wait for containers to stop; their exit codes", arg("containers", nargs="+", metavar="CONTAINER"))
def wait(ctx, args):
    codes = [ctx.engine.containers.wait(ref) for ref in args.containers]
    return codes[0] if len(codes) == 1 else codes


@cli.command("logs", "A container's output (-f follows it until it exits or you interrupt)",
             arg("-f", "--follow", action="store_true", help="keep printing new output"),
             arg("-n", "--tail", type=tail, help="only the last N lines (or all)"),
             arg("--since", type=moment, help="only output since a time: 10m, 1h30m, 2024-01-31T12:00:00.5Z, "
                                              "2024-01-31, 1700000000.5 (to the nanosecond)"),
             arg("--until", type=moment, help="only output before a time (the same forms)"),
             arg("-t", "--timestamps", action="store_true", help="prefix each line with its time"),
             arg("--details", action="store_true", help="the extra attributes the log driver keeps (--log-opt)"),
             arg("container"))
def logs(ctx, args):
    containers = ctx.engine.containers
    options = dict(tail=args.tail, since=args.since, until=args.until, timestamps=args.timestamps,
                   details=args.details)
    if args.follow:
        follow(containers.follow_logs(args.container, stamped_text=True, **options))
        return None
    return Text(containers.logs(args.container, **options))


@cli.command("top", "A container's processes (a DataFrame)", arg("container"), arg("ps_args", nargs="?"))
def top(ctx, args):
    return pd.DataFrame(ctx.engine.containers.top(args.container, ps_args=args.ps_args))


@cli.command("port", "A container's published ports", arg("container"))
def port(ctx, args):
    return Text("\n".join(f"{p.container_port}/{p.protocol} -> {p.host_ip or '0.0.0.0'}:{p.host_port}"
                          for p in ctx.engine.containers.port(args.container)))


@cli.command("inspect", "Everything the engine knows about containers, images, volumes or networks (JSON)",
             arg("--type", choices=["container", "image", "volume", "network"], help="what NAME is"),
             arg("-f", "--format", help="a Go template, one rendered line per NAME (e.g. '{{.State.Status}}'), "
                                         "or json (one array)"),
             arg("names", nargs="+", metavar="NAME"))
def inspect(ctx, args):
    from ..engine import NotFound

    engine = ctx.engine
    template = gt.parse(args.format) if args.format and args.format != "json" else None
    kinds = [args.type] if args.type else ["container", "image", "volume", "network"]
    found, lines, problems = [], [], []  # as the CLI: every name is tried, then the errors are told
    for name in args.names:
        data = _inspected(engine, kinds, name, NotFound)
        if data is None:
            problems.append(f"no {args.type or 'container, image, volume or network'} named {name!r}")
            continue
        found.append((name, data))
        if template is not None:
            try:
                lines.append(template.execute(data) + "\n")
            except gt.TemplateError as exc:
                problems.append(str(exc))
    if problems:
        print("".join(lines), end="")
        raise cli_error("inspect", "; ".join(problems))
    if template is not None:
        return Text("".join(lines))
    if args.format == "json":  # the CLI's -f json: one compact array
        return Text("[" + ",".join(gt.to_json(data) for _, data in found) + "]\n")
    return JSONView(found[0][1], root=found[0][0]) if len(found) == 1 else JSONView(dict(found), root="inspect")


def _inspected(engine, kinds: list[str], name: str, not_found: type) -> dict | None:
    for kind in kinds:
        try:
            return getattr(engine, f"{kind}s").inspect(name)
        except not_found:
            continue
    return None


def cli_error(command: str, message: str):
    from IPython.core.error import UsageError

    return UsageError(f"container {command}: {message}")
