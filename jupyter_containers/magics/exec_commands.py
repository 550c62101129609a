"""``%container exec`` and ``attach``: commands in running containers, their output as it comes.

Output is printed line by line as the engine sends it, stdout to ``sys.stdout`` and stderr to
``sys.stderr``; the cell body of ``%%container exec -i`` / ``%%container attach`` is the stdin.
One kernel interrupt ends the streaming (attach: and sends SIGINT to the container, as
``docker attach`` forwards it, unless ``--sig-proxy=false``).
"""

from __future__ import annotations

import sys

from ..engine import Conflict, ContainersError, ExecResult
from ..engine.spec_parse import read_env_file
from .commands import REST, cli_error
from .container import container_commands as cli
from .display import Text
from .registry import arg, boolean
from .pump import pumped

NOTEBOOK_DETACH = "accepted and ignored: in a notebook the kernel's interrupt button detaches"


class ShownExecResult(ExecResult):
    """What ``%container exec`` returns: its output was printed as it came, so the cell that ran it
    shows nothing more; displayed from a later cell it shows as any ``ExecResult``."""

    def _ipython_display_(self) -> None:
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        if shell is not None and shell.execution_count == getattr(self, "_cell", None):
            return
        display(ExecResult(self.exit_code, self.output, self.stderr))


def show(stream) -> tuple[dict[str, str], bool]:
    """Print a stream's lines as they come, stdout and stderr apart, until it ends or the user
    interrupts; what each stream printed, and whether it was interrupted."""
    seen = {"stdout": [], "stderr": []}
    with stream:
        try:
            for line in pumped(stream):
                seen[line.stream].append(line.text + "\n")
                print(line.text, file=sys.stderr if line.stream == "stderr" else sys.stdout, flush=True)
        except KeyboardInterrupt:
            return {k: "".join(v) for k, v in seen.items()}, True
    return {k: "".join(v) for k, v in seen.items()}, False


@cli.command("exec", "Execute a command in a running container\n\n"
             "Its output is printed as it comes (stdout and stderr apart); returns a result with .exit_code,\n"
             ".output and .stderr. %%container exec -i NAME CMD sends the cell body as stdin, then EOF.\n"
             "One interrupt stops following the output (the command may go on in the container).",
             arg("-d", "--detach", action="store_true", help="Detached mode: run command in the background"),
             arg("--detach-keys", metavar="KEYS",
                 help=f"Override the key sequence for detaching a container ({NOTEBOOK_DETACH})"),
             arg("-e", "--env", action="append", default=[], metavar="KEY[=VALUE]", help="Set environment variables"),
             arg("--env-file", action="append", default=[], metavar="FILE",
                 help="Read in a file of environment variables"),
             arg("-i", "--interactive", action="store_true",
                 help="Keep STDIN open even if not attached (here: the cell body is the stdin)"),
             arg("--privileged", action="store_true", help="Give extended privileges to the command"),
             arg("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY"),
             arg("-u", "--user", metavar="USER", help='Username or UID (format: "<name|uid>[:<group|gid>]")'),
             arg("-w", "--workdir", metavar="DIR", help="Working directory inside the container"),
             arg("container", help="the container (name or id)"),
             arg("command", nargs=REST, help="the command and its arguments"), cell=True)
def exec_(ctx, args):
    if not args.command:
        raise cli_error("exec", "say which command to run, e.g. %container exec web ls /")
    if ctx.cell is not None and not args.interactive:
        raise cli_error("exec", "the cell body would be the command's stdin: add -i (%%container exec -i NAME CMD)")
    if ctx.cell is not None and args.detach:
        raise cli_error("exec", "a detached command (-d) takes no stdin: drop the cell body or -d")
    if args.interactive and args.tty:  # the docker CLI's "the input device is not a TTY"
        raise cli_error("exec", "-i with -t needs a terminal as stdin and a cell body is not one: drop -t")
    env = [line for path in args.env_file for line in read_env_file(path)] + args.env
    options = dict(env=env, workdir=args.workdir, user=args.user, tty=args.tty, privileged=args.privileged)
    containers = ctx.engine.containers
    if args.detach:
        return Text(containers.exec_detached(args.container, args.command, **options))
    stdin = (ctx.cell or "").encode() if args.interactive else None
    stream = containers.exec_stream(args.container, args.command, stdin=stdin, **options)
    seen, interrupted = show(stream)
    if interrupted:
        print(f"container exec: interrupted; stopped following the output (the command may still run in "
              f"{args.container})", flush=True)
        return None
    code = stream.exit_code
    if code:
        print(f"[exit code {code}]", flush=True)
    result = ShownExecResult(exit_code=code, output=seen["stdout"], stderr=seen["stderr"])
    object.__setattr__(result, "_cell", getattr(ctx.shell, "execution_count", None))
    return result


@cli.command("attach", "Attach local standard input, output, and error streams to a running container\n\n"
             "Prints the container's output from now on until it exits or you interrupt the kernel.\n"
             "%%container attach NAME sends the cell body as stdin (the container needs stdin open: run -i);\n"
             "a container made to close its stdin after one attach (StdinOnce) then sees EOF.",
             arg("--detach-keys", metavar="KEYS",
                 help=f"Override the key sequence for detaching a container ({NOTEBOOK_DETACH})"),
             arg("--no-stdin", action="store_true", help="Do not attach STDIN"),
             arg("--sig-proxy", type=boolean, nargs="?", const=True, default=True, metavar="true|false",
                 help="Proxy all received signals to the process (default true): one interrupt sends it "
                      "SIGINT; false: the interrupt only detaches"),
             arg("container", help="the container (name or id)"), cell=True)
def attach(ctx, args):
    containers = ctx.engine.containers
    info = containers.inspect(args.container)
    name, state, config = info["Name"].lstrip("/"), info["State"], info["Config"]
    if state.get("Paused"):
        raise Conflict(f"you cannot attach to a paused container ({name}); unpause it first")
    if not state.get("Running"):
        raise Conflict(f"you cannot attach to a stopped container ({name}); start it first")
    stdin = None
    if ctx.cell is not None:
        if args.no_stdin:
            raise cli_error("attach", "--no-stdin and a cell body (the stdin): drop one of them")
        if not config.get("OpenStdin"):
            raise cli_error("attach", f"{name} has no stdin open for the cell body; create it with -i")
        if config.get("Tty"):  # the docker CLI's "the input device is not a TTY"
            raise cli_error("attach", f"{name} has a TTY (-t), whose stdin needs a terminal; a cell body is not one")
        stdin = ctx.cell.encode()
    # StdinOnce (run -i): the end of the body closes the container's stdin and its output goes on;
    # otherwise the end of our input would end the attach, so the connection stays open for writing
    stream = containers.attach_stream(info["Id"], stdin=stdin, half_close=bool(config.get("StdinOnce")))
    _, interrupted = show(stream)
    if interrupted:
        if not args.sig_proxy:
            print(f"container attach: interrupted; detached from {name}, which keeps running", flush=True)
            return None
        try:
            containers.kill(info["Id"], "SIGINT")
            print(f"container attach: interrupted; sent SIGINT to {name}", flush=True)
        except ContainersError:  # it ended meanwhile
            print(f"container attach: interrupted; {name} has ended", flush=True)
        return None
    try:
        code = containers.wait(info["Id"], timeout=10)
    except ContainersError:  # removed (--rm) or restarted meanwhile: no exit code to show
        return None
    if code:
        print(f"[exit code {code}]", flush=True)
    return None
