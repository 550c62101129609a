"""``%container stats``: a snapshot DataFrame or a live chart of resource usage."""

from __future__ import annotations

from .container import container_commands as cli
from .registry import arg, positive


SOURCE_HELP = ("where the figures come from: cgroup (the kernel's files, when the engine runs on this "
               "machine; up to 10 samples a second), api (the engine's stats API, a sample a second) or "
               "auto (default: cgroup where it can)")


def interval_arg(default_text: str):
    return arg("--interval", type=positive(float), default=None, metavar="SECONDS",
               help=f"seconds between samples, 0.1 or more ({default_text})")


def source_arg():
    return arg("--source", choices=("auto", "cgroup", "api"), default="auto", help=SOURCE_HELP)


@cli.command("stats", "Resource usage of running containers: a live chart, or with --no-stream a DataFrame\n\n"
             "The chart (CPU %, memory, network and block IO rates, one line per container) samples every\n"
             "--interval seconds (down to 0.1) and redraws at most twice a second in the background; its\n"
             "Stop button or chart.stop() ends it, and chart.frame() returns the history\n"
             "(chart.sampler.export('usage.csv'|'usage.parquet')). The source column says whether a row\n"
             "came from the kernel's cgroup files or the engine's stats API.",
             arg("--no-stream", action="store_true", help="one snapshot (a DataFrame) instead of a live chart"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="follow the running containers matching it, e.g. label=app=shop, name=web"),
             interval_arg("default 1; a snapshot reads twice, 0.25 apart"), source_arg(),
             arg("--retention", type=positive(float), default=None, metavar="SECONDS",
                 help="history kept per container (default 3600, at most 6000 rows)"),
             arg("--window", type=positive(float), default=300.0, metavar="SECONDS",
                 help="seconds shown in the chart (default 300)"),
             arg("containers", nargs="*", metavar="CONTAINER", help="names or ids (default: all running)"))
def stats(ctx, args):
    return show(ctx, args, dict(containers=args.containers, filters=args.filter))


def show(ctx, args, target: dict, title: str | None = None):
    """A snapshot DataFrame (``--no-stream``) or a started live chart of ``target``'s containers."""
    from ..stats import Sampler, snapshot

    if args.no_stream:
        return snapshot(ctx.engine, **target, interval=args.interval or 0.25, source=args.source)
    from ..stats.charts import LiveChart

    sampler = Sampler(ctx.engine, **target, retention=args.retention, interval=args.interval or 1.0,
                      source=args.source)
    return LiveChart(sampler, window=args.window, title=title).start()  # starts the sampler first: its errors leave nothing
