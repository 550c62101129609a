"""Images: pull and push with per-layer progress, build with a streamed log,
tag, remove, inspect, history, list, prune."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from . import specs
from .errors import (BuildError, ContainersError, EngineUnavailable, ImageNotFound, NotFound, PullError, PushError,
                     RegistryAuthError, one_line)
from .image_archives import ImageArchives
from .records import SESSION_LABEL, Image
from .streams import BuildLine, PullProgress

if TYPE_CHECKING:
    import pandas

    from .client import Engine

LIST_COLUMNS = ["id", "repository", "tag", "digest", "created", "size"]
ProgressCallback = Callable[[PullProgress], None]


def _stream_error(item: dict) -> str | None:
    if "error" in item or "errorDetail" in item:
        detail = item.get("errorDetail") or {}
        return " ".join(str(detail.get("message") or item.get("error") or "failed").split())
    return None


def why_not_pulled(ref: str, error: ContainersError) -> str:
    """What a failed pull of ``ref`` came to, in the docker CLI's terms, naming the registry.

    The class of the error comes from its status; only these words are read from the
    engine's text (Go's network errors have no status), and anything else is shown as it is.
    """
    from .registry import DOCKER_HUB, registry_of

    registry = registry_of(ref)
    registry = "docker.io" if registry == DOCKER_HUB else registry
    text = error.message
    repository, tag = specs.split_reference(ref)
    if error.status == 404:
        path = repository.removeprefix(registry + "/")
        sep = "@" if (tag or "").startswith("sha256:") else ":"
        return f"{registry} has no {path}{sep}{tag or 'latest'}"
    if "connection refused" in text:
        return f"{registry} does not answer (connection refused)"
    if "no such host" in text:
        return f"{registry} is not a host name the engine can resolve"
    if "i/o timeout" in text or "deadline exceeded" in text or "TLS handshake timeout" in text:
        return f"{registry} did not answer in time"
    if "server gave HTTP response to HTTPS client" in text:
        return f"{registry} speaks plain HTTP; the engine must list it in its insecure-registries"
    return one_line(text)


def _failed(cls, operation: str, ref: str, reason: str, status: int | None = None) -> ContainersError:
    """``{operation} of {ref} failed: {reason}``, with ``reason`` kept alone for callers that
    say it their own way (``run`` of an image that is not here)."""
    error = cls(f"{operation} of {ref} failed: {reason}", status=status, operation=operation, target=ref)
    error.reason = reason
    return error


def _pull_failed(ref: str, exc: ContainersError) -> ContainersError:
    return _failed(ImageNotFound if exc.status == 404 else PullError, "pull", ref, why_not_pulled(ref, exc), exc.status)


class Images(ImageArchives):
    def __init__(self, engine: "Engine"):
        self._engine = engine
        self._api = engine.api

    # -- reading ---------------------------------------------------------------
    def list(self, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> list[Image]:
        with self._engine.translated("images"):
            rows = self._api.images(all=all, filters=specs.parse_filters(filters))
        return [Image.from_list(row) for row in rows]

    def frame(self, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> "pandas.DataFrame":
        """One row per repository:tag, as ``docker images`` shows them."""
        import pandas as pd

        rows = []
        for image in self.list(all=all, filters=filters):
            digests = {d.split("@")[0]: d.split("@")[1] for d in image.digests}
            tagged = {t.rpartition(":")[0] for t in image.tags}
            refs = [*image.tags, *(f"{r}:<none>" for r in digests if r not in tagged)]
            for ref in refs or ["<none>:<none>"]:
                repository, _, tag = ref.rpartition(":")
                rows.append((image.short_id, repository, tag, digests.get(repository, ""),
                             image.created, image.size))
        frame = pd.DataFrame(rows, columns=LIST_COLUMNS).astype({"size": "int64"})
        frame["created"] = pd.to_datetime(frame["created"], utc=True)
        return frame

    def inspect(self, ref: str) -> dict:
        with self._engine.translated("inspect", "image", ref):
            return self._api.inspect_image(ref)

    def get(self, ref: str) -> Image:
        return Image.from_inspect(self.inspect(ref))

    def exists(self, ref: str) -> bool:
        try:
            self.inspect(ref)
        except NotFound:
            return False
        return True

    def history(self, ref: str) -> list[dict]:
        """Layers, newest first: id, created, created_by, size, comment, tags."""
        from .records import _ts

        with self._engine.translated("history", "image", ref):
            rows = self._api.history(ref)
        return [{"id": r.get("Id", ""), "created": _ts(r.get("Created")), "created_by": r.get("CreatedBy", ""),
                 "size": int(r.get("Size") or 0), "comment": r.get("Comment", ""),
                 "tags": tuple(r.get("Tags") or ())} for r in rows]

    # -- registry traffic ------------------------------------------------------
    def pull(self, ref: str, *, on_progress: ProgressCallback | None = None,
             auth: dict | None = None, platform: str | None = None) -> Image:
        """Pull ``ref`` (``:latest`` when no tag is given), reporting each layer's progress.

        Without ``auth``, the login this kernel (or the docker CLI's config) has for its registry."""
        repository, tag = specs.split_reference(ref)
        tag = tag or "latest"
        auth = auth if auth is not None else self._engine.credentials.for_image(ref)
        try:
            with self._engine.translated("pull", "image", ref):
                items = self._api.pull(repository, tag=tag, stream=True, decode=True,
                                       auth_config=auth, platform=platform)
                self._follow(items, PullError, "pull", ref, on_progress)
        except ContainersError as exc:
            # the engine's answer before any progress: 404 (no such repository or tag) or 500
            # (the registry unreachable); a bad reference (400), a login refused, a failure
            # reported in the stream or an engine gone keep their own words
            if isinstance(exc, (EngineUnavailable, RegistryAuthError, PullError)) or exc.status not in (404, 500):
                raise
            raise _pull_failed(ref, exc) from None
        sep = "@" if tag.startswith("sha256:") else ":"
        return self.get(f"{repository}{sep}{tag}")

    def push(self, ref: str, *, on_progress: ProgressCallback | None = None,
             auth: dict | None = None) -> str:
        """Push ``ref`` to its registry (with its login, as ``pull``); the pushed manifest's digest."""
        repository, tag = specs.split_reference(ref)
        tag = tag or "latest"
        auth = auth if auth is not None else self._engine.credentials.for_image(ref)
        if not self.exists(f"{repository}:{tag}"):
            raise ImageNotFound(f"image {ref!r} is not on this engine; build, pull or tag it first",
                                status=404, operation="push", target=ref)
        with self._engine.translated("push", "image", ref):
            items = self._api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
            aux = self._follow(items, PushError, "push", ref, on_progress)
        return aux.get("Digest", "")

    def _follow(self, items, error_class, operation: str, ref: str,
                on_progress: ProgressCallback | None) -> dict:
        """Read a pull/push stream to its end; the last ``aux`` object it carried."""
        aux: dict = {}
        for item in items:
            message = _stream_error(item)
            if message:
                cls = RegistryAuthError if any(w in message for w in ("unauthorized", "authentication required",
                                                                      "denied", "no basic auth credentials")) else error_class
                raise _failed(cls, operation, ref, message)
            aux = item.get("aux") or aux
            if on_progress is not None and "status" in item:
                on_progress(PullProgress.from_raw(item))
        return aux

    # -- building ----------------------------------------------------------------
    def build(self, context: str | os.PathLike | None = None, *, dockerfile: str | None = None,
              tag: str | Iterable[str] | None = None, build_args: Mapping | Iterable[str] | None = None,
              target: str | None = None, labels: Mapping | Iterable[str] | None = None,
              pull: bool = False, no_cache: bool = False,
              on_log: Callable[[BuildLine], None] | None = None, cache_from: Iterable[str] | None = None,
              network: str | None = None, shm_size: int | None = None, extra_hosts: Iterable[str] | None = None,
              isolation: str | None = None, platform: str | None = None) -> Image:
        """Build an image from a context directory and/or a Dockerfile's text.

        ``dockerfile`` is the Dockerfile itself (its text), or, when it names a
        file inside ``context``, that file. ``on_log`` gets each log line as it
        comes. A failing step raises ``BuildError`` naming the step and its output.
        """
        from docker.utils import build as docker_build

        tags = [tag] if isinstance(tag, str) else list(tag or [])
        for t in tags:
            specs.check_reference(t)
        if context is None and dockerfile is None:
            raise specs.InvalidArgument("build needs a context directory or a Dockerfile's text")
        if context is not None and not Path(context).is_dir():
            raise specs.InvalidArgument(f"build context {str(context)!r} is not a directory")
        name = "Dockerfile"
        if dockerfile is not None and "\n" not in dockerfile and context is not None \
                and (Path(context) / dockerfile).is_file():
            name, dockerfile = dockerfile, None  # a file in the context, not text
        if dockerfile is not None:
            # named by its content: no clash with the context's files, and the same build is the same request
            name = f".dockerfile.{hashlib.sha256(dockerfile.encode()).hexdigest()[:12]}"
        if context is not None:
            ignore = Path(context) / ".dockerignore"
            lines = [line.strip() for line in ignore.read_text().splitlines()] if ignore.exists() else []
            exclude = [line for line in lines if line and not line.startswith("#")]
            fileobj = docker_build.tar(str(context), exclude=exclude, dockerfile=(name, dockerfile))
        else:
            fileobj = docker_build.mkbuildcontext(io.BytesIO(dockerfile.encode()))
            name = "Dockerfile"
        args = dict(specs.parse_labels(build_args)) if build_args else None
        with self._engine.translated("build", "image", ", ".join(tags) or None), fileobj:
            items = self._api.build(fileobj=fileobj, custom_context=True, dockerfile=name,
                                    tag=tags[0] if tags else None, buildargs=args, target=target,
                                    labels={**self._image_labels(), **specs.parse_labels(labels)},
                                    pull=pull, nocache=no_cache, rm=True, forcerm=True, decode=True,
                                    cache_from=list(cache_from) if cache_from else None, network_mode=network,
                                    shmsize=shm_size, isolation=isolation, platform=platform,
                                    extra_hosts=dict(h.split(":", 1) for h in extra_hosts) if extra_hosts else None)
            image_id = self._follow_build(items, on_log, ", ".join(tags) or None)
        for extra in tags[1:]:
            self.tag(image_id, extra)
        return self.get(image_id)

    def _image_labels(self) -> dict[str, str]:
        """The engine's labels, less the kernel session's: an image outlives its session,
        and a label that changes every session would defeat the build cache."""
        return {k: v for k, v in self._engine.labels.items() if k != SESSION_LABEL}

    def _follow_build(self, items, on_log, target: str | None) -> str:
        step, output, image_id, partial = None, [], None, ""

        def line(text: str) -> None:
            nonlocal step, output
            text = text.rstrip("\r")
            if text.startswith("Step ") and " : " in text:
                number, instruction = text.removeprefix("Step ").split(" : ", 1)
                step, output = f"{number} {instruction}", []
            elif text.strip() and not text.startswith((" ---> ", "Removing intermediate")):
                output.append(text)
            if on_log is not None:
                on_log(BuildLine(text, step))

        for item in items:
            message = _stream_error(item)
            if message:
                if partial:
                    line(partial)
                shown = " | ".join(text for text in output[-5:] if text.strip())
                where = f" at {step}" if step else ""
                text = f"build failed{where}: {message}" + (f"; output: {shown}" if shown else "")
                raise BuildError(one_line(text), operation="build", target=target)
            image_id = (item.get("aux") or {}).get("ID", image_id)
            *complete, partial = (partial + (item.get("stream") or "")).split("\n")
            for text in complete:
                line(text)
        if partial:
            line(partial)
        if image_id is None:
            raise BuildError("build ended without an image; see the build log", operation="build", target=target)
        return image_id

    # -- changing ----------------------------------------------------------------
    def tag(self, source: str, target: str) -> None:
        repository, tag = specs.split_reference(target)
        with self._engine.translated("tag", "image", source):
            self._api.tag(source, repository, tag=tag or "latest")

    def remove(self, ref: str, *, force: bool = False, prune: bool = True) -> None:
        with self._engine.translated("rmi", "image", ref):
            self._api.remove_image(ref, force=force, noprune=not prune)

    def prune(self, *, all: bool = False, filters: Mapping | Iterable[str] | None = None) -> dict:
        """Remove unused images (dangling ones, or every unused one with ``all``)."""
        filters = specs.parse_filters(filters) or {}
        filters.setdefault("dangling", ["false" if all else "true"])
        with self._engine.translated("image prune"):
            answer = self._api.prune_images(filters=filters)
        deleted = [d.get("Deleted") or d.get("Untagged") for d in answer.get("ImagesDeleted") or []]
        return {"deleted": deleted, "space_reclaimed": int(answer.get("SpaceReclaimed") or 0)}

