"""``%container`` subcommands for images: pull, push, build, images, rmi, tag, history."""

from __future__ import annotations

import time

import pandas as pd

from ..engine.specs import split_reference
from . import gotemplate as gt
from .commands import FORMAT_HELP, _short, cli_error, formatted
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


IMAGES_TABLE = ("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}"
                "\\t{{.Size}}")
IMAGES_DIGEST_TABLE = ("table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t"
                       "{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}")
IMAGES_RAW = "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n"


@cli.command("images", "List images (a DataFrame; with --format, text as the docker CLI prints it)",
             arg("-a", "--all", action="store_true", help="include intermediate images"),
             arg("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                 help="e.g. dangling=true, label=team=nb, reference=web*"),
             arg("-q", "--quiet", action="store_true", help="only the ids"),
             arg("--digests", action="store_true", help="--format: a row per digest"),
             arg("--no-trunc", action="store_true", help="--format: full ids"),
             arg("--format", help=FORMAT_HELP),
             arg("repository", nargs="?", help="only this repository"))
def images(ctx, args):
    filters = args.filter + ([f"reference={args.repository}"] if args.repository else [])
    if not (args.format or args.quiet):
        return ctx.engine.images.frame(all=args.all, filters=filters)
    fmt = "{{.ID}}" if args.quiet else args.format
    if fmt == "table" and args.digests:
        fmt = IMAGES_DIGEST_TABLE
    elif fmt.startswith("table") and args.digests and "{{.Digest}}" not in fmt:
        fmt += "\\t{{.Digest}}"
    template = gt.parse(gt.template_text(gt.resolve(fmt, IMAGES_TABLE, IMAGES_RAW)))
    digests = args.digests or "{{.Digest}}" in fmt  # as the CLI: a row per digest only when asked for
    rows = [row for image in ctx.engine.images.list(all=args.all, filters=filters)
            for row in ImageRow.rows(image.raw, not args.no_trunc, digests, args.digests)]
    return formatted(fmt, rows, ImageRow.header, IMAGES_TABLE, IMAGES_RAW, template)


class ImageRow(gt.Context):
    """``docker images --format``'s fields: one repository:tag (or digest) of one image (docker's imageContext)."""

    go_type = "*formatter.imageContext"
    header = gt.Header(ID="IMAGE ID", Repository="REPOSITORY", Tag="TAG", Digest="DIGEST", CreatedSince="CREATED",
                       CreatedAt="CREATED AT", Size="SIZE", Containers="CONTAINERS", VirtualSize="SIZE",
                       SharedSize="SHARED SIZE", UniqueSize="UNIQUE SIZE")

    def __init__(self, raw: dict, trunc: bool, repository: str, tag: str, digest: str):
        self.raw, self.trunc, self.repository, self.tag, self.digest = raw, trunc, repository, tag, digest

    @classmethod
    def rows(cls, raw: dict, trunc: bool, digests: bool, digest_rows: bool) -> list[ImageRow]:
        """The rows the CLI prints for one image: one per tag (times its digests, when asked for),
        then one per repository known only by digest; a dangling image is one <none> row."""
        listed_tags, listed_digests = raw.get("RepoTags") or [], raw.get("RepoDigests") or []
        if not listed_tags and not listed_digests or (listed_tags == ["<none>:<none>"]
                                                      and listed_digests == ["<none>@<none>"]):
            return [cls(raw, trunc, "<none>", "<none>", "<none>")]
        tags, by_digest = {}, {}
        for ref in listed_tags:
            repository, _, tag = ref.rpartition(":")
            if repository and "<none>" not in ref:
                tags.setdefault(repository, []).append(tag)
        for ref in listed_digests:
            repository, _, digest = ref.partition("@")
            if digest and "<none>" not in ref:
                by_digest.setdefault(repository, []).append(digest)
        out = []
        for repository, names in tags.items():
            found = by_digest.pop(repository, [])  # a repository's digests are no rows of their own
            found = found if digests else []
            out += [cls(raw, trunc, repository, tag, digest) for tag in names for digest in found or ["<none>"]]
        for repository, found in by_digest.items():
            out += ([cls(raw, trunc, repository, "<none>", digest) for digest in found] if digest_rows
                    else [cls(raw, trunc, repository, "<none>", "")])
        return out

    def ID(self) -> str:
        return _short(self.raw.get("Id", "")) if self.trunc else self.raw.get("Id", "")

    def Repository(self) -> str:
        return self.repository

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        return gt.human_duration(time.time() - int(self.raw.get("Created") or 0)) + " ago"

    def CreatedAt(self) -> str:
        return gt.go_time(int(self.raw.get("Created") or 0))

    def Size(self) -> str:
        return gt.human_size(int(self.raw.get("Size") or 0), 3)

    def Containers(self) -> str:
        count = self.raw.get("Containers", -1)
        return "N/A" if count in (-1, None) else str(count)

    def VirtualSize(self) -> str:
        return gt.human_size(int(self.raw.get("Size") or 0))

    def SharedSize(self) -> str:
        shared = self.raw.get("SharedSize", -1)
        return "N/A" if shared in (-1, None) else gt.human_size(shared)

    def UniqueSize(self) -> str:
        size, shared = self.raw.get("Size", -1), self.raw.get("SharedSize", -1)
        return "N/A" if -1 in (size, shared) or None in (size, shared) else gt.human_size(size - shared)


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
