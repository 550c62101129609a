"""``%container`` subcommands for volumes, networks and the engine (registries: registry_commands.py)."""

from __future__ import annotations

from . import gotemplate as gt
from .commands import FORMAT_HELP, _short, formatted
from .container import container_commands as cli
from .display import JSONView, Text
from .registry import arg
from .pump import pumped

FILTER = arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE")


@cli.command("volume ls", "List volumes (a DataFrame; with --format, text as the docker CLI prints it)", FILTER,
             arg("-q", "--quiet", action="store_true", help="only the names"), arg("--format", help=FORMAT_HELP))
def volume_ls(ctx, args):
    if not (args.format or args.quiet):
        return ctx.engine.volumes.frame(filters=args.filter)
    rows = [VolumeRow(volume.raw) for volume in ctx.engine.volumes.list(filters=args.filter)]
    return formatted("{{.Name}}" if args.quiet else args.format, rows, VolumeRow.header,
                     "table {{.Driver}}\\t{{.Name}}", "name: {{.Name}}\\ndriver: {{.Driver}}\\n")


class _EngineObjectRow(gt.Context):
    """What ``volume ls`` and ``network ls`` rows share (docker's contexts name them alike)."""

    def Name(self) -> str:
        return self.raw.get("Name", "")

    def Driver(self) -> str:
        return self.raw.get("Driver", "")

    def Scope(self) -> str:
        return self.raw.get("Scope", "")

    def Labels(self) -> str:  # in the engine's order (the CLI's is Go's random map order)
        return ",".join(f"{k}={v}" for k, v in (self.raw.get("Labels") or {}).items())

    @gt.go("string")
    def Label(self, name: str) -> str:
        return (self.raw.get("Labels") or {}).get(name, "")


class VolumeRow(_EngineObjectRow):
    """``docker volume ls --format``'s fields (docker's volumeContext)."""

    go_type = "*formatter.volumeContext"
    header = gt.Header(Name="VOLUME NAME", Driver="DRIVER", Scope="SCOPE", Mountpoint="MOUNTPOINT", Labels="LABELS",
                       Links="LINKS", Size="SIZE")

    def __init__(self, raw: dict):
        self.raw = raw

    def Mountpoint(self) -> str:
        return self.raw.get("Mountpoint", "")

    def Links(self) -> str:
        usage = self.raw.get("UsageData")
        return "N/A" if usage is None else str(usage.get("RefCount", 0))

    def Size(self) -> str:
        usage = self.raw.get("UsageData")
        return "N/A" if usage is None else gt.human_size(usage.get("Size", 0))


@cli.command("volume create", "Create a volume", arg("name", nargs="?"),
             arg("-d", "--driver", default="local"), arg("-l", "--label", action="append", default=[]),
             arg("-o", "--opt", action="append", default=[], metavar="KEY=VALUE"))
def volume_create(ctx, args):
    options = dict(o.partition("=")[::2] for o in args.opt)
    ctx.policy.check_volume(args.driver, options, args.name or "")
    volume = ctx.engine.volumes.create(args.name, driver=args.driver, labels=args.label, options=options)
    return Text(volume.name)


@cli.command("volume rm", "Remove volumes", arg("-f", "--force", action="store_true"),
             arg("volumes", nargs="+", metavar="VOLUME"))
def volume_rm(ctx, args):
    for name in args.volumes:
        ctx.engine.volumes.remove(name, force=args.force)
    print(f"removed: {', '.join(args.volumes)}")


@cli.command("volume inspect", "A volume's details (JSON)", arg("volume"))
def volume_inspect(ctx, args):
    return JSONView(ctx.engine.volumes.inspect(args.volume), root=args.volume)


@cli.command("volume prune", "Remove unused volumes (-a: named ones too)", FILTER,
             arg("-a", "--all", action="store_true"))
def volume_prune(ctx, args):
    return _pruned(ctx.engine.volumes.prune(all=args.all, filters=args.filter), "volumes")


@cli.command("network ls", "List networks (a DataFrame; with --format, text as the docker CLI prints it)", FILTER,
             arg("-q", "--quiet", action="store_true", help="only the ids"),
             arg("--no-trunc", action="store_true", help="--format: full ids"), arg("--format", help=FORMAT_HELP))
def network_ls(ctx, args):
    if not (args.format or args.quiet):
        return ctx.engine.networks.frame(filters=args.filter)
    rows = [NetworkRow(network.raw, not args.no_trunc) for network in ctx.engine.networks.list(filters=args.filter)]
    return formatted("{{.ID}}" if args.quiet else args.format, rows, NetworkRow.header,
                     "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}",
                     "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n")


