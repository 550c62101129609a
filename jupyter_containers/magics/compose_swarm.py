"""``%%compose up --swarm``, ``%compose down --swarm``, ``%compose ps --swarm``: a compose file as a
Swarm stack (``compose/swarm_stack.py``), as ``docker stack deploy|rm|ps`` do."""

from __future__ import annotations

import sys

from .compose import Progress, _project


def swarm_stack(ctx, args, required: bool = False):
    """The Swarm stack named by -p (or the file's name); its file when one is given or ``required``."""
    from ..compose.swarm_stack import SwarmStack

    project = _project(ctx, args, required)
    on_event = Progress(ctx.progress) if ctx.progress != "none" else None
    return SwarmStack(ctx.engine, project, name=None if project is not None else args.project_name,
                      on_event=on_event)


def swarm_up(ctx, args):
    from ..compose import ComposeError

    given = [flag for flag, value in (("--abort-on-container-exit", args.abort_on_container_exit),
                                      ("--build", args.build), ("--exit-code-from", args.exit_code_from),
                                      ("--force-recreate", args.force_recreate), ("--no-deps", args.no_deps),
                                      ("--no-recreate", args.no_recreate), ("--no-start", args.no_start),
                                      ("--pull", args.pull), ("--scale", args.scale), ("SERVICE", args.services))
             if value]
    if given:
        raise ComposeError(f"--swarm deploys the whole file as docker stack deploy does; it does not take "
                           f"{', '.join(given)}")
    stack = swarm_stack(ctx, args, required=True)
    ctx.policy.check_project(stack.project)
    for warning in stack.warnings:  # every error in the file is found here, before anything is made
        print(f"warning: {warning}", file=sys.stderr)
    timeout = args.timeout or args.wait_timeout or ctx._magics.wait_timeout
    stack.deploy(detach=args.detach, timeout=timeout, prune=args.remove_orphans)
    return stack.ps()


def swarm_down(ctx, args):
    from ..compose import ComposeError

    if args.rmi or args.remove_orphans:
        raise ComposeError("--swarm removes the whole stack, as docker stack rm does; it does not take "
                           f"{'--rmi' if args.rmi else '--remove-orphans'}")
    stack = swarm_stack(ctx, args)
    removed = stack.remove(timeout=args.timeout or 60, volumes=args.volumes)
    if not any(removed.values()):
        print(f"Nothing found in stack: {stack.name}")
        return
    print("removed " + ", ".join(f"{len(names)} {kind[:-1]}(s)" for kind, names in removed.items()
                                 if names or kind != "volumes"))
