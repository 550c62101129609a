"""``%container kernels``: the notebooks' kernels that run in containers."""

from __future__ import annotations

from .container import container_commands as cli
from .registry import arg


@cli.command("kernels", "Kernels that run in containers (`jupyter containers kernel create` makes their\n"
             "kernelspecs): a DataFrame of kernel id, kernelspec, notebook, image, container, state,\n"
             "and CPU % and memory of the running ones",
             arg("-a", "--all", action="store_true", help="stopped kernel containers too"))
def kernels(ctx, args):
    from ..kernels.listing import kernel_frame

    return kernel_frame(ctx.engine, all=args.all)
