"""``%container`` subcommands for files, images as archives and settings: cp, commit, diff, export,
import, save, load, update, network connect/disconnect, container/image inspect, checkpoint."""

from __future__ import annotations

import argparse
import ipaddress
import math
import time

from .commands import cli_error
from .container import container_commands as cli
from .display import JSONView, StatusLine, Text
from .registry import arg, boolean, valid

MAX_INT64 = 2 ** 63 - 1


# -- argument types: a bad value is argparse's one-line error, naming the option ------------------
def size(text: str) -> int:
    """Bytes, or a number with b, k, m or g (``--memory 256m``)."""
    from ..engine import InvalidArgument
    from ..engine.spec_parse import parse_size

    try:
        value = parse_size(text) if text.strip() else None
    except (InvalidArgument, ValueError, OverflowError):
        value = None
    if value is None or not 0 <= value <= MAX_INT64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (bytes, or a number with b, k, m or g)")
    return value


def swap_size(text: str) -> int:
    """A size, or -1 for unlimited swap."""
    return -1 if text.strip() == "-1" else size(text)


def cpus(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 1e6):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of CPUs (e.g. 1.5)")
    return value


def blkio_weight(text: str) -> int:
    value = int(text) if text.strip().isdigit() else -1
    if value != 0 and not 10 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a weight between 10 and 1000 (or 0)")
    return value


def _restart_policy(text: str):
    from ..engine.spec_parse import parse_restart

    return parse_restart(text)


restart_policy = valid(_restart_policy)


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def ipv6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv6 address") from None


# -- what the commands show --------------------------------------------------------------------
class JSONList(list):
    """Several inspect answers, shown as one collapsible JSON tree."""

    def __init__(self, items: list, root: str = "inspect"):
        super().__init__(items)
        self._root = root

    def _repr_json_(self):
        return list(self), {"expanded": False, "root": self._root}


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


class ByteProgress(StatusLine):
    """Bytes written (save, export) or sent (load, import): a line of text, or a label in a notebook."""

    def __init__(self, title: str, style: str = "auto", interval: float = 0.1):
        super().__init__(style)
        self.title, self.interval = title, interval
        self.count, self._shown = 0, 0.0

    def __call__(self, count: int) -> None:
        self.count = count
        now = time.monotonic()
        if now - self._shown >= self.interval:
            self._shown = now
            self.show(f"{self.title}: {_megabytes(count)}")


def _with_progress(progress: ByteProgress, action):
    try:
        return action(progress)
    except BaseException:
        progress.fail()
        raise


CHANGE = arg("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
             help="Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                  "USER, VOLUME, WORKDIR, STOPSIGNAL, ...)")


# -- files -------------------------------------------------------------------------------------
@cli.command("cp", "Copy files/folders between a container and the local filesystem\n\n"
             "  %container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH\n"
             "  %container cp [OPTIONS] SRC_PATH CONTAINER:DEST_PATH\n\n"
             "A directory copied to a DEST_PATH that does not exist is created there; to one that exists, it goes\n"
             "inside it; SRC_PATH ending in /. copies the directory's content instead. Nothing in the archive may\n"
             "be written or point outside DEST_PATH.",
             arg("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)"),
             arg("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH"),
             arg("src", metavar="SRC"), arg("dest", metavar="DEST"))
def cp(ctx, args):
    written = ctx.engine.containers.cp(args.src, args.dest, follow_link=args.follow_link, archive=args.archive)
    print(f"copied {args.src} to {written}")


@cli.command("diff", "Inspect changes to files or directories on a container's filesystem\n\n"
             "A DataFrame: kind (A added, C changed, D deleted) and path.", arg("container"))
def diff(ctx, args):
    return ctx.engine.containers.diff(args.container)


