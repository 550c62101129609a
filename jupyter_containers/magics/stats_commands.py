"""``%container stats``: a snapshot DataFrame or a live chart of resource usage."""

from __future__ import annotations

from .container import container_commands as cli
from .registry import arg, positive


@cli.command("stats", "Resource usage of running containers: a live chart, or with --no-stream a DataFrame\n\n"
             "The chart (CPU %, memory, network and block IO rates, one line per container) updates\n"
             "once a second in the background; its Stop button or chart.stop() ends it, and\n"
             "chart.frame() returns the history (chart.sampler.export('usage.csv'|'usage.parquet')).",
             arg("--no-stream", action="store_true", help="one snapshot (a DataFrame) instead of a live chart"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="follow the running containers matching it, e.g. label=app=shop, name=web"),
             arg("--retention", type=positive(float), default=3600.0, metavar="SECONDS",
                 help="history kept per container (default 3600)"),
             arg("--window", type=positive(float), default=300.0, metavar="SECONDS",
                 help="seconds shown in the chart (default 300)"),
             arg("containers", nargs="*", metavar="CONTAINER", help="names or ids (default: all running)"))
def stats(ctx, args):
    from ..stats import Sampler, snapshot

    if args.no_stream:
        return snapshot(ctx.engine, args.containers, filters=args.filter)
    from ..stats.charts import LiveChart

    sampler = Sampler(ctx.engine, args.containers, filters=args.filter, retention=args.retention)
    return LiveChart(sampler, window=args.window).start()  # starts the sampler first: its errors leave nothing
