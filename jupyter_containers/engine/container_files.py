"""Containers' files and state: cp, diff, commit, export, update (a mixin of ``Containers``).

``cp`` follows the docker CLI's rules (moby's ``PrepareArchiveCopy``): a trailing ``/.`` copies a
directory's content, a directory copied to a path that does not exist takes that path's name, one
copied to an existing directory goes inside it. Archives from the engine are unpacked beside the
destination first and moved into place when whole, so a failure leaves no partial files; nothing
in them may point or write outside the destination.
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import stat as stat_module
import tarfile
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from . import spec_parse, specs
from .errors import Conflict, ContainersError, InvalidArgument, NotFound

if TYPE_CHECKING:
    import pandas

    from .records import Image

COMMIT_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL",
                       "USER", "VOLUME", "WORKDIR")
DIFF_KINDS = {0: "C", 1: "A", 2: "D"}  # the Engine's Kind, as `docker diff` prints it
GO_DIR, GO_SYMLINK = 1 << 31, 1 << 27  # Go's os.FileMode bits in the engine's path stat
GO_TYPE_BITS = GO_DIR | GO_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


# -- paths, the docker CLI's way --------------------------------------------------------------
def split_cp_arg(arg: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` -> (container, path); a local path -> (None, path), split as the CLI does."""
    if arg.startswith("/"):
        return None, arg
    container, colon, path = arg.partition(":")
    if not colon or container.startswith("."):
        return None, arg
    return container, path


def _current_dir(path: str) -> bool:
    return path == "." or path.endswith("/.")


def _asserts_dir(path: str) -> bool:
    return path.endswith("/") or _current_dir(path)


def _split_entry(path: str) -> tuple[str, str]:
    """(directory, entry), as moby's SplitPathDirEntry: ``d/.`` -> (``d``, ``.``), ``d/f/`` -> (``d``, ``f``)."""
    clean = posixpath.normpath(path)
    if clean == "/" or _current_dir(path):
        return clean, "."
    return posixpath.dirname(clean) or ".", posixpath.basename(clean)


@dataclass(frozen=True)
class CopyPlan:
    """Where an archive is unpacked, and the new name of its top entry (``old``) there."""
    directory: str
    old: str
    new: str


def plan_copy(old: str, src_is_dir: bool, rebase: str | None, dest: str, dest_exists: bool,
              dest_is_dir: bool) -> CopyPlan:
    """The docker CLI's copy rules, for an archive whose top entry is ``old``."""
    if dest_exists and dest_is_dir:
        return CopyPlan(dest, old, rebase or old or ".")
    if dest_exists and src_is_dir:
        raise InvalidArgument(f"cannot copy a directory to a file: {dest} is a file")
    if not dest_exists and not src_is_dir and _asserts_dir(dest):
        raise NotFound(f"destination directory {dest} does not exist; create it first")
    directory, base = _split_entry(dest)
    return CopyPlan(directory, old, base)


def _host_destination(dest: str) -> tuple[str, bool, bool]:
    """(the destination with symlinks at its end followed, whether it exists, whether it is a directory)."""
    path = os.path.expanduser(dest)
    for _ in range(10):
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        path = target if os.path.isabs(target) else os.path.join(_split_entry(path)[0], target)
    else:
        raise InvalidArgument(f"too many symlinks in {dest}")
    if os.path.lexists(path.rstrip("/") or "/"):
        is_dir = os.path.isdir(path)
        if _asserts_dir(dest) and not is_dir:
            raise InvalidArgument(f"{dest} is not a directory")
        return path, True, is_dir
    parent = _split_entry(path)[0]
    if not os.path.isdir(parent):
        raise NotFound(f"destination directory {parent} does not exist; create it first")
    return path, False, False


def _host_source(src: str, follow_link: bool) -> tuple[str, str | None]:
    """(the path to archive, the name it must take when that differs), as the CLI resolves a source."""
    path = os.path.expanduser(src)
    if not os.path.lexists(path.rstrip("/") or "/"):
        raise NotFound(f"no such file or directory: {src}")
    if follow_link:
        resolved = os.path.realpath(path)
        resolved += "/." if _current_dir(path) else "/" if path.endswith("/") else ""
    else:
        head, base = os.path.split(path)
        resolved = os.path.join(os.path.realpath(head or "."), base)
    try:
        (os.stat if follow_link or _asserts_dir(path) else os.lstat)(resolved)
    except NotADirectoryError:
        raise InvalidArgument(f"{src} is not a directory") from None
    except FileNotFoundError:
        raise NotFound(f"{src} is a link to {os.path.realpath(path)}, which does not exist") from None
    requested, actual = _split_entry(path)[1], _split_entry(resolved)[1]
    return resolved, requested if requested != actual else None


