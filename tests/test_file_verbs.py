"""cp, commit, diff, save/load, export/import, update, network connect/disconnect, container/image inspect
and checkpoint, through %container against the real engine; where the docker CLI does the same job, the
same input goes to both and the results are compared."""

from __future__ import annotations

import io
import json
import os
import random
import stat
import subprocess
import tarfile
import uuid

import pytest

from conftest import BUSYBOX, usage_error
from jupyter_containers.engine import Image, InvalidArgument
from jupyter_containers.engine.container_files import CopyPlan, unpack
from jupyter_containers.magics.display import JSONView
from jupyter_containers.magics.file_commands import JSONList

pytestmark = pytest.mark.usefixtures("busybox")


def magic(ip, line: str):
    return ip.run_line_magic("container", line)


def docker(engine, *args: str) -> str:
    """The docker CLI against the same engine."""
    done = subprocess.run(["docker", *args], env={**os.environ, "DOCKER_HOST": engine.url},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sh(engine, ref: str, script: str) -> str:
    result = engine.containers.exec(ref, ["sh", "-c", script])
    assert result.exit_code == 0, result.output + result.stderr
    return result.output


@pytest.fixture
def box(engine, name):
    """A running busybox container (it has no /tmp: tests make what they need)."""
    engine.containers.run(BUSYBOX, "sleep 600", name=name)
    return name


@pytest.fixture
def made_images(root_engine):
    """Image references a test makes; removed (with containers made from them) afterwards."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        for container in root_engine.containers.list(all=True, filters={"ancestor": ref}):
            root_engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
        if root_engine.images.exists(ref):
            root_engine.images.remove(ref, force=True)


def unique(prefix: str) -> str:
    return f"jc-test/{prefix}-{uuid.uuid4().hex[:8]}:1"


# -- trees compared by bytes, modes and link targets -----------------------------------------------
def make_tree(root) -> None:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "empty").mkdir(mode=0o750)
    (root / "a.txt").write_text("hello from the host\n")
    (root / "bin.dat").write_bytes(random.Random(7).randbytes(70_000))
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "sub" / "deep" / "x").write_bytes(b"\x00deep\xff")
    os.chmod(root / "bin.dat", 0o600)
    os.chmod(root / "run.sh", 0o755)
    os.chmod(root / "sub" / "deep" / "x", 0o640)
    os.chmod(root / "empty", 0o750)
    os.symlink("deep/x", root / "sub" / "link")
    os.symlink("nowhere", root / "dangling")  # copied as it is, as the CLI does


def tree(root) -> dict:
    """relative path -> (kind, permission bits, bytes or link target), for the host."""
    out = {}
    for directory, dirs, files in os.walk(root):
        for entry in dirs + files:
            path = os.path.join(directory, entry)
            info = os.lstat(path)
            key = os.path.relpath(path, root)
            if stat.S_ISLNK(info.st_mode):
                out[key] = ("l", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[key] = ("d", stat.S_IMODE(info.st_mode))
            else:
                out[key] = ("f", stat.S_IMODE(info.st_mode), open(path, "rb").read())
    return out


def container_tree(engine, ref: str, path: str) -> dict:
    """The same for a directory in a container, read with docker-py alone (not with our cp)."""
    chunks, _ = engine.api.get_archive(ref, path)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        for member in tar:
            key = member.name.partition("/")[2]
            if not key:
                continue
            if member.issym():
                out[key] = ("l", member.linkname)
            elif member.isdir():
                out[key] = ("d", member.mode & 0o7777)
            else:
                out[key] = ("f", member.mode & 0o7777, tar.extractfile(member).read())
    return out


# -- cp ------------------------------------------------------------------------------------------
def test_cp_round_trip_keeps_bytes_modes_and_links(ip, engine, box, tmp_path):
    make_tree(tmp_path / "src")
    magic(ip, f"cp {tmp_path}/src {box}:/copied")  # a destination that does not exist takes the name
    assert container_tree(engine, box, "/copied") == tree(tmp_path / "src")
    magic(ip, f"cp {box}:/copied {tmp_path}/back")
    assert tree(tmp_path / "back") == tree(tmp_path / "src")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".jc-")]  # no staging left


CP_CASES = [  # (source under the tree, destination, flags, destinations made first)
    ("src", "d1", "", []),                           # directory to a new path: takes its name
    ("src", "d2", "", ["d2"]),                       # to an existing directory: goes inside
    ("src/.", "d3", "", ["d3"]),                     # /. : the content, into the existing directory
    ("src/.", "d4", "", []),                         # /. to a new path: like the directory itself
    ("src/a.txt", "d5", "", ["d5"]),                 # a file into a directory
    ("src/a.txt", "d6/renamed.txt", "", ["d6"]),     # a file to a new name
    ("src/a.txt", "d7/old.txt", "", ["d7", "d7/old.txt"]),  # a file over an existing file
    ("src/sub/link", "d8", "", ["d8"]),              # a link, copied as the link
    ("src/dangling", "d8", "", ["d8"]),              # a link to nothing, too
    ("src/sub/link", "d9", "-L", ["d9"]),            # -L: the file it points to, under the link's name
]


def test_cp_into_container_as_docker_cp_does(ip, engine, box, tmp_path):
    make_tree(tmp_path / "src")
    made = sorted({d for _, _, _, ds in CP_CASES for d in ds})
    dirs = [f"/{side}/{d}" for side in ("ref", "ours") for d in made if "." not in d]
    sh(engine, box, f"mkdir -p {' '.join(dirs)} && for s in ref ours; do echo old > /$s/d7/old.txt; done")
    for source, dest, flags, _ in CP_CASES:
        docker(engine, "cp", *flags.split(), f"{tmp_path}/{source}", f"{box}:/ref/{dest}")
        magic(ip, f"cp {flags} {tmp_path}/{source} {box}:/ours/{dest}")
    ours = container_tree(engine, box, "/ours")
    assert ours == container_tree(engine, box, "/ref")
    assert ours["d1/a.txt"][2] == b"hello from the host\n" and ours["d2/src/sub/link"] == ("l", "deep/x")
    assert ours["d7/old.txt"][2] == b"hello from the host\n" and ours["d9/link"][2] == b"\x00deep\xff"


def test_cp_out_of_container_as_docker_cp_does(ip, engine, box, tmp_path):
    make_tree(tmp_path / "host")
    docker(engine, "cp", f"{tmp_path}/host", f"{box}:/src")
    for side in ("ref", "ours"):
        for d in sorted({d for _, _, _, ds in CP_CASES for d in ds}):
            if d.endswith(".txt"):
                (tmp_path / side / d).write_text("old\n")
            else:
                (tmp_path / side / d).mkdir(parents=True)
    for source, dest, flags, _ in CP_CASES:
        docker(engine, "cp", *flags.split(), f"{box}:/{source}", f"{tmp_path}/ref/{dest}")
        magic(ip, f"cp {flags} {box}:/{source} {tmp_path}/ours/{dest}")
    ours = tree(tmp_path / "ours")
    assert ours == tree(tmp_path / "ref")
    assert ours["d4/bin.dat"] == tree(tmp_path / "host")["bin.dat"] and ours["d8/link"] == ("l", "deep/x")


def test_cp_archive_mode_keeps_owners(ip, engine, box, tmp_path):
    owned = tmp_path / "owned"
    owned.write_text("mine\n")
    os.chown(owned, 1234, 5678)
    os.chmod(owned, 0o750)
    magic(ip, f"cp -a {owned} {box}:/kept")
    magic(ip, f"cp {owned} {box}:/rooted")
    assert sh(engine, box, "stat -c '%u:%g %a' /kept /rooted").split("\n")[:2] == ["1234:5678 750", "0:0 750"]
    sh(engine, box, "echo theirs > /theirs && chown 4321:8765 /theirs && chmod 604 /theirs")
    magic(ip, f"cp -a {box}:/theirs {tmp_path}/a")
    magic(ip, f"cp {box}:/theirs {tmp_path}/b")
    a, b = os.stat(tmp_path / "a"), os.stat(tmp_path / "b")
    assert (a.st_uid, a.st_gid, stat.S_IMODE(a.st_mode)) == (4321, 8765, 0o604)
    assert (b.st_uid, b.st_gid, stat.S_IMODE(b.st_mode)) == (os.getuid(), os.getgid(), 0o604)


def test_cp_symlink_with_and_without_follow_link(ip, engine, box, tmp_path):
    sh(engine, box, "mkdir /t && echo data > /t/target && ln -s target /t/link")
    magic(ip, f"cp {box}:/t/link {tmp_path}/as-link")
    magic(ip, f"cp -L {box}:/t/link {tmp_path}/followed")
    assert os.readlink(tmp_path / "as-link") == "target"
    assert not os.path.islink(tmp_path / "followed") and (tmp_path / "followed").read_bytes() == b"data\n"
    os.symlink("followed", tmp_path / "host-link")
    magic(ip, f"cp {tmp_path}/host-link {box}:/t/")
    magic(ip, f"cp --follow-link {tmp_path}/host-link {box}:/t/deref")
    assert sh(engine, box, "readlink /t/host-link; cat /t/deref") == "followed\ndata\n"


def test_cp_copies_links_as_links_and_never_writes_through_them(ip, engine, box, tmp_path):
    """As docker cp: a symlink is copied as a symlink, whatever it points at (busybox's /bin is all
    absolute links); what it points at on the host is never touched."""
    sh(engine, box, "mkdir -p /t/tree/inner && ln -s ../../../../../etc/passwd /t/up && ln -s /etc/passwd /t/abs"
                    " && echo ok > /t/tree/file && ln -s ../../../../../../etc /t/tree/inner/escape")
    for source in ("up", "abs", "tree"):
        magic(ip, f"cp {box}:/t/{source} {tmp_path}/{source}")
    assert os.readlink(tmp_path / "abs") == "/etc/passwd" and os.readlink(tmp_path / "up") == "../../../../../etc/passwd"
    assert os.readlink(tmp_path / "tree" / "inner" / "escape") == "../../../../../../etc"
    assert (tmp_path / "tree" / "file").read_text() == "ok\n"
    magic(ip, f"cp {box}:/bin {tmp_path}/bin")
    assert os.readlink(tmp_path / "bin" / "sh") == "/bin/busybox"
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith(".")) == []  # no staging directory left


def crafted(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(member_of("x/", tarfile.DIRTYPE), None)
        tar.addfile(member_of("x/fine", data=b"ok"), io.BytesIO(b"ok"))
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def member_of(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    return info


@pytest.mark.parametrize("members", [
    [member_of("../escape", data=b"x")], [member_of("/abs", data=b"x")], [member_of("x/../../escape", data=b"x")],
    [member_of("x/up", tarfile.SYMTYPE, "../.."), member_of("x/up/escape", data=b"x")],
    [member_of("x/abs", tarfile.SYMTYPE, "OUTSIDE"), member_of("x/abs/escape", data=b"x")],
    [member_of("x/hard", tarfile.LNKTYPE, "../../etc/passwd")], [member_of("x/dev", tarfile.CHRTYPE)],
], ids=["dotdot", "absolute", "dotdot-inside", "through-symlink-up", "through-symlink-absolute", "hardlink",
        "device"])
def test_unpack_refuses_what_would_escape(tmp_path, members):
    for member in members:  # an absolute link to the test's own parent directory
        member.linkname = member.linkname.replace("OUTSIDE", str(tmp_path.parent))
    with pytest.raises(InvalidArgument, match="refusing to unpack"):
        unpack([crafted(*((m, m.size and b"x") for m in members))], CopyPlan(str(tmp_path), "x", "x"))
    assert os.listdir(tmp_path) == [] and not os.path.exists(tmp_path.parent / "escape")


def test_unpack_an_archive_of_the_root(tmp_path):
    """The engine names the entries of ``CONTAINER:/`` "/bin", ...: copied as the root's content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in ((member_of("", tarfile.DIRTYPE), None), (member_of("/etc", tarfile.DIRTYPE), None),
                           (member_of("/etc/motd", data=b"hi\n"), b"hi\n")):
            tar.addfile(info, io.BytesIO(data) if data else None)
    assert unpack([buffer.getvalue()], CopyPlan(str(tmp_path), "", "root")) == str(tmp_path / "root")
    assert (tmp_path / "root" / "etc" / "motd").read_bytes() == b"hi\n"


