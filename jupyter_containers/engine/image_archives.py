"""Images as tar archives: save, load, import (a mixin of ``Images``)."""

from __future__ import annotations

import os
import tarfile
from typing import TYPE_CHECKING, Callable, Iterable

from . import specs
from .container_files import check_changes, write_stream
from .errors import ContainersError, ImageNotFound, InvalidArgument, NotFound

if TYPE_CHECKING:
    from .records import Image

Progress = Callable[[int], None]
CHUNK = 1 << 20


class _CountingReader:
    """A file being sent to the engine, telling ``on_progress`` how many bytes went
    (only ``read`` and a length: requests then sends it with a Content-Length)."""

    def __init__(self, file, on_progress: Progress | None):
        self._file, self._on_progress, self._sent = file, on_progress, 0
        self._size = os.fstat(file.fileno()).st_size

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._sent += len(data)
        if data and self._on_progress is not None:
            self._on_progress(self._sent)
        return data


def _tar_file(path: str, verb: str, what: str) -> str:
    """``path`` if it is a readable tar archive (plain or compressed), else one line saying what it is not."""
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise NotFound(f"no such file: {path}", operation=verb, target=path)
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError as exc:
        raise ContainersError(f"cannot read {path}: {exc.strerror or exc}", operation=verb, target=path) from None
    if not is_tar:
        raise InvalidArgument(f"{path} is not a tar archive; {verb} takes {what}", operation=verb, target=path)
    return path


def _has_top_level(path: str, names: tuple[str, ...]) -> bool:
    try:
        with tarfile.open(path) as tar:
            return any(member.name.removeprefix("./") in names for member in tar)
    except (tarfile.TarError, OSError, EOFError):
        return False


def _error_of(item: dict) -> str | None:
    from .images import _stream_error

    return _stream_error(item)


class ImageArchives:
    """``self._engine`` and ``self._api`` come from ``Images``."""

    def save(self, refs: str | Iterable[str], path: str, *, on_progress: Progress | None = None) -> int:
        """``docker save -o``: one or more images (with their tags) into one tar file; bytes written."""
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs:
            raise InvalidArgument("say which images to save")
        for ref in refs:  # one line naming an image that is not here, before any file is made
            if not self.exists(ref):
                raise ImageNotFound(f"no such image: {ref}", status=404, operation="save", target=ref)

        def chunks():
            with self._engine.translated("save", "image", ", ".join(refs)):
                response = self._api._get(self._api._url("/images/get"), params={"names": refs}, stream=True)
                with response:
                    self._api._raise_for_status(response)
                    yield from response.iter_content(CHUNK)
        return write_stream(path, chunks(), on_progress)

    def load(self, path: str, *, quiet: bool = False, on_progress: Progress | None = None) -> list[str]:
        """``docker load -i``: the images in a tar written by ``save``; the names (or ids) it loaded."""
        path = _tar_file(path, "load", "what save (or docker save) wrote")
        if not _has_top_level(path, ("manifest.json", "repositories")):
            raise InvalidArgument(f"{path} is not an image archive (it has no manifest.json); load takes what save "
                                  "(or docker save) wrote, import takes a filesystem tar", operation="load", target=path)
        names: list[str] = []
        with open(path, "rb") as file, self._engine.translated("load"):
            try:
                for item in self._api.load_image(_CountingReader(file, on_progress), quiet=quiet):
                    error = _error_of(item)
                    if error:
                        raise ContainersError(error)
                    for line in (item.get("stream") or "").splitlines():
                        name = line.partition("Loaded image: ")[2] or line.partition("Loaded image ID: ")[2]
                        if name:
                            names.append(name.strip())
            except ContainersError as exc:
                raise type(exc)(f"{path} is not an image archive (what save writes): {exc.message}",
                                status=exc.status, operation="load", target=path) from None
        return names

    def import_(self, source: str, repository: str | None = None, *, changes: Iterable[str] | None = None,
                message: str | None = None, platform: str | None = None,
                on_progress: Progress | None = None) -> "Image":
        """``docker import``: a filesystem tar (e.g. from ``export``) as a one-layer image.

        Only local files: the engine would fetch a URL itself, from wherever it runs."""
        if "://" in source:
            raise InvalidArgument(f"import takes a local file, not a URL ({source}); download it first, "
                                  "then import the file", operation="import", target=source)
        if source == "-":
            raise InvalidArgument("'-' (stdin) is not available here; give a file", operation="import")
        path = _tar_file(source, "import", "a tar archive of a filesystem (e.g. from export)")
        repo, tag = specs.split_reference(repository) if repository else (None, None)
        params = {"fromSrc": "-", "repo": repo, "tag": tag, "message": message,
                  "changes": check_changes(changes) or None, "platform": platform}
        image_id = None
        with open(path, "rb") as file, self._engine.translated("import", "image", repository):
            response = self._api._post(self._api._url("/images/create"), data=_CountingReader(file, on_progress),
                                       params={k: v for k, v in params.items() if v is not None},
                                       headers={"Content-Type": "application/tar"}, stream=True)
            for item in self._api._stream_helper(response, decode=True):
                error = _error_of(item)
                if error:
                    raise ContainersError(f"import of {path} failed: {error}", operation="import", target=path)
                status = item.get("status") or ""
                image_id = status if status.startswith("sha256:") else image_id
        if image_id is None:
            raise ContainersError(f"import of {path} ended without an image", operation="import", target=path)
        return self.get(image_id)