# -- unpacking without escaping ---------------------------------------------------------------
class _ChunkReader(io.RawIOBase):
    """A file over an iterator of byte chunks (docker-py's archive streams), for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks, self._rest = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = chunk
        size = min(len(buffer), len(self._rest))
        buffer[:size], self._rest = self._rest[:size], self._rest[size:]
        return size


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _rebase(name: str, old: str, new: str) -> str:
    if name == old or name.startswith(old + "/"):
        return new + name[len(old):]
    return name


def _member_filter(plan: CopyPlan, keep_owner: bool) -> Callable:
    """A tarfile filter: renames the top entry, refuses what would land outside ``root`` (also through a
    symlink the archive made) and hard links to files outside it."""
    def check(member: tarfile.TarInfo, root: str):
        root = os.path.realpath(root)
        name = _rebase(member.name.removeprefix("./") if plan.old != "." else member.name, plan.old, plan.new)
        if name.startswith("/"):
            raise InvalidArgument(f"refusing to unpack {member.name}: an absolute path in the archive")
        if plan.new == "." and name in (".", "./"):
            return None  # the existing destination directory keeps its own attributes, as with the CLI
        where = os.path.realpath(os.path.join(root, name))
        if not _inside(root, where):
            raise InvalidArgument(f"refusing to unpack {member.name}: it would be written outside the destination")
        changes = {"name": name}
        if member.issym():
            pass  # made as a link, whatever it points at, as docker cp does; nothing is ever written through
            # one: a later member under it resolves (realpath above) to where it points, outside, and is refused
        elif member.islnk():
            changes["linkname"] = _rebase(member.linkname, plan.old, plan.new)
            if not _inside(root, os.path.realpath(os.path.join(root, changes["linkname"]))):
                raise InvalidArgument(f"refusing to unpack {member.name}: a hard link to {member.linkname}, "
                                      "outside the destination")
        elif member.ischr() or member.isblk():
            raise InvalidArgument(f"refusing to unpack {member.name}: a device file")
        if not keep_owner:
            changes.update(uid=None, gid=None, uname=None, gname=None)
        return member.replace(**changes, deep=False)
    return check


def unpack(chunks: Iterable[bytes], plan: CopyPlan, keep_owner: bool = False) -> str:
    """Unpack a tar stream as ``plan`` says, whole or not at all; the path it made."""
    try:
        staging = tempfile.mkdtemp(prefix=".jc-cp-", dir=plan.directory)
    except OSError as exc:
        raise ContainersError(f"cannot write in {plan.directory}: {exc.strerror}") from None
    try:
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks)), mode="r|") as tar:
            tar.extractall(staging, numeric_owner=True, filter=_member_filter(plan, keep_owner))
        _check_merge(staging, plan.directory)
        _merge(staging, plan.directory, keep_owner)
    except tarfile.TarError as exc:
        raise ContainersError(f"the archive could not be read: {exc}") from None
    except OSError as exc:
        if exc.errno is None:  # the engine's stream broke off (requests' errors are OSErrors too)
            raise
        raise ContainersError(f"cannot write {exc.filename or plan.directory}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return os.path.normpath(os.path.join(plan.directory, plan.new))


def _real_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _check_merge(source: str, target: str) -> None:
    """Refuse, before anything moves, a directory over a non-directory or the reverse (as the CLI does)."""
    for entry in os.scandir(source):
        there = os.path.join(target, entry.name)
        if not os.path.lexists(there):
            continue
        if entry.is_dir(follow_symlinks=False) != _real_dir(there):
            old, new = ("directory", "non-directory") if _real_dir(there) else ("non-directory", "directory")
            raise Conflict(f"cannot overwrite the {old} {there} with a {new}")
        if entry.is_dir(follow_symlinks=False):
            _check_merge(entry.path, there)


def _merge(source: str, target: str, keep_owner: bool) -> None:
    for entry in list(os.scandir(source)):
        there = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False) and _real_dir(there):
            _merge(entry.path, there, keep_owner)
            shutil.copystat(entry.path, there)
            if keep_owner:
                info = os.lstat(entry.path)
                os.chown(there, info.st_uid, info.st_gid)
        else:
            os.replace(entry.path, there)


def write_stream(path: str, chunks: Iterable[bytes], on_progress: Callable[[int], None] | None = None) -> int:
    """Write ``chunks`` to ``path`` through a temporary file beside it (a failure leaves no file); bytes written."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        raise InvalidArgument(f"{path} is a directory; give a file name")
    if not os.path.isdir(os.path.dirname(path)):
        raise NotFound(f"directory {os.path.dirname(path)} does not exist; create it first")
    descriptor, temporary = tempfile.mkstemp(prefix=".jc-", suffix=".part", dir=os.path.dirname(path))
    written = 0
    try:
        with os.fdopen(descriptor, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
                if on_progress is not None:
                    on_progress(written)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise ContainersError(f"cannot write {path}: {exc.strerror}") from None
        raise
    return written


def check_changes(changes: Iterable[str] | None) -> list[str]:
    """``--change`` values: Dockerfile instructions a commit or import may apply."""
    out = []
    for change in changes or ():
        keyword = str(change).strip().split(None, 1)[0].upper() if str(change).strip() else ""
        if keyword not in COMMIT_INSTRUCTIONS:
            raise InvalidArgument(f"invalid change {change!r}: use one of {', '.join(COMMIT_INSTRUCTIONS)} "
                                  "with its arguments, e.g. 'ENV A=1'")
        out.append(str(change).strip())
    return out


def _size(value: str | int | None, name: str, unlimited: bool = False) -> int | None:
    if unlimited and str(value) == "-1":
        return -1
    try:
        size = None if value is None else spec_parse.parse_size(value)
    except OverflowError:
        size = -1
    if size is not None and not 0 <= size < 2 ** 63:
        raise InvalidArgument(f"invalid {name} {value!r}: use bytes or a number with b, k, m or g")
    return size


class ContainerFiles:
    """``self._engine`` and ``self._api`` come from ``Containers``."""

    # -- cp ------------------------------------------------------------------------------------
    def cp(self, src: str, dest: str, *, follow_link: bool = False, archive: bool = False) -> str:
        """``docker cp``: one of ``src`` and ``dest`` is ``CONTAINER:PATH``; the path written."""
        (src_ref, src_path), (dest_ref, dest_path) = split_cp_arg(src), split_cp_arg(dest)
        if src_ref and dest_ref:
            raise InvalidArgument("copying between containers is not supported; copy to the host and back")
        if not src_ref and not dest_ref:
            raise InvalidArgument("say which container: CONTAINER:PATH as the source or the destination")
        for ref, path in ((src_ref, src_path), (dest_ref, dest_path)):
            if ref and not path:
                raise InvalidArgument(f"bad CONTAINER:PATH {ref}: (no path after the colon); e.g. {ref}:/tmp")
            if not ref and path == "-":
                raise InvalidArgument("'-' (a tar stream on stdin or stdout) is not available here; give a path")
        if src_ref:
            return self.cp_from(src_ref, src_path, dest_path, follow_link=follow_link, archive=archive)
        return self.cp_to(src_path, dest_ref, dest_path, follow_link=follow_link, archive=archive)

    def cp_from(self, ref: str, src: str, dest: str, *, follow_link: bool = False, archive: bool = False) -> str:
        """Copy ``src`` in the container to ``dest`` here; with ``archive`` files keep their uid/gid."""
        self.inspect(ref)
        info = self.path_stat(ref, src)
        rebase = None
        if follow_link and info["mode"] & GO_SYMLINK and not _asserts_dir(src):
            target = info["linkTarget"]
            target = target if target.startswith("/") else posixpath.join(_split_entry(src)[0], target)
            rebase, src, info = _split_entry(src)[1], target, self.path_stat(ref, target)
        is_dir = bool(info["mode"] & GO_DIR)
        dest_path, exists, dest_is_dir = _host_destination(dest)
        # the engine names the root's entries "/bin", ...: the root is copied as its content, as "/." is
        old = "" if info["name"] == "/" else info["name"]
        plan = plan_copy(old, is_dir, rebase, dest_path, exists, dest_is_dir)
        with self._engine.translated("cp", "container", ref):
            chunks, _ = self._api.get_archive(ref, src)
            return unpack(chunks, plan, keep_owner=archive)

    def cp_to(self, src: str, ref: str, dest: str, *, follow_link: bool = False, archive: bool = False) -> str:
        """Copy ``src`` here to ``dest`` in the container; without ``archive`` the files belong to root there."""
        self.inspect(ref)
        path, rebase = _host_source(src, follow_link)
        is_dir = os.path.isdir(path) if path.endswith(("/", "/.")) else stat_module.S_ISDIR(os.lstat(path).st_mode)
        dest, info = self._container_destination(ref, dest)
        plan = plan_copy(_split_entry(path)[1], is_dir, rebase, dest, info is not None,
                         bool(info and info["mode"] & GO_DIR))

        def owner(member: tarfile.TarInfo) -> tarfile.TarInfo:
            if not archive:
                member.uid = member.gid = 0
                member.uname = member.gname = ""
            return member

        with tempfile.TemporaryFile() as body:
            try:
                with tarfile.open(fileobj=body, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    tar.add(path, arcname=plan.new, filter=owner)
            except OSError as exc:
                raise ContainersError(f"cannot read {exc.filename or src}: {exc.strerror or exc}") from None
            body.seek(0)
            with self._engine.translated("cp", "container", ref):
                response = self._api._put(self._api._url("/containers/{0}/archive", ref), data=body,
                                          params={"path": plan.directory, "noOverwriteDirNonDir": "true"})
                self._api._raise_for_status(response)
        return f"{ref}:{posixpath.normpath(posixpath.join(plan.directory, plan.new))}"

    def path_stat(self, ref: str, path: str, missing_ok: bool = False) -> dict | None:
        """The engine's stat of a path in a container (name, size, mode as Go's FileMode, linkTarget)."""
        from docker.utils import decode_json_header

        with self._engine.translated("cp", "container", ref):
            response = self._api.head(self._api._url("/containers/{0}/archive", ref), params={"path": path})
        if response.status_code == 404:
            if missing_ok:
                return None
            raise NotFound(f"no such file or directory: {ref}:{path}", status=404, operation="cp", target=ref)
        if response.status_code != 200:
            why = "not a directory" if _asserts_dir(path) else f"the engine answered {response.status_code}"
            raise InvalidArgument(f"cannot read {ref}:{path}: {why}", status=response.status_code,
                                  operation="cp", target=ref)
        return decode_json_header(response.headers["X-Docker-Container-Path-Stat"])

    def _container_destination(self, ref: str, dest: str) -> tuple[str, dict | None]:
        info = self.path_stat(ref, dest, missing_ok=True)
        if info and info["mode"] & GO_SYMLINK:  # the CLI follows one link at the destination
            target = info["linkTarget"]
            dest = target if target.startswith("/") else posixpath.join(_split_entry(dest)[0], target)
            info = self.path_stat(ref, dest, missing_ok=True)
        if info is None:
            parent = _split_entry(dest)[0]
            above = self.path_stat(ref, parent, missing_ok=True)
            if not above or not above["mode"] & GO_DIR:
                raise NotFound(f"destination directory {ref}:{parent} does not exist; create it first",
                               status=404, operation="cp", target=ref)
        elif info["mode"] & GO_TYPE_BITS and not info["mode"] & GO_DIR:
            raise InvalidArgument(f"destination {ref}:{dest} must be a directory or a regular file")
        return dest, info

    # -- state ---------------------------------------------------------------------------------
    def diff(self, ref: str) -> "pandas.DataFrame":
        """``docker diff``: one row per changed path, kind ``A`` (added), ``C`` (changed) or ``D`` (deleted)."""
        import pandas as pd

        with self._engine.translated("diff", "container", ref):
            changes = self._api.diff(ref) or []
        return pd.DataFrame([(DIFF_KINDS.get(c["Kind"], "?"), c["Path"]) for c in changes], columns=["kind", "path"])

    def commit(self, ref: str, repository: str | None = None, *, changes: Iterable[str] | None = None,
               message: str | None = None, author: str | None = None, pause: bool = True) -> "Image":
        """A new image from the container's changes; ``changes`` are Dockerfile instructions (``ENV A=1``)."""
        repo, tag = specs.split_reference(repository) if repository else (None, None)
        instructions = check_changes(changes)
        try:
            with self._engine.translated("commit", "container", ref):
                answer = self._api.commit(ref, repository=repo, tag=tag, message=message, author=author,
                                          pause=pause, changes=instructions or None)
        except InvalidArgument as exc:  # the engine read the changes (and made nothing)
            if not instructions:
                raise
            raise InvalidArgument(f"{exc.message} (in the changes {', '.join(map(repr, instructions))})",
                                  status=exc.status, operation="commit", target=ref) from None
        return self._engine.images.get(answer["Id"])

    def export(self, ref: str, path: str, *, on_progress: Callable[[int], None] | None = None) -> int:
        """Write the container's filesystem as a tar archive to ``path``; bytes written."""
        self.inspect(ref)
        with self._engine.translated("export", "container", ref):
            return write_stream(path, self._api.export(ref), on_progress)

    def update(self, ref: str, *, cpus: float | None = None, cpu_shares: int | None = None,
               cpu_period: int | None = None, cpu_quota: int | None = None, cpuset_cpus: str | None = None,
               cpuset_mems: str | None = None, memory: str | int | None = None,
               memory_reservation: str | int | None = None, memory_swap: str | int | None = None,
               pids_limit: int | None = None, blkio_weight: int | None = None,
               restart: str | None = None) -> list[str]:
        """``docker update``: change resources and the restart policy; the engine's warnings."""
        if cpus is not None and cpus <= 0:
            raise InvalidArgument(f"invalid cpus {cpus!r}: a positive number")
        if blkio_weight not in (None, 0) and not 10 <= blkio_weight <= 1000:
            raise InvalidArgument(f"invalid blkio weight {blkio_weight}: between 10 and 1000, or 0")
        body = {"NanoCpus": int(cpus * 1e9) if cpus else None, "CpuShares": cpu_shares, "CpuPeriod": cpu_period,
                "CpuQuota": cpu_quota, "CpusetCpus": cpuset_cpus, "CpusetMems": cpuset_mems,
                "Memory": _size(memory, "memory"), "MemoryReservation": _size(memory_reservation, "memory reservation"),
                "MemorySwap": _size(memory_swap, "memory swap", unlimited=True), "PidsLimit": pids_limit,
                "BlkioWeight": blkio_weight,
                "RestartPolicy": None if restart is None else spec_parse.parse_restart(restart)}
        body = {key: value for key, value in body.items() if value is not None}
        if not body:
            raise InvalidArgument("say what to update, e.g. --memory 256m --memory-swap 512m, --cpus 1 or --restart")
        with self._engine.translated("update", "container", ref):
            response = self._api._post_json(self._api._url("/containers/{0}/update", ref), data=body)
            answer = self._api._result(response, json=True)
        return answer.get("Warnings") or []

    # -- checkpoints (experimental engines with CRIU) -----------------------------------------
    def _require_checkpoints(self) -> None:
        info = self._engine.system.info()
        if not info.get("ExperimentalBuild"):
            raise ContainersError("this engine does not support checkpoints: they need an engine with "
                                  "experimental features on (dockerd --experimental; this one says ExperimentalBuild "
                                  "false) and CRIU installed", operation="checkpoint")

    def checkpoint_create(self, ref: str, name: str, *, leave_running: bool = False,
                          checkpoint_dir: str | None = None) -> None:
        self._require_checkpoints()
        body = {"CheckpointID": name, "Exit": not leave_running, "CheckpointDir": checkpoint_dir}
        with self._engine.translated("checkpoint create", "container", ref):
            self._api._result(self._api._post_json(self._api._url("/containers/{0}/checkpoints", ref), data=body))

    def checkpoints(self, ref: str, checkpoint_dir: str | None = None) -> list[str]:
        self._require_checkpoints()
        with self._engine.translated("checkpoint ls", "container", ref):
            response = self._api._get(self._api._url("/containers/{0}/checkpoints", ref),
                                      params={"dir": checkpoint_dir} if checkpoint_dir else None)
            return [c.get("Name", "") for c in self._api._result(response, json=True) or []]

    def checkpoint_remove(self, ref: str, name: str, checkpoint_dir: str | None = None) -> None:
        self._require_checkpoints()
        with self._engine.translated("checkpoint rm", "container", ref):
            response = self._api._delete(self._api._url("/containers/{0}/checkpoints/{1}", ref, name),
                                         params={"dir": checkpoint_dir} if checkpoint_dir else None)
            self._api._raise_for_status(response)
