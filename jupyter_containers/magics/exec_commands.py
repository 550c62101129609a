"""``%container exec`` (and attach): commands in running containers."""

from __future__ import annotations

from .commands import REST, cli_error
from .container import container_commands as cli
from .registry import arg


@cli.command("exec", "Run a command in a running container; returns a result with .exit_code and .output",
             arg("-e", "--env", action="append", default=[], metavar="KEY=VALUE"),
             arg("-w", "--workdir"), arg("-u", "--user"), arg("-t", "--tty", action="store_true"),
             arg("container"), arg("command", nargs=REST))
def exec_(ctx, args):
    if not args.command:
        raise cli_error("exec", "say which command to run, e.g. %container exec web ls /")
    return ctx.engine.containers.exec(args.container, args.command, env=args.env, workdir=args.workdir,
                                      user=args.user, tty=args.tty)
