"""``%container dashboard``: the widget dashboard, one per kernel."""

from __future__ import annotations

from .container import container_commands as cli
from .registry import arg, positive

_current = {}  # the kernel's dashboard: a new one stops the previous one's threads


@cli.command("dashboard", "The engine at a glance, live: containers, images, stacks, volumes, networks, events",
             arg("--page-size", type=positive(int), default=25, metavar="N", help="rows per page (default 25)"),
             arg("--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="show only matching containers, e.g. label=team=data"),
             arg("--no-stats", action="store_true", help="no CPU/memory columns and no stats chart"))
def dashboard(ctx, args):
    from ..engine import specs
    from ..widgets import Dashboard

    filters = specs.parse_filters(args.filter)
    previous = _current.pop("dashboard", None)
    if previous is not None:
        previous.close()
    board = Dashboard(ctx.engine, filters=filters, page_size=args.page_size, stats=not args.no_stats,
                      policy=ctx.policy)
    _current["dashboard"] = board
    return board