@pytest.mark.parametrize("line, expected", [
    ("cp jc-test-no-such:/x {tmp}", "container cp: No such container: jc-test-no-such"),
    ("cp {box}: {tmp}", "container cp: bad CONTAINER:PATH {box}: (no path after the colon)"),
    ("cp {tmp}/a {tmp}/b", "container cp: say which container"),
    ("cp {box}:/bin/sh other:/x", "container cp: copying between containers is not supported"),
    ("cp {box}:/nope {tmp}", "container cp: no such file or directory: {box}:/nope"),
    ("cp {box}:/bin/busybox/ {tmp}", "container cp: cannot read {box}:/bin/busybox/: not a directory"),
    ("cp {box}:/bin/busybox {tmp}/missing/x", "container cp: destination directory {tmp}/missing does not exist"),
    ("cp {box}:/bin/busybox {tmp}/missing/", "container cp: destination directory {tmp}/missing/ does not exist"),
    ("cp {box}:/bin {tmp}/file", "container cp: cannot copy a directory to a file"),
    ("cp {tmp}/file {box}:/missing/x", "container cp: destination directory {box}:/missing does not exist"),
    ("cp {tmp}/nope {box}:/", "container cp: no such file or directory: {tmp}/nope"),
    ("cp {box}:/bin/busybox -", "container cp: '-' (a tar stream on stdin or stdout) is not available here"),
    ("cp --archive=yes {box}:/x {tmp}", "container cp: argument -a/--archive: ignored explicit argument"),
])
def test_cp_bad_input_is_one_line(ip, engine, box, tmp_path, line, expected):
    (tmp_path / "file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    fill = {"tmp": tmp_path, "box": box}
    assert expected.format(**fill) in usage_error(ip, "%container " + line.format(**fill))
    assert sorted(os.listdir(tmp_path)) == before
    assert sh(engine, box, "ls /") .split() == ["bin", "dev", "etc", "proc", "sys"]


# -- commit and diff -----------------------------------------------------------------------------
def test_commit_with_changes(ip, engine, box, made_images):
    ref = unique("commit")
    made_images.append(ref)
    sh(engine, box, "mkdir /w && echo committed > /note")
    image = magic(ip, f"""commit -c 'ENV A=1' -c 'CMD ["cat", "/note"]' -c 'EXPOSE 8080' -c 'LABEL team=nb' """
                      f"""-c 'USER 1000' -c 'WORKDIR /w' -c 'VOLUME /data' -m "a message" """
                      f"""-a "Me <me@example.org>" {box} {ref}""")
    assert isinstance(image, Image) and ref in image.tags
    config = engine.images.inspect(ref)["Config"]
    assert "A=1" in config["Env"] and config["Cmd"] == ["cat", "/note"] and "8080/tcp" in config["ExposedPorts"]
    assert config["Labels"]["team"] == "nb" and config["User"] == "1000" and config["WorkingDir"] == "/w"
    assert config["Volumes"] == {"/data": {}}
    raw = engine.images.inspect(ref)
    assert raw["Comment"] == "a message" and raw["Author"] == "Me <me@example.org>"
    run = engine.containers.run(ref, detach=False)
    assert engine.containers.logs(run.id) == "committed\n"
    assert engine.containers.inspect(box)["State"]["Running"]  # paused for the commit, then running again


@pytest.mark.parametrize("change, expected", [
    ("FROB x", "invalid change 'FROB x': use one of CMD, ENTRYPOINT, ENV"),
    ("ENV", "ENV requires at least one argument"),
])
def test_commit_bad_change_makes_no_image(ip, engine, box, change, expected):
    ref = unique("bad-commit")
    assert expected in usage_error(ip, f"%container commit -c '{change}' {box} {ref}")
    assert not engine.images.exists(ref)


def test_diff_rows_match_docker_diff(ip, engine, box):
    sh(engine, box, "mkdir /added && touch /added/f && rm /bin/vi && echo x > /bin/extra")
    frame = magic(ip, f"diff {box}")
    assert list(frame.columns) == ["kind", "path"]
    rows = set(frame.itertuples(index=False, name=None))
    assert {("A", "/added"), ("A", "/added/f"), ("C", "/bin"), ("D", "/bin/vi"), ("A", "/bin/extra")} <= rows
    cli = {tuple(line.split(" ", 1)) for line in docker(engine, "diff", box).splitlines()}
    assert rows == cli and len(frame) == len(cli)


# -- save / load, export / import ----------------------------------------------------------------
def small_rootfs(path, text: str) -> None:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))


