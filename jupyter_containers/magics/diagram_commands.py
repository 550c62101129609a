"""``%container diagram``: the engine, its images, containers, registries and stacks as a Mermaid flowchart."""

from __future__ import annotations

from .container import container_commands as cli
from .display import Text
from .registry import arg, positive

PART_FLAGS = ("containers", "images", "registries", "stacks")


@cli.command("diagram", "A diagram of the engine: containers, images, registries, compose stacks (Mermaid)\n\n"
             "Drawn from the engine's state now: the engine runs containers (their state as a colour),\n"
             "images instantiate them, registries store images, compose stacks group services,\n"
             "their containers, networks and volumes. JupyterLab 4.1+ draws it; .mermaid is the source.\n"
             "Parts: --containers --images --registries --stacks (default: all).",
             *(arg(f"--{part}", action="store_true", help=f"draw the {part} (with the others asked for)")
               for part in PART_FLAGS),
             arg("-p", "--project", metavar="NAME", help="only this compose stack"),
             arg("-a", "--all", action="store_true", help="stopped containers too (default: running, as ps)"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="only matching containers (ps's filters, e.g. label=team=data, name=web)"),
             arg("--max", type=positive(int), default=40, metavar="N",
                 help="at most N containers and N images; the rest as one 'and N more' (default 40)"),
             arg("--direction", choices=["LR", "TD"], default="LR", help="left to right (default) or top down"),
             arg("--format", choices=["mermaid", "svg", "markdown", "text"], default="mermaid",
                 help="mermaid: drawn by JupyterLab (default); svg: rendered here (JupyterLab's mermaid in "
                      "headless Chromium); markdown: a ```mermaid block (GitHub, nbconvert); text: the source"))
def diagram(ctx, args):
    from .. import diagram as draw
    from ..compose.project import PROJECT
    from ..engine import specs

    parts = [p for p in PART_FLAGS if getattr(args, p)] or list(PART_FLAGS)
    filters = specs.parse_filters(args.filter) or {}
    if args.project is not None:
        filters.setdefault("label", []).append(f"{PROJECT}={args.project}")
    engine = ctx.engine
    info = engine.system.info()
    # one listing call per kind; stopped containers are in it to count them (and to know a stack exists)
    containers = [c.raw for c in engine.containers.list(all=True, filters=filters or None)]
    if args.project is not None and not containers:
        raise specs.InvalidArgument(f"no stack named {args.project!r} (see %compose ls)")
    images = [i.raw for i in engine.images.list()] if {"images", "registries"} & set(parts) else []
    networks, volumes = [], []
    if "stacks" in parts:
        stack_label = {"label": [f"{PROJECT}={args.project}" if args.project is not None else PROJECT]}
        networks = [n.raw for n in engine.networks.list(filters=stack_label)]
        volumes = [v.raw for v in engine.volumes.list(filters=stack_label)]
    result = draw.render(info, containers, images, networks, volumes, parts=parts, all=args.all,
                         project=args.project, limit=args.max, used_images_only=bool(filters),
                         direction=args.direction)
    if args.format == "markdown":
        return result.markdown()
    if args.format == "text":
        return Text(result.mermaid)
    if args.format == "svg":
        return _svg(result.mermaid)
    return result


def _svg(text: str):
    from IPython.display import SVG

    from ..diagram_svg import SvgUnavailable, render_svg
    from ..engine import InvalidArgument

    try:
        return SVG(data=render_svg(text))
    except SvgUnavailable as exc:
        raise InvalidArgument(str(exc)) from None
