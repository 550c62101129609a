"""engine.images against the real engine and a real registry on 127.0.0.1.

Every image is built FROM scratch or FROM the busybox fixture; nothing is
pulled from anywhere but the ``registry`` fixture.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from conftest import BUSYBOX, RUN_ID, TEST_LABEL
from jupyter_containers.engine import (MANAGED_LABEL, BuildError, BuildLine, ContainersError, Image,
                                       ImageNotFound, InvalidArgument, NotFound, PullError, PullProgress)
from jupyter_containers.engine.images import LIST_COLUMNS

pytestmark = pytest.mark.usefixtures("busybox")
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def made(engine):
    """``made("kind")`` -> a fresh ``jc-test/kind-<uuid>``; ``made.add(ref)`` tracks any other
    reference. Every tracked reference is removed after the test."""
    refs: list[str] = []

    def new(kind: str, registry: str | None = None) -> str:
        ref = f"{registry + '/' if registry else ''}jc-test/{kind}-{uuid.uuid4().hex[:10]}"
        refs.append(ref)
        return ref

    new.add = refs.append
    yield new
    for ref in reversed(refs):
        try:
            engine.images.remove(ref, force=True)
        except NotFound:
            pass


def raises(cls, call, *args, **kwargs) -> ContainersError:
    """The error ``call`` raised, checked to be a ``cls`` with a one-line message."""
    with pytest.raises(cls) as info:
        call(*args, **kwargs)
    text = str(info.value)
    assert text and "\n" not in text, repr(text)
    return info.value


def env(image: Image) -> list[str]:
    return image.raw["Config"]["Env"]


# -- building ---------------------------------------------------------------------

def test_build_from_dockerfile_text_only(engine, made, token):
    ref = made("text")
    dockerfile = f"FROM {BUSYBOX}\nENV TOKEN={token}\nRUN echo {token} > /token\n"
    image = engine.images.build(dockerfile=dockerfile, tag=ref)
    assert isinstance(image, Image) and image.tags == (f"{ref}:latest",)
    assert f"TOKEN={token}" in env(image)
    assert engine.images.get(ref).id == image.id
    assert any(f"echo {token}" in row["created_by"] for row in engine.images.history(ref))


def test_build_context_with_dockerfile_text(engine, made, token, tmp_path):
    (tmp_path / "hello.txt").write_text(token)
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN exit 7\n")  # the text wins over this one
    ref = made("copy")
    image = engine.images.build(tmp_path, tag=ref, dockerfile=(
        f"FROM {BUSYBOX}\nCOPY hello.txt /hello.txt\nRUN test \"$(cat /hello.txt)\" = {token}\nENV FROM_TEXT=1\n"))
    assert "FROM_TEXT=1" in env(image)
    assert any("COPY file:" in row["created_by"] for row in engine.images.history(ref))


def test_build_dockerfile_named_in_context(engine, made, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN exit 7\n")
    (tmp_path / "Other.Dockerfile").write_text(f"FROM {BUSYBOX}\nENV WHICH=other\n")
    (tmp_path / ".dockerignore").write_text("*.Dockerfile\n")  # the named Dockerfile is still sent
    image = engine.images.build(tmp_path, dockerfile="Other.Dockerfile", tag=made("named"))
    assert "WHICH=other" in env(image)


def test_build_args_and_target(engine, made, token):
    # "second" builds on "first", so no stage is left dangling once the tags are removed
    dockerfile = (f"FROM {BUSYBOX} AS first\nARG GREETING=unset\n"
                  f"ENV STAGE=first GREETING=$GREETING TOKEN={token}\n"
                  "FROM first AS second\nENV STAGE=second\n")
    first = engine.images.build(dockerfile=dockerfile, target="first", build_args={"GREETING": token},
                                tag=made("first"))
    assert "STAGE=first" in env(first) and f"GREETING={token}" in env(first)
    listed = engine.images.build(dockerfile=dockerfile, target="first", build_args=[f"GREETING={token}-2"],
                                 tag=made("first"))
    assert f"GREETING={token}-2" in env(listed)
    last = engine.images.build(dockerfile=dockerfile, tag=made("last"))
    assert "STAGE=second" in env(last)


def test_build_labels_and_several_tags(engine, made):
    a, b = made("labels"), made("labels")
    made.add(f"{a}:v2")
    image = engine.images.build(dockerfile=f"FROM {BUSYBOX}\nLABEL from.dockerfile=yes\n",
                                tag=[a, f"{a}:v2", b], labels={"org.example.team": "nb"})
    assert image.labels[MANAGED_LABEL] == "1" and image.labels[TEST_LABEL] == RUN_ID
    assert image.labels["org.example.team"] == "nb" and image.labels["from.dockerfile"] == "yes"
    assert set(image.tags) == {f"{a}:latest", f"{a}:v2", f"{b}:latest"}
    assert engine.images.get(f"{a}:v2").id == engine.images.get(b).id == image.id
    listed = engine.images.build(dockerfile=f"FROM {BUSYBOX}\n", tag=made("labels"), labels=["k=v", "other=w"])
    assert listed.labels["k"] == "v" and listed.labels["other"] == "w"


def test_dockerignore_is_honoured(engine, made, tmp_path):
    for path in ("keep.txt", "secret.txt", "sub/deep.txt", "sub/kept.md"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(path)
    (tmp_path / ".dockerignore").write_text("# a comment\nsecret.txt\nsub/*.txt\n")
    lines: list[BuildLine] = []
    engine.images.build(tmp_path, dockerfile=f"FROM {BUSYBOX}\nCOPY . /ctx/\nRUN find /ctx -type f | sort\n",
                        tag=made("ignore"), on_log=lines.append)
    listed = {line.text for line in lines if line.step and "RUN find" in line.step}
    assert {"/ctx/keep.txt", "/ctx/sub/kept.md"} <= listed
    assert not {"/ctx/secret.txt", "/ctx/sub/deep.txt"} & listed


def test_on_log_gets_whole_lines_with_their_step(engine, made, token):
    lines: list[BuildLine] = []
    # two writes with a pause between arrive as two chunks of one line
    run_step = f"RUN printf 'part-a'; sleep 0.3; printf 'part-b\\n'; echo {token}"
    engine.images.build(dockerfile=f"FROM {BUSYBOX}\n{run_step}\n", tag=made("log"), on_log=lines.append)
    assert all(isinstance(line, BuildLine) for line in lines)
    _, total = lines[0].text.split(" : ")[0].removeprefix("Step ").split("/")  # build labels add steps
    assert lines[0] == BuildLine(f"Step 1/{total} : FROM {BUSYBOX}", f"1/{total} FROM {BUSYBOX}")
    run = [line.text for line in lines if line.step and line.step.startswith(f"2/{total} RUN printf")]
    assert "part-apart-b" in run and token in run
    assert "" not in [line.text for line in lines]


def test_failing_step_names_the_step_and_its_output(engine, made, token):
    ref = made("fails")
    lines: list[BuildLine] = []
    error = raises(BuildError, engine.images.build, tag=ref, on_log=lines.append,
                   dockerfile=f"FROM {BUSYBOX}\nRUN sh -c 'echo boom-output-{token}; exit 3'\n")
    assert " at 2/" in str(error) and " RUN sh -c 'echo boom-output" in str(error)  # the step
    assert f"output: boom-output-{token}" in str(error) and "non-zero code: 3" in str(error)
    assert not engine.images.exists(ref)
    # the step's container existed (its id is in the log) and was removed
    ran = [line.text.split()[-1] for line in lines if line.text.startswith(" ---> Running in ")]
    assert len(ran) == 1
    left = [c for c in engine.containers.list(all=True) if c.id.startswith(ran[0]) or token in c.command]
    assert left == []


def test_build_rejects_bad_arguments(engine, tmp_path):
    raises(InvalidArgument, engine.images.build)
    raises(InvalidArgument, engine.images.build, tmp_path / "missing")
    (tmp_path / "file").write_text("FROM scratch\n")
    raises(InvalidArgument, engine.images.build, tmp_path / "file")
    for bad in ("Bad/Name", "jc-test/a:b:c", ["jc-test/ok", "UPPER"]):
        raises(InvalidArgument, engine.images.build, dockerfile=f"FROM {BUSYBOX}\n", tag=bad)


# -- reading and tagging ----------------------------------------------------------

def test_tag_inspect_list_frame_history(engine, made, token):
    ref, other = made("read"), made("read")
    made.add(f"{other}:v2")
    image = engine.images.build(dockerfile=f"FROM {BUSYBOX}\nRUN echo {token} > /token\n", tag=ref,
                                labels={"jc-test.token": token})
    engine.images.tag(ref, f"{other}:v2")
    engine.images.tag(image.id, other)
    assert engine.images.get(f"{other}:v2").id == engine.images.get(f"{other}:latest").id == image.id

    assert engine.images.inspect(ref)["Id"] == image.id
    got = engine.images.get(ref)
    assert set(got.tags) == {f"{ref}:latest", f"{other}:v2", f"{other}:latest"}
    assert got.created.tzinfo is not None and got.size > 0
    assert engine.images.exists(ref) and engine.images.exists(image.id)
    assert not engine.images.exists(f"jc-test/missing-{token}")
    raises(ImageNotFound, engine.images.inspect, f"jc-test/missing-{token}")
    raises(ImageNotFound, engine.images.tag, f"jc-test/missing-{token}", f"{other}:v3")
    for bad in ("Bad/Name", "a:b:c"):
        raises(InvalidArgument, engine.images.tag, ref, bad)

    [listed] = engine.images.list(filters={"label": f"jc-test.token={token}"})
    assert listed.id == image.id and set(listed.tags) == set(got.tags)
    assert isinstance(listed.size, int) and listed.size == got.size and listed.created.tzinfo is not None
    assert [i.id for i in engine.images.list(filters={"reference": other})] == [image.id]

    frame = engine.images.frame(filters={"label": f"jc-test.token={token}"})
    assert list(frame.columns) == LIST_COLUMNS
    assert set(zip(frame["repository"], frame["tag"])) == {(ref, "latest"), (other, "latest"), (other, "v2")}
    assert set(frame["id"]) == {image.short_id} and len(image.short_id) == 12
    assert set(frame["digest"]) == {""}
    assert str(frame["size"].dtype) == "int64" and set(frame["size"]) == {image.size}
    assert frame["created"].dt.tz is not None and frame["created"].iloc[0] == listed.created
    empty = engine.images.frame(filters={"label": f"jc-test.token=none-{token}"})
    assert list(empty.columns) == LIST_COLUMNS and empty.empty and str(empty["size"].dtype) == "int64"

    history = engine.images.history(ref)
    run = next(i for i, row in enumerate(history) if f"echo {token}" in row["created_by"])
    assert run > 0 and all(" LABEL " in row["created_by"] for row in history[:run])  # newest first
    assert history[run]["size"] == len(token) + 1 and history[run]["created"].tzinfo is not None
    assert all(isinstance(row["size"], int) for row in history)
    assert history[-1]["created_by"].startswith("/bin/sh -c #(nop) COPY")  # busybox's first layer


# -- registry traffic ---------------------------------------------------------------

def scratch_image(engine, tmp_path, ref: str, token: str) -> Image:
    """A FROM-scratch image of two small layers, unique to ``token``."""
    (tmp_path / "a.txt").write_text(f"a {token}\n")
    (tmp_path / "b.txt").write_text(f"b {token}\n" * 1000)
    return engine.images.build(tmp_path, tag=ref, dockerfile="FROM scratch\nCOPY a.txt /\nCOPY b.txt /\n")


def test_push_remove_pull_round_trip(engine, made, registry, token, tmp_path):
    repo = made("round", registry)
    ref = f"{repo}:1"
    made.add(ref)
    image = scratch_image(engine, tmp_path, ref, token)

    pushed: list[PullProgress] = []
    digest = engine.images.push(ref, on_progress=pushed.append)
    assert digest.startswith("sha256:") and len(digest) == 71
    assert all(isinstance(e, PullProgress) for e in pushed)
    assert len({e.id for e in pushed if e.status == "Pushed"}) == 2  # one per layer
    answer = requests.get(f"http://{registry}/v2/{repo.split('/', 1)[1]}/manifests/1",
                          headers={"Accept": MANIFEST}, timeout=5)
    assert answer.headers["Docker-Content-Digest"] == digest
    assert f"{repo}@{digest}" in engine.images.get(ref).digests

    engine.images.remove(ref)
    assert not engine.images.exists(image.id)
    pulled_events: list[PullProgress] = []
    pulled = engine.images.pull(ref, on_progress=pulled_events.append)
    assert pulled.id == image.id and pulled.tags == (ref,) and f"{repo}@{digest}" in pulled.digests
    layers = {e.id for e in pulled_events if e.status == "Pull complete"}
    assert len(layers) == 2
    assert any(e.id in layers and e.total for e in pulled_events if e.status == "Downloading")
    [row] = engine.images.frame(filters={"reference": repo}).itertuples()
    assert (row.repository, row.tag, row.digest) == (repo, "1", digest)

    engine.images.remove(ref)
    made.add(f"{repo}@{digest}")
    by_digest = engine.images.pull(f"{repo}@{digest}")
    assert by_digest.id == image.id and by_digest.tags == ()
    [row] = engine.images.frame(filters={"reference": repo}).itertuples()  # docker images shows it so
    assert (row.repository, row.tag, row.digest) == (repo, "<none>", digest)


def test_registry_errors(engine, registry, token):
    error = raises(ContainersError, engine.images.pull, f"{registry}/jc-test/never-{token}:nope")
    assert isinstance(error, (ImageNotFound, PullError))
    raises(NotFound, engine.images.push, f"{registry}/jc-test/never-{token}:1")
    for bad in (f"{registry}/Bad/Name", f"{registry}/jc-test/a:b:c", "Bad/Name", "a:b:c"):
        raises(InvalidArgument, engine.images.pull, bad)
        raises(InvalidArgument, engine.images.push, bad)


def test_push_sends_only_the_named_tag(engine, made, registry, token, tmp_path):
    repo = made("onetag", registry)
    made.add(f"{repo}:other")
    scratch_image(engine, tmp_path, repo, token)
    engine.images.tag(repo, f"{repo}:other")
    engine.images.push(repo)
    tags = requests.get(f"http://{registry}/v2/{repo.split('/', 1)[1]}/tags/list", timeout=5).json()["tags"]
    assert tags == ["latest"]


# -- removing -----------------------------------------------------------------------

def test_remove(engine, made):
    ref = made("remove")
    engine.images.build(dockerfile=f"FROM {BUSYBOX}\nENV REMOVE=1\n", tag=ref)
    engine.images.remove(ref)
    assert not engine.images.exists(ref)
    raises(ImageNotFound, engine.images.remove, ref)
    assert engine.images.exists(BUSYBOX)


def test_prune_touches_only_the_filtered_images(engine, made, token):
    label, mine = "jc-test.prune", {"label": f"jc-test.prune={token}"}
    build = lambda n, ref, tok=token: engine.images.build(  # noqa: E731
        dockerfile=f"FROM {BUSYBOX}\nENV N={n} T={tok}\n", tag=ref, labels={label: tok})
    moved, kept = made("prune"), made("prune")
    dangling = build(1, moved)
    made.add(dangling.id)  # removed by the prune below, or after the test if it fails first
    replaced = build(2, moved)  # takes the tag: the first one dangles
    tagged = build(3, kept)
    theirs = build(4, made("prune-other"), tok=f"{token}-other")
    assert engine.images.get(dangling.id).tags == ()

    answer = engine.images.prune(filters=mine)
    assert dangling.id in answer["deleted"] and isinstance(answer["space_reclaimed"], int)
    assert not engine.images.exists(dangling.id)
    assert all(engine.images.exists(i.id) for i in (replaced, tagged, theirs))

    answer = engine.images.prune(all=True, filters=mine)
    assert {replaced.id, tagged.id} <= set(answer["deleted"])
    assert not engine.images.exists(replaced.id) and not engine.images.exists(tagged.id)
    assert engine.images.exists(theirs.id) and engine.images.exists(BUSYBOX)