def manifest(path) -> list:
    with tarfile.open(path) as tar:
        return sorted(json.load(tar.extractfile("manifest.json")), key=lambda m: m["Config"])


def test_save_and_load_round_trip(ip, engine, tmp_path, made_images, capsys):
    tagged, imported = unique("saved"), unique("imported")
    made_images.extend([tagged, imported])
    engine.images.tag(BUSYBOX, tagged)
    small_rootfs(tmp_path / "rootfs.tar", "tiny\n")
    magic(ip, f"import {tmp_path}/rootfs.tar {imported}")
    ids = {ref: engine.images.get(ref).id for ref in (tagged, imported)}
    archive = tmp_path / "both.tar"
    magic(ip, f"save -o {archive} {tagged} {imported}")
    assert f"saved {tagged}, {imported} to {archive}" in capsys.readouterr().out
    docker(engine, "save", "-o", str(tmp_path / "cli.tar"), tagged, imported)
    assert manifest(archive) == manifest(tmp_path / "cli.tar") and len(manifest(archive)) == 2
    for ref in ids:
        engine.images.remove(ref)
    assert not engine.images.exists(imported)  # gone, so load really brings it back
    names = magic(ip, f"load -i {archive}")
    assert sorted(names) == sorted(ids)
    assert {ref: engine.images.get(ref).id for ref in ids} == ids
    assert "loaded" in capsys.readouterr().out
    assert magic(ip, f"load -q --input {archive}") == names and capsys.readouterr().out == ""


def test_save_and_load_bad_input(ip, engine, tmp_path):
    (tmp_path / "text.tar").write_text("not a tar at all\n")
    small_rootfs(tmp_path / "rootfs.tar", "not an image\n")
    before = sorted(os.listdir(tmp_path))
    cases = [
        (f"save {BUSYBOX}", "container save: say where: -o FILE"),
        (f"save -o {tmp_path}/x.tar jc-test-no-such:1", "container save: no such image: jc-test-no-such:1"),
        (f"save -o {tmp_path}/missing/x.tar {BUSYBOX}", f"container save: directory {tmp_path}/missing does not"),
        ("load", "container load: say which file: -i FILE"),
        (f"load -i {tmp_path}/nope.tar", f"container load: no such file: {tmp_path}/nope.tar"),
        (f"load -i {tmp_path}/text.tar", f"container load: {tmp_path}/text.tar is not a tar archive"),
        (f"load -i {tmp_path}/rootfs.tar", f"container load: {tmp_path}/rootfs.tar is not an image archive"),
    ]
    for line, expected in cases:
        assert expected in usage_error(ip, "%container " + line)
    assert sorted(os.listdir(tmp_path)) == before


def test_export_and_import_round_trip(ip, engine, box, tmp_path, made_images):
    ref = unique("exported")
    made_images.append(ref)
    sh(engine, box, "echo exported-content > /payload")
    magic(ip, f"export -o {tmp_path}/box.tar {box}")
    docker(engine, "export", "-o", str(tmp_path / "cli.tar"), box)

    def members(path):
        with tarfile.open(path) as tar:
            return {(m.name, m.type, m.size, m.mode, m.linkname) for m in tar}
    assert members(tmp_path / "box.tar") == members(tmp_path / "cli.tar")
    arch = engine.system.version()["Arch"]
    image = magic(ip, f"""import -c 'CMD ["cat", "/payload"]' -c 'ENV B=2' -m "from export" --platform linux/{arch} """
                      f"{tmp_path}/box.tar {ref}")
    assert isinstance(image, Image) and ref in image.tags
    raw = engine.images.inspect(ref)
    assert raw["Architecture"] == arch and "B=2" in raw["Config"]["Env"]
    assert engine.images.history(ref)[0]["comment"] == "from export"
    run = engine.containers.run(ref, detach=False)
    assert engine.containers.logs(run.id) == "exported-content\n"


def test_export_and_import_bad_input(ip, engine, box, tmp_path):
    (tmp_path / "text.tar").write_text("not a tar\n")
    small_rootfs(tmp_path / "rootfs.tar", "fine\n")
    ref = unique("bad-import")
    before = sorted(os.listdir(tmp_path))
    cases = [
        (f"export {box}", "container export: say where: -o FILE"),
        (f"export -o {tmp_path}/x.tar jc-test-no-such", "container export: No such container: jc-test-no-such"),
        (f"import https://example.org/rootfs.tar {ref}", "container import: import takes a local file, not a URL"),
        (f"import {tmp_path}/text.tar {ref}", f"container import: {tmp_path}/text.tar is not a tar archive"),
        (f"import {tmp_path}/nope.tar {ref}", f"container import: no such file: {tmp_path}/nope.tar"),
        (f"import -c 'FROB x' {tmp_path}/rootfs.tar {ref}", "container import: invalid change 'FROB x'"),
        (f"import -c 'ENV' {tmp_path}/rootfs.tar {ref}", "container import: ENV requires at least one argument"),
        (f"import {tmp_path}/rootfs.tar Bad/Name", "container import: invalid image reference 'Bad/Name'"),
    ]
    for line, expected in cases:
        assert expected in usage_error(ip, "%container " + line)
    assert sorted(os.listdir(tmp_path)) == before and not engine.images.exists(ref)


# -- update, network connect, inspect, checkpoint -------------------------------------------------
RESOURCES = ["Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "PidsLimit", "RestartPolicy"]


def test_update_resources_as_docker_update(ip, engine, box, capsys):
    other = engine.containers.run(BUSYBOX, "sleep 600", name=f"{box}-cli").name
    flags = "--memory 64m --memory-swap 128m --memory-reservation 32m --cpus 0.5 -c 512 --pids-limit 50 " \
            "--restart on-failure:3"
    assert magic(ip, f"update {flags} {box}") is None
    assert capsys.readouterr().out.split() == [box]
    docker(engine, "update", *flags.split(), other)
    ours, theirs = (engine.containers.inspect(ref)["HostConfig"] for ref in (box, other))
    assert ours["Memory"] == 64 * 2 ** 20 and ours["NanoCpus"] == 500_000_000 and ours["PidsLimit"] == 50
    assert ours["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert {k: ours[k] for k in RESOURCES} == {k: theirs[k] for k in RESOURCES}
    magic(ip, f"update --memory 96m --memory-swap -1 {box} {other}")
    assert capsys.readouterr().out.split() == [box, other]
    assert [engine.containers.inspect(ref)["HostConfig"]["Memory"] for ref in (box, other)] == [96 * 2 ** 20] * 2


def test_update_bad_input_changes_nothing(ip, engine, box):
    cases = [
        (f"update --memory lots {box}", "container update: argument -m/--memory: 'lots' is not a size"),
        (f"update --cpus -1 {box}", "container update: argument --cpus: '-1' is not a number of CPUs"),
        (f"update --restart sometimes {box}", "container update: argument --restart: invalid restart policy"),
        (f"update --blkio-weight 5 {box}", "container update: argument --blkio-weight: '5' is not a weight"),
        (f"update {box}", "container update: you must provide one or more flags"),
        (f"update --memory 64m --memory-swap 128m {box} jc-test-no-such", "container update: No such container"),
    ]
    for line, expected in cases:
        assert expected in usage_error(ip, "%container " + line)
    host = engine.containers.inspect(box)["HostConfig"]
    assert host["Memory"] == 0 and host["NanoCpus"] == 0 and host["RestartPolicy"]["Name"] in ("", "no")


def test_network_connect_with_alias_ip_and_link(ip, engine, box, name):
    import docker.errors
    import docker.types

    for _ in range(5):  # a /24 of our own (another network may hold one already)
        subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=f"{subnet}.0/24")])
        try:
            engine.api.create_network(f"{name}-net", ipam=ipam, labels=engine.labels)
            break
        except docker.errors.APIError:
            continue
    peer = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-peer").name
    magic(ip, f"network connect --alias web --alias www --ip {subnet}.42 {name}-net {box}")
    magic(ip, f"network connect --link {box}:db {name}-net {peer}")
    joined = engine.containers.inspect(box)["NetworkSettings"]["Networks"][f"{name}-net"]
    assert joined["IPAMConfig"]["IPv4Address"] == joined["IPAddress"] == f"{subnet}.42"
    assert {"web", "www"} <= set(joined["Aliases"])
    assert engine.containers.inspect(peer)["NetworkSettings"]["Networks"][f"{name}-net"]["Links"] == [f"{box}:db"]
    assert f"{subnet}.42" in sh(engine, peer, "nslookup www")  # the engine's DNS, on the container's loopback
    magic(ip, f"network disconnect {name}-net {box}")
    magic(ip, f"network disconnect -f {name}-net {peer}")
    assert f"{name}-net" not in engine.containers.inspect(box)["NetworkSettings"]["Networks"]
    assert "--ip: '10.1.1.999' is not an IPv4 address" in usage_error(
        ip, f"%container network connect --ip 10.1.1.999 {name}-net {box}")
    assert "container network connect:" in usage_error(ip, f"%container network connect jc-test-no-such-net {box}")
    assert "container network disconnect:" in usage_error(ip, f"%container network disconnect {name}-net {box}")


def test_container_and_image_inspect(ip, engine, box, name):
    one = magic(ip, f"container inspect {box}")
    assert isinstance(one, JSONView) and one["Name"] == f"/{box}"
    other = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-2").name
    both = magic(ip, f"container inspect {box} {other}")
    assert isinstance(both, JSONList) and [c["Name"] for c in both] == [f"/{box}", f"/{other}"]
    assert both._repr_json_()[0][1]["Id"] == engine.containers.inspect(other)["Id"]
    image = magic(ip, f"image inspect {BUSYBOX}")
    assert isinstance(image, JSONView) and BUSYBOX in image["RepoTags"]
    assert "No such container: jc-test-no-such" in usage_error(ip, f"%container container inspect {box} jc-test-no-such")
    assert "container image inspect:" in usage_error(ip, "%container image inspect jc-test-no-such:1")


def test_checkpoint_says_this_engine_cannot(ip, engine, box):
    assert not engine.system.info().get("ExperimentalBuild")
    for line in (f"checkpoint create {box} first", f"checkpoint ls {box}", f"checkpoint rm {box} first"):
        message = usage_error(ip, "%container " + line)
        assert "this engine does not support checkpoints" in message and "ExperimentalBuild" in message


def test_help_has_the_cli_flags(ip, capsys):
    magic(ip, "--help")
    out = capsys.readouterr().out
    for verb in ("cp", "commit", "diff", "save", "load", "export", "import", "update", "network connect",
                 "network disconnect", "container inspect", "image inspect", "checkpoint create", "checkpoint ls",
                 "checkpoint rm"):
        assert f"  {verb} " in out, verb
    expected = {"cp": ["-L, --follow-link", "Archive mode (copy all uid/gid information)", "CONTAINER:SRC_PATH"],
                "commit": ["-c INSTRUCTION, --change INSTRUCTION", "Pause container during commit"],
                "update": ["--memory-swap", "--pids-limit", "--cpuset-cpus", "--restart"],
                "save": ["-o OUTPUT, --output OUTPUT"], "load": ["-i INPUT, --input INPUT", "-q, --quiet"],
                "network connect": ["--alias", "--ip6"], "import": ["--platform", "URLs are not taken"]}
    for verb, words in expected.items():
        assert magic(ip, f"{verb} --help") is None
        out = capsys.readouterr().out
        assert all(word in out for word in words), (verb, out)