@cli.command("commit", "Create a new image from a container's changes; returns the image",
             arg("-a", "--author", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'), CHANGE,
             arg("-m", "--message", help="Commit message"),
             arg("--pause", type=boolean, nargs="?", const=True, default=True, metavar="true|false",
                 help="Pause container during commit (default true; -p, or --pause=false)"),
             arg("-p", dest="pause", action="store_const", const=True, help=argparse.SUPPRESS),
             arg("container"), arg("repository", nargs="?", metavar="REPOSITORY[:TAG]"))
def commit(ctx, args):
    return ctx.engine.containers.commit(args.container, args.repository, changes=args.change,
                                        message=args.message, author=args.author, pause=args.pause)


@cli.command("export", "Export a container's filesystem as a tar archive",
             arg("-o", "--output", help="Write to a file, instead of STDOUT (required here)"), arg("container"))
def export(ctx, args):
    if not args.output:
        raise cli_error("export", "say where: -o FILE (a notebook has no STDOUT to write a tar to)")
    progress = ByteProgress(f"exporting {args.container}", ctx.progress)
    count = _with_progress(progress, lambda p: ctx.engine.containers.export(args.container, args.output,
                                                                            on_progress=p))
    progress.finish(f"exported {args.container} to {args.output} ({_megabytes(count)})")


# -- images as archives ------------------------------------------------------------------------
@cli.command("save", "Save one or more images to a tar archive",
             arg("-o", "--output", help="Write to a file, instead of STDOUT (required here)"),
             arg("images", nargs="+", metavar="IMAGE"))
def save(ctx, args):
    if not args.output:
        raise cli_error("save", "say where: -o FILE (a notebook has no STDOUT to write a tar to)")
    progress = ByteProgress(f"saving {', '.join(args.images)}", ctx.progress)
    count = _with_progress(progress, lambda p: ctx.engine.images.save(args.images, args.output, on_progress=p))
    progress.finish(f"saved {', '.join(args.images)} to {args.output} ({_megabytes(count)})")


@cli.command("load", "Load an image from a tar archive; returns the loaded image names",
             arg("-i", "--input", help="Read from tar archive file, instead of STDIN (required here)"),
             arg("-q", "--quiet", action="store_true", help="Suppress the load output"))
def load(ctx, args):
    if not args.input:
        raise cli_error("load", "say which file: -i FILE (a notebook has no STDIN to read a tar from)")
    progress = ByteProgress(f"loading {args.input}", "none" if args.quiet else ctx.progress)
    names = _with_progress(progress, lambda p: ctx.engine.images.load(args.input, quiet=args.quiet, on_progress=p))
    if not args.quiet:
        progress.finish(f"loaded {', '.join(names) or 'nothing'} from {args.input}")
    return names


@cli.command("import", "Import the contents from a tarball to create a filesystem image; returns the image\n\n"
             "FILE is a local tar archive (e.g. from %container export); URLs are not taken here.",
             CHANGE, arg("-m", "--message", help="Set commit message for imported image"),
             arg("--platform", help="Set platform if server is multi-platform capable (e.g. linux/amd64)"),
             arg("file", metavar="FILE"), arg("repository", nargs="?", metavar="REPOSITORY[:TAG]"))
def import_(ctx, args):
    progress = ByteProgress(f"importing {args.file}", ctx.progress)
    image = _with_progress(progress, lambda p: ctx.engine.images.import_(
        args.file, args.repository, changes=args.change, message=args.message, platform=args.platform,
        on_progress=p))
    progress.finish(f"imported {args.file} as {args.repository or image.short_id}")
    return image


# -- settings ----------------------------------------------------------------------------------
UPDATE_FLAGS = (
    arg("--blkio-weight", type=blkio_weight, help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    arg("--cpu-period", type=int, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    arg("--cpu-quota", type=int, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    arg("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)"),
    arg("--cpus", type=cpus, help="Number of CPUs"),
    arg("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
    arg("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
    arg("-m", "--memory", type=size, help="Memory limit (e.g. 256m)"),
    arg("--memory-reservation", type=size, help="Memory soft limit"),
    arg("--memory-swap", type=swap_size, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
    arg("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)"),
    arg("--restart", type=restart_policy, help="Restart policy to apply when a container exits"),
)


@cli.command("update", "Update configuration of one or more containers", *UPDATE_FLAGS,
             arg("containers", nargs="+", metavar="CONTAINER"))
def update(ctx, args):
    settings = {key: getattr(args, key) for key in (
        "blkio_weight", "cpu_period", "cpu_quota", "cpu_shares", "cpus", "cpuset_cpus", "cpuset_mems", "memory",
        "memory_reservation", "memory_swap", "pids_limit", "restart")}
    if all(value is None for value in settings.values()):
        raise cli_error("update", "you must provide one or more flags, e.g. --memory 256m --memory-swap 512m; "
                                  "see %container update --help")
    containers = ctx.engine.containers
    for ref in args.containers:
        containers.inspect(ref)  # every name known before any is changed
    for ref in args.containers:
        for warning in containers.update(ref, **settings):
            print(f"warning: {warning}")
        print(ref)


@cli.command("network connect", "Connect a container to a network",
             arg("--alias", action="append", default=[], help="Add network-scoped alias for the container"),
             arg("--ip", type=ipv4, help='IPv4 address (e.g., "172.30.100.104")'),
             arg("--ip6", type=ipv6, help='IPv6 address (e.g., "2001:db8::33")'),
             arg("--link", action="append", default=[], metavar="NAME[:ALIAS]", help="Add link to another container"),
             arg("network"), arg("container"))
def network_connect(ctx, args):
    ctx.engine.networks.connect(args.network, args.container, aliases=args.alias, ipv4_address=args.ip,
                                ipv6_address=args.ip6, links=args.link)
    print(f"connected {args.container} to {args.network}")


@cli.command("network disconnect", "Disconnect a container from a network",
             arg("-f", "--force", action="store_true", help="Force the container to disconnect from a network"),
             arg("network"), arg("container"))
def network_disconnect(ctx, args):
    ctx.engine.networks.disconnect(args.network, args.container, force=args.force)
    print(f"disconnected {args.container} from {args.network}")


# -- inspect -----------------------------------------------------------------------------------
def _inspect(kind: str):
    @cli.command(f"{kind} inspect", f"Display detailed information on one or more {kind}s (JSON)",
                 arg("names", nargs="+", metavar=kind.upper()))
    def command(ctx, args):
        inspect = getattr(ctx.engine, f"{kind}s").inspect
        answers = [inspect(name) for name in args.names]
        if len(answers) == 1:
            return JSONView(answers[0], root=args.names[0])
        return JSONList(answers, root=", ".join(args.names))
    return command


_inspect("container")
_inspect("image")


# -- checkpoints -------------------------------------------------------------------------------
CHECKPOINT_DIR = arg("--checkpoint-dir", help="Use a custom checkpoint storage directory")


@cli.command("checkpoint create", "Create a checkpoint from a running container (experimental engines with CRIU)",
             CHECKPOINT_DIR, arg("--leave-running", action="store_true",
                                 help="Leave the container running after checkpoint"),
             arg("container"), arg("checkpoint"))
def checkpoint_create(ctx, args):
    ctx.engine.containers.checkpoint_create(args.container, args.checkpoint, leave_running=args.leave_running,
                                            checkpoint_dir=args.checkpoint_dir)
    print(args.checkpoint)


@cli.command("checkpoint ls", "List checkpoints for a container", CHECKPOINT_DIR, arg("container"))
def checkpoint_ls(ctx, args):
    return Text("\n".join(ctx.engine.containers.checkpoints(args.container, args.checkpoint_dir)))


@cli.command("checkpoint rm", "Remove a checkpoint", CHECKPOINT_DIR, arg("container"), arg("checkpoint"))
def checkpoint_rm(ctx, args):
    ctx.engine.containers.checkpoint_remove(args.container, args.checkpoint, args.checkpoint_dir)
    print(f"removed checkpoint {args.checkpoint}")