class NetworkRow(_EngineObjectRow):
    """``docker network ls --format``'s fields (docker's networkContext)."""

    go_type = "*network.networkContext"
    header = gt.Header(ID="NETWORK ID", Name="NAME", Driver="DRIVER", Scope="SCOPE", IPv6="IPV6", Internal="INTERNAL",
                       Labels="LABELS", CreatedAt="CREATED AT")

    def __init__(self, raw: dict, trunc: bool = True):
        self.raw, self.trunc = raw, trunc

    def ID(self) -> str:
        return _short(self.raw.get("Id", "")) if self.trunc else self.raw.get("Id", "")

    def IPv6(self) -> str:
        return "true" if self.raw.get("EnableIPv6") else "false"

    def Internal(self) -> str:
        return "true" if self.raw.get("Internal") else "false"

    def CreatedAt(self) -> str:
        return gt.go_timestamp(self.raw.get("Created", ""))


@cli.command("network create", "Create a network", arg("name"), arg("-d", "--driver", default="bridge"),
             arg("--internal", action="store_true"), arg("-l", "--label", action="append", default=[]))
def network_create(ctx, args):
    network = ctx.engine.networks.create(args.name, driver=args.driver, internal=args.internal,
                                         labels=args.label)
    return Text(network.id[:12])


@cli.command("network rm", "Remove networks", arg("networks", nargs="+", metavar="NETWORK"))
def network_rm(ctx, args):
    for ref in args.networks:
        ctx.engine.networks.remove(ref)
    print(f"removed: {', '.join(args.networks)}")


@cli.command("network inspect", "A network's details (JSON)", arg("network"))
def network_inspect(ctx, args):
    return JSONView(ctx.engine.networks.inspect(args.network), root=args.network)


@cli.command("network prune", "Remove unused networks", FILTER)
def network_prune(ctx, args):
    return _pruned(ctx.engine.networks.prune(filters=args.filter), "networks")


@cli.command("engine", "Which engine answers, how it was found, and what it runs")
def engine(ctx, args):
    from .display import EngineSummary

    engine = ctx.engine
    return EngineSummary(engine.url, engine.source, engine.system.version(), engine.system.info(),
                         getattr(engine, "replay", None))


@cli.command("info", "The engine's system-wide information (JSON)")
def info(ctx, args):
    return JSONView(ctx.engine.system.info(), root="info")


@cli.command("version", "The engine's version (JSON)")
def version(ctx, args):
    return JSONView(ctx.engine.system.version(), root="version")


@cli.command("df", "Disk usage by images, containers, volumes and build cache (a DataFrame)")
def df(ctx, args):
    return ctx.engine.system.df_frame()


@cli.command("events", "The engine's events as they happen, until you interrupt (or --until)",
             arg("--since"), arg("--until"), FILTER)
def events(ctx, args):
    with ctx.engine.system.events(since=args.since, until=args.until, filters=args.filter) as stream:
        try:
            for event in pumped(stream):
                when = f"{event.time:%Y-%m-%dT%H:%M:%S.%f}" if event.time else ""
                print(f"{when} {event.type} {event.action} {event.name or event.id[:12]}", flush=True)
        except KeyboardInterrupt:
            pass


def _pruned(result: dict, what: str) -> dict:
    deleted = result.get("deleted") or []
    space = result.get("space_reclaimed")
    print(f"deleted {len(deleted)} {what}" + (f", reclaimed {space / 1e6:.1f} MB" if space else ""))
    return result


@cli.command("prune", "Remove unused things: container, image, volume, network or system",
             arg("what", choices=["container", "image", "volume", "network", "system"]),
             arg("-a", "--all", action="store_true", help="image/system: every unused image, not only dangling"),
             arg("--volumes", action="store_true", help="system: unused volumes too"), FILTER)
def prune(ctx, args):
    engine = ctx.engine
    if args.what == "system":
        result = engine.system.prune(all=args.all, volumes=args.volumes, filters=args.filter)
        print(", ".join(f"deleted {len(result[k])} {k}" for k in ("containers", "networks", "images", "volumes")
                        if k in result) + f", reclaimed {result['space_reclaimed'] / 1e6:.1f} MB")
        return result
    if args.what == "container":
        return _pruned(engine.containers.prune(filters=args.filter), "containers")
    if args.what == "image":
        return _pruned(engine.images.prune(all=args.all, filters=args.filter), "images")
    if args.what == "volume":
        return _pruned(engine.volumes.prune(all=args.all, filters=args.filter), "volumes")
    return _pruned(engine.networks.prune(filters=args.filter), "networks")

