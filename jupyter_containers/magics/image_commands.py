"""``%container`` subcommands for images: pull, push, build, images, rmi, tag, history."""

from __future__ import annotations

import pandas as pd

from ..engine.specs import split_reference
from .commands import cli_error
from .container import container_commands as cli
from .display import LayerProgress, build_log
from .registry import arg


def _with_progress(progress: LayerProgress, action):
    try:
        result = action()
    except BaseException:
        progress.fail()
        raise
    return result


@cli.command("pull", "Pull an image, with one progress bar per layer", arg("image"),
             arg("--platform", help="e.g. linux/amd64"))
def pull(ctx, args):
    progress = LayerProgress(f"pulling {args.image}", ctx.progress)
    image = _with_progress(progress, lambda: ctx.engine.images.pull(
        args.image, on_progress=progress, platform=args.platform, auth=ctx.auth_for(args.image)))
    repository = split_reference(args.image)[0]
    digest = next((d.split("@", 1)[1] for d in image.digests if d.split("@", 1)[0] == repository), "")
    progress.finish(f"pulled {args.image} ({image.short_id}{', ' + digest if digest else ''})")
    return image


@cli.command("push", "Push an image to its registry, with one progress bar per layer", arg("image"))
def push(ctx, args):
    progress = LayerProgress(f"pushing {args.image}", ctx.progress)
    digest = _with_progress(progress, lambda: ctx.engine.images.push(
        args.image, on_progress=progress, auth=ctx.auth_for(args.image)))
    progress.finish(f"pushed {args.image} ({digest})")
    return ctx.engine.images.get(args.image)


@cli.command("build", "Build an image; in %%container build the cell body is the Dockerfile",
             arg("-t", "--tag", action="append", default=[], help="name:tag for the image (repeatable)"),
             arg("--build-arg", action="append", default=[], metavar="KEY=VALUE"),
             arg("--target", help="the stage of a multi-stage Dockerfile to build"),
             arg("--label", action="append", default=[], metavar="KEY=VALUE"),
             arg("-f", "--file", help="Dockerfile inside the context (line magic)"),
             arg("--no-cache", action="store_true"), arg("--pull", action="store_true"),
             arg("--context", help="the build context directory (cell magic; default: none)"),
             arg("path", nargs="?", help="the build context directory (line magic)"),
             cell=True)
def build(ctx, args):
    if ctx.cell is not None:
        context, dockerfile = args.context or args.path, ctx.cell
    elif args.path or args.context:
        context, dockerfile = args.path or args.context, args.file
    else:
        raise cli_error("build", "say which context directory to build (e.g. %container build -t app .), "
                                 "or use %%container build with the Dockerfile as the cell body")
    image = ctx.engine.images.build(context, dockerfile=dockerfile, tag=args.tag, build_args=args.build_arg,
                                    target=args.target, labels=args.label, no_cache=args.no_cache,
                                    pull=args.pull, on_log=build_log(ctx.progress))
    return image


@cli.command("images", "List images (a DataFrame)",
             arg("-a", "--all", action="store_true", help="include intermediate images"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="e.g. dangling=true, label=team=nb, reference=web*"),
             arg("repository", nargs="?", help="only this repository"))
def images(ctx, args):
    filters = args.filter + ([f"reference={args.repository}"] if args.repository else [])
    return ctx.engine.images.frame(all=args.all, filters=filters)


@cli.command("rmi", "Remove images", arg("-f", "--force", action="store_true"),
             arg("images", nargs="+", metavar="IMAGE"))
def rmi(ctx, args):
    for ref in args.images:
        ctx.engine.images.remove(ref, force=args.force)
    print(f"removed: {', '.join(args.images)}")


@cli.command("tag", "Give an image another name", arg("source"), arg("target"))
def tag(ctx, args):
    ctx.engine.images.tag(args.source, args.target)
    return ctx.engine.images.get(args.target)


@cli.command("history", "An image's layers (a DataFrame)", arg("image"))
def history(ctx, args):
    frame = pd.DataFrame(ctx.engine.images.history(args.image),
                         columns=["id", "created", "created_by", "size", "comment", "tags"])
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame
