"""``%container diagram``: the engine's state as a Mermaid flowchart.

A small structural checker reads every line the diagram has (header, subgraph/end, nodes,
edges, classDef/class) and fails on anything else, on a duplicate or unsafe id, on an edge to
nothing and on a label with a character Mermaid would read as syntax. The engine tests make
containers, an image pushed to a real registry and a compose stack, and compare what is drawn
with what they made; the pure tests feed crafted and generated listings.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, usage_error
from jupyter_containers import diagram
from jupyter_containers.diagram import render

# -- the checker ---------------------------------------------------------------------------------
ID = r"[A-Za-z][A-Za-z0-9_]*"
RESERVED = {"end", "subgraph", "graph", "flowchart", "classDef", "class", "style", "linkStyle", "click",
            "direction", "default", "call", "href"}
SHAPES = [("([", "])"), ("[(", ")]"), ("((", "))"), ("{{", "}}"), ("[/", "/]"), ("[[", "]]"),
          ("[", "]"), ("(", ")"), ("{", "}")]
NODE = re.compile(rf"^(?P<id>{ID})(?P<open>\(\[|\[\(|\(\(|\{{\{{|\[/|\[\[|\[|\(|\{{)\"(?P<label>[^\"]*)\""
                  rf"(?P<close>\]\)|\)\]|\)\)|\}}\}}|/\]|\]\]|\]|\)|\}})$")
EDGE = re.compile(rf"^(?P<a>{ID}) (?P<arrow>-->|-\.-|-\.->|---|==>)(?:\|\"(?P<label>[^\"]*)\"\|)? (?P<b>{ID})$")
SUBGRAPH = re.compile(rf"^subgraph (?P<id>{ID})(?:\[\"(?P<label>[^\"]*)\"\])?$")
CLASSDEF = re.compile(rf"^classDef (?P<name>{ID}) (?P<style>[^;\n]+)$")
CLASS = re.compile(rf"^class (?P<ids>{ID}(?:,{ID})*) (?P<name>{ID})$")
ENTITIES = {"#quot;": '"', "#35;": "#", "#amp;": "&", "#lt;": "<", "#gt;": ">", "#96;": "`"}


@dataclass
class Chart:
    nodes: dict = field(default_factory=dict)  # id -> (label lines, shape)
    subgraphs: dict = field(default_factory=dict)  # id -> (label, member ids)
    edges: list = field(default_factory=list)  # (a, arrow, label, b)
    classes: dict = field(default_factory=dict)  # node id -> class name
    classdefs: set = field(default_factory=set)

    def named(self, first_line: str) -> list[str]:
        return [i for i, (lines, _) in self.nodes.items() if lines[0] == first_line]

    def one(self, first_line: str) -> str:
        found = self.named(first_line)
        assert len(found) == 1, (first_line, found)
        return found[0]

    def of_class(self, name: str) -> set[str]:
        return {self.nodes[i][0][0] for i, c in self.classes.items() if c == name}

    def edge(self, a: str, b: str) -> tuple | None:
        return next((e for e in self.edges if e[0] == a and e[3] == b), None)


def decode(text: str) -> list[str]:
    """A checked label's lines: only our ``<br/>`` and Mermaid's entity codes may stand for syntax."""
    bare = re.sub(r"#\w+;", "", text.replace("<br/>", ""))
    assert not set(bare) & set('"#<>&`'), f"unescaped syntax in label {text!r}"
    assert all(ch.isprintable() for ch in bare), f"control character in label {text!r}"
    return [re.sub(r"#\w+;", lambda m: ENTITIES[m.group(0)], part) for part in text.split("<br/>")]


def check(text: str) -> Chart:
    """Parse ``text`` line by line; AssertionError on anything a Mermaid flowchart should not have."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines and re.fullmatch(r"(flowchart|graph) (LR|RL|TD|TB|BT)", lines[0]), lines[:1]
    chart, stack, defined = Chart(), [], set()

    def define(ident: str) -> None:
        assert ident not in RESERVED and ident.lower() != "end", f"reserved word as id: {ident}"
        assert ident not in defined, f"duplicate id {ident}"
        defined.add(ident)
        if stack:
            chart.subgraphs[stack[-1]][1].append(ident)

    class_lines = []
    for line in lines[1:]:
        if line == "end":
            assert stack, "end without subgraph"
            stack.pop()
        elif m := SUBGRAPH.match(line):
            define(m["id"])
            chart.subgraphs[m["id"]] = (decode(m["label"] or m["id"])[0], [])
            stack.append(m["id"])
        elif m := NODE.match(line):
            assert (m["open"], m["close"]) in SHAPES, line
            define(m["id"])
            chart.nodes[m["id"]] = (decode(m["label"]), m["open"] + m["close"])
        elif m := EDGE.match(line):
            chart.edges.append((m["a"], m["arrow"], decode(m["label"])[0] if m["label"] else None, m["b"]))
        elif m := CLASSDEF.match(line):
            assert m["name"] not in chart.classdefs, f"classDef {m['name']} twice"
            chart.classdefs.add(m["name"])
        elif m := CLASS.match(line):
            class_lines.append(m)
        else:
            raise AssertionError(f"not a flowchart line: {line!r}")
    assert not stack, f"subgraph {stack[-1]} has no end"
    for a, _, _, b in chart.edges:
        assert a in defined and b in defined, f"edge to an undefined id: {a} -> {b}"
    for m in class_lines:
        assert m["name"] in chart.classdefs, f"class {m['name']} has no classDef"
        for ident in m["ids"].split(","):
            assert ident in chart.nodes, f"class for an undefined node {ident}"
            assert ident not in chart.classes, f"{ident} in two classes"
            chart.classes[ident] = m["name"]
    return chart


def test_checker_rejects_what_mermaid_would_misread():
    good = 'flowchart LR\n  a["x"]\n  b("y")\n  a -->|"z"| b\n  classDef k fill:#fff\n  class a,b k\n'
    assert set(check(good).nodes) == {"a", "b"}
    for bad in ['flowchart LR\n  a["x"]\n  a --> b\n',  # edge to nothing
                'flowchart LR\n  a["x"]\n  a["y"]\n',  # duplicate id
                'flowchart LR\n  end["x"]\n',  # reserved word
                'flowchart LR\n  a["x"y"]\n',  # quote in a label
                'flowchart LR\n  a["x#y"]\n',  # bare #
                'flowchart LR\n  a["<b>"]\n',  # markup
                'flowchart LR\n  subgraph s["x"]\n  a["x"]\n',  # no end
                'flowchart LR\n  a["x"]\n  class a k\n',  # class without classDef
                'graph XY\n']:
        with pytest.raises(AssertionError):
            check(bad)


# -- pure: crafted listings -----------------------------------------------------------------------
INFO = {"Name": "host-1", "ServerVersion": "26.1.5", "OperatingSystem": "Debian GNU/Linux 12",
        "KernelVersion": "6.1.0"}


def row(name, state="running", image="sha256:" + "1" * 64, labels=None, networks=(), mounts=(), cid=None):
    return {"Id": cid or f"{abs(hash((name, state))):064x}"[:64], "Names": [f"/{name}"], "State": state,
            "Status": {"running": "Up 2 minutes", "exited": "Exited (0) 1 minute ago"}.get(state, state),
            "ImageID": image, "Image": image, "Labels": labels or {},
            "NetworkSettings": {"Networks": {n: {} for n in networks}},
            "Mounts": [{"Type": "volume", "Name": m} for m in mounts]}


def image(iid, tags=(), digests=()):
    return {"Id": iid, "RepoTags": list(tags), "RepoDigests": list(digests)}


def stack_labels(project, service):
    return {diagram.PROJECT: project, diagram.SERVICE: service}


def test_registry_hosts_follow_the_docker_cli():
    assert diagram.registry_host("busybox") == "docker.io"
    assert diagram.registry_host("team/app") == "docker.io"
    assert diagram.registry_host("127.0.0.1:5000/team/app") == "127.0.0.1:5000"
    assert diagram.registry_host("localhost/app") == "localhost"
    assert diagram.registry_host("ghcr.io/o/app") == "ghcr.io"
    assert diagram.registry_host("docker.io/library/busybox") == "docker.io"
    d = "sha256:" + "a" * 64
    assert diagram.image_registries(image("i", ["127.0.0.1:5000/team/app:1"])) == {"127.0.0.1:5000": "tagged for"}
    assert diagram.image_registries(image("i", ["127.0.0.1:5000/team/app:1"], [f"127.0.0.1:5000/team/app@{d}"])) \
        == {"127.0.0.1:5000": "stored in"}
    assert diagram.image_registries(image("i", ["busybox:latest"], [f"busybox@{d}"])) == {"docker.io": "stored in"}
    assert diagram.image_registries(image("i", ["jupyter-containers/busybox:test"])) == {}  # made here
    assert diagram.image_registries(image("i", ["<none>:<none>"], ["<none>@<none>"])) == {}


def test_a_crafted_engine_is_drawn_as_the_seed_says():
    app = "sha256:" + "2" * 64
    hub = "sha256:" + "3" * 64
    digest = "sha256:" + "a" * 64
    images = [image("sha256:" + "1" * 64, ["jupyter-containers/busybox:test"]),
              image(app, ["127.0.0.1:5000/team/app:1"], [f"127.0.0.1:5000/team/app@{digest}"]),
              image(hub, ["busybox:latest"], [f"busybox@{digest}"])]
    containers = [row("front"), row("api", image=app), row("old", "exited"), row("cache", "paused"),
                  row("shop-db-1", labels=stack_labels("shop", "db"), networks=["shop_default"], mounts=["shop_data"]),
                  row("shop-web-1", labels=stack_labels("shop", "web"), networks=["shop_default"])]
    networks = [{"Name": "shop_default", "Id": "n1", "Labels": {diagram.PROJECT: "shop"}},
                {"Name": "bridge", "Id": "n0", "Labels": {}}]
    volumes = [{"Name": "shop_data", "Labels": {diagram.PROJECT: "shop"}}, {"Name": "other", "Labels": {}}]
    chart = check(render(INFO, containers, images, networks, volumes).mermaid)

    engine = chart.one("Docker Engine 26.1.5")
    assert chart.nodes[engine][0] == ["Docker Engine 26.1.5", "host-1", "on Debian GNU/Linux 12"]
    assert chart.of_class("running") == {"front", "api", "shop-db-1", "shop-web-1"}
    assert chart.of_class("paused") == {"cache"} and "old" not in chart.of_class("exited")
    assert chart.named("1 stopped not shown (--all)")
    assert chart.edge(engine, chart.one("front"))[2] == "runs"
    # image -> container, registry -> image, engine -> registry
    busybox, team = chart.one("jupyter-containers/busybox:test"), chart.one("127.0.0.1:5000/team/app:1")
    assert chart.edge(busybox, chart.one("front"))[2] == "instantiates"
    assert chart.edge(team, chart.one("api"))[2] == "instantiates"
    registry, hub_node = chart.one("127.0.0.1:5000"), chart.one("docker.io")
    assert chart.edge(registry, team)[2] == "stores" and chart.edge(engine, registry)[2] == "pulls from"
    assert chart.edge(chart.one("busybox:latest"), chart.one("front")) is None  # unused, still drawn
    assert chart.edge(hub_node, chart.one("busybox:latest"))[2] == "stores"
    assert not any(e[3] == busybox for e in chart.edges)  # built here: no registry
    # the stack: a subgraph with services -> containers, its network and volume
    [(stack, (title, members))] = chart.subgraphs.items()
    assert title == "stack shop" and chart.edge(engine, stack)[2] == "runs"
    names = {chart.nodes[m][0][0] for m in members}
    assert names == {"db", "web", "shop-db-1", "shop-web-1", "shop_default", "shop_data"}
    assert chart.edge(chart.one("db"), chart.one("shop-db-1"))
    assert chart.edge(chart.one("shop-db-1"), chart.one("shop_data"))[2] == "mounts"
    assert chart.edge(chart.one("shop-web-1"), chart.one("shop_default"))[1] == "-.-"
    assert not chart.named("bridge") and not chart.named("other")  # not a stack's

    everything = check(render(INFO, containers, images, networks, volumes, all=True).mermaid)
    assert everything.of_class("exited") == {"old"} and not everything.named("1 stopped not shown (--all)")


def test_parts_and_one_stack():
    containers = [row("web"), row("s-db-1", labels=stack_labels("s", "db")),
                  row("t-db-1", labels=stack_labels("t", "db")), row("t-x-1", "exited", labels=stack_labels("t", "x"))]
    images = [image("sha256:" + "1" * 64, ["app:1"])]
    only_images = check(render(INFO, containers, images, parts=["images"]).mermaid)
    assert set(only_images.nodes) == {"engine", only_images.one("app:1")} and not only_images.edges
    only_stacks = check(render(INFO, containers, images, parts=["stacks"]).mermaid)
    assert len(only_stacks.subgraphs) == 2 and not only_stacks.named("web") and not only_stacks.named("app:1")
    no_stacks = check(render(INFO, containers, images, parts=["containers"]).mermaid)
    assert not no_stacks.subgraphs and no_stacks.of_class("running") == {"web", "s-db-1", "t-db-1"}
    one = check(render(INFO, containers, images, project="t", used_images_only=True).mermaid)
    [(title, members)] = one.subgraphs.values()
    assert title == "stack t" and {one.nodes[m][0][0] for m in members} == {"db", "x", "t-db-1"}  # x: stopped
    assert not one.named("web") and not one.named("s-db-1")
    with pytest.raises(ValueError):
        render(INFO, containers, parts=["boats"])


def test_the_cap_draws_and_n_more():
    containers = [row(f"c{i:03}") for i in range(500)]
    images = [image(f"sha256:{i:064x}", [f"img{i}:1"]) for i in range(100)]
    chart = check(render(INFO, containers, images).mermaid)
    assert len(chart.of_class("running")) == 40 and chart.named("… and 460 more containers")
    assert chart.named("… and 60 more images")  # 100 unused images: 40 drawn
    small = check(render(INFO, containers, images, limit=3, used_images_only=True).mermaid)
    assert small.of_class("running") == {"c000", "c001", "c002"} and small.named("… and 497 more containers")


HOSTILE = ['say "hi"', "end", "End", "a#b", "#quot;", "<script>alert(1)</script>", "x-->y", "a|b", "`md`",
           "1;2", "%% comment", "subgraph", "x & y", "café ☕ 日本語 שלום", "tab\there\nnew line", "((a))", "{b}",
           "classDef", "a-b", "a_b", "a.b", "graph TD"]


def test_hostile_names_are_quoted_and_ids_stay_safe():
    containers = [row(n, cid=f"{i:064x}", labels=stack_labels(n, n) if i % 2 else {}) for i, n in enumerate(HOSTILE)]
    images = [image(f"sha256:{i:064x}", [f"{n}:1"]) for i, n in enumerate(HOSTILE)]
    networks = [{"Name": n, "Id": f"n{i}", "Labels": {diagram.PROJECT: n}} for i, n in enumerate(HOSTILE)]
    text = render({"Name": 'e"nd#', "ServerVersion": "<1>"}, containers, images, networks, limit=100).mermaid
    chart = check(text)
    drawn = {lines[0] for lines, _ in chart.nodes.values()}
    for name in HOSTILE:
        assert " ".join(name.split()) in drawn, name  # the label says exactly the name (whitespace folded)
    assert chart.nodes["engine"][0] == ["Docker Engine <1>", 'e"nd#']


def test_same_state_same_text():
    containers = [row(f"c{i}", random.choice(["running", "exited", "paused"]),
                      labels=stack_labels("p", f"s{i % 3}") if i % 2 else {}) for i in range(30)]
    images = [image(f"sha256:{i:064x}", [f"i{i}:1"]) for i in range(5)]
    first = render(INFO, containers, images, all=True).mermaid
    for _ in range(5):
        random.shuffle(containers)
        random.shuffle(images)
        assert render(INFO, containers, images, all=True).mermaid == first


def test_what_a_notebook_gets():
    result = render(INFO, [row("web")], [image("sha256:" + "1" * 64, ["app:1"])])
    bundle = result._repr_mimebundle_()
    assert set(bundle) == {"text/vnd.mermaid", "text/plain"}  # no html/markdown that JupyterLab would prefer
    assert bundle["text/vnd.mermaid"] == result.mermaid and "web [Up 2 minutes] from app:1" in bundle["text/plain"]
    markdown = result.markdown()._repr_mimebundle_()
    assert set(markdown) == {"text/markdown", "text/plain"}
    assert markdown["text/markdown"] == f"```mermaid\n{result.mermaid}```\n"


# -- property: any listing gives a valid flowchart ------------------------------------------------
names = st.text(min_size=1, max_size=30)
states = st.sampled_from([*diagram.STATE_CLASSES, "weird", "", "RUNNING"])


@st.composite
def listings(draw):
    image_ids = draw(st.lists(st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True), max_size=6, unique=True))
    images = [image(i, draw(st.lists(st.one_of(names, st.just("<none>:<none>")), max_size=3)),
                    draw(st.lists(names.map(lambda n: f"{n}@sha256:{'a' * 64}"), max_size=2)))
              for i in image_ids]
    projects = draw(st.lists(names, max_size=3))
    containers = []
    for i in range(draw(st.integers(0, 12))):
        labels = {}
        if projects and draw(st.booleans()):
            labels[diagram.PROJECT] = draw(st.sampled_from(projects))
            if draw(st.booleans()):
                labels[diagram.SERVICE] = draw(names)
        containers.append({"Id": f"{i:064x}", "Names": [f"/{draw(names)}"] if draw(st.booleans()) else [],
                           "State": draw(states), "Status": draw(st.one_of(st.none(), names)),
                           "ImageID": draw(st.sampled_from(image_ids)) if image_ids and draw(st.booleans()) else "x",
                           "Labels": labels,
                           "NetworkSettings": {"Networks": {n: {} for n in draw(st.lists(names, max_size=2))}},
                           "Mounts": [{"Name": n} for n in draw(st.lists(names, max_size=2))]})
    networks = [{"Name": draw(names), "Id": f"n{i}", "Labels": {diagram.PROJECT: draw(st.sampled_from(projects))}}
                for i in range(draw(st.integers(0, 3)))] if projects else []
    volumes = [{"Name": draw(names), "Labels": {diagram.PROJECT: draw(st.sampled_from(projects))}}
               for _ in range(draw(st.integers(0, 3)))] if projects else []
    info = draw(st.fixed_dictionaries({}, optional={"Name": names, "ServerVersion": names,
                                                    "OperatingSystem": names, "KernelVersion": names}))
    return info, containers, images, networks, volumes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listings(), st.sets(st.sampled_from(diagram.PARTS)), st.booleans(), st.integers(1, 8),
       st.sampled_from(["LR", "TD"]))
def test_any_listing_gives_a_valid_flowchart(listing, parts, everything, limit, direction):
    info, containers, images, networks, volumes = listing
    parts = parts or diagram.PARTS
    text = render(info, containers, images, networks, volumes, parts=parts, all=everything, limit=limit,
                  direction=direction).mermaid
    chart = check(text)
    drawn = [c for c, cls in chart.classes.items() if c.startswith("ct_")]
    assert len(drawn) <= limit
    if "containers" in parts:  # none left out silently: drawn, counted as more, or stopped and counted
        shown = [c for c in containers if everything or diagram.container_state(c) in diagram.ACTIVE]
        assert len(drawn) == len(shown) or chart.named(f"… and {len(shown) - len(drawn)} more containers")


# -- the real engine -------------------------------------------------------------------------------
MINE = f"--filter label={TEST_LABEL}={RUN_ID}"
STACK = f"""
services:
  db:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
    volumes: [data:/data]
  web:
    image: {BUSYBOX}
    init: true
    command: sleep 3600
volumes:
  data: {{}}
"""


@pytest.fixture
def pushed(engine, busybox, registry, name):
    """An image of our own, pushed to the real registry (so it has a RepoDigest), removed after."""
    ref = f"{registry}/{name}/app:1"
    with tempfile.TemporaryDirectory() as context:
        engine.images.build(context, dockerfile=f"FROM {BUSYBOX}\nLABEL test.name={name}\n", tag=ref)
    engine.images.push(ref)
    yield ref
    engine.images.remove(ref, force=True)


@pytest.mark.usefixtures("busybox")
def test_the_diagram_draws_what_the_test_made(ip, engine, name, registry, pushed):
    web = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-web", init=True)
    engine.containers.run(pushed, "sleep 600", name=f"{name}-app", init=True)
    cache = engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-cache", init=True)
    engine.containers.pause(cache.id)
    done = engine.containers.run(BUSYBOX, "true", name=f"{name}-done")
    engine.containers.wait(done.id)
    project = f"{name}-shop"
    ip.run_cell_magic("compose", f"up -p {project}", STACK)
    try:
        result = ip.run_line_magic("container", f"diagram {MINE}")
        shown, _ = ip.display_formatter.format(result)  # what the kernel sends: nothing JupyterLab would prefer
        assert set(shown) == {"text/vnd.mermaid", "text/plain"} and shown["text/vnd.mermaid"] == result.mermaid
        assert f"{name}-web [Up" in shown["text/plain"]
        chart = check(result.mermaid)
        stack_containers = {f"{project}-db-1", f"{project}-web-1"}
        assert chart.of_class("running") == {f"{name}-web", f"{name}-app"} | stack_containers
        assert chart.of_class("paused") == {f"{name}-cache"} and not chart.of_class("exited")
        assert chart.named("1 stopped not shown (--all)")
        assert chart.nodes["engine"][0][0] == f"Docker Engine {engine.system.version()['Version']}"
        assert chart.edge("engine", chart.one(f"{name}-web"))[2] == "runs"
        # images: exactly the two the containers were made from, and where they come from
        assert {chart.nodes[i][0][0] for i, c in chart.classes.items() if c == "image"} == {BUSYBOX, pushed}
        assert chart.edge(chart.one(BUSYBOX), chart.one(f"{name}-web"))[2] == "instantiates"
        assert chart.edge(chart.one(pushed), chart.one(f"{name}-app"))[2] == "instantiates"
        assert chart.of_class("registry") == {registry}
        assert chart.edge(chart.one(registry), chart.one(pushed))[2] == "stores"
        assert chart.edge("engine", chart.one(registry))[2] == "pulls from"
        assert not any(e[3] == chart.one(BUSYBOX) for e in chart.edges)  # built here: no registry
        # the stack: services -> containers, its network and volume
        [(stack, (title, members))] = chart.subgraphs.items()
        assert title == f"stack {project}"
        assert {chart.nodes[m][0][0] for m in members} == {"db", "web", *stack_containers,
                                                           f"{project}_default", f"{project}_data"}
        assert chart.edge(chart.one("db"), chart.one(f"{project}-db-1"))
        assert chart.edge(chart.one(f"{project}-db-1"), chart.one(f"{project}_data"))[2] == "mounts"
        assert chart.edge(chart.one(f"{project}-web-1"), chart.one(f"{project}_default"))

        everything = check(ip.run_line_magic("container", f"diagram --all {MINE}").mermaid)
        assert everything.of_class("exited") == {f"{name}-done"}

        capped = check(ip.run_line_magic("container", f"diagram --max 2 {MINE}").mermaid)
        assert len(capped.of_class("running") | capped.of_class("paused")) == 2
        assert capped.named("… and 3 more containers")

        one = check(ip.run_line_magic("container", f"diagram -p {project}").mermaid)
        assert [t for t, _ in one.subgraphs.values()] == [f"stack {project}"]
        assert one.of_class("running") == stack_containers
        assert {one.nodes[i][0][0] for i, c in one.classes.items() if c == "image"} == {BUSYBOX}

        images_only = check(ip.run_line_magic("container", f"diagram --images --registries {MINE}").mermaid)
        assert not images_only.of_class("running") and images_only.of_class("registry") == {registry}

        whole = check(ip.run_line_magic("container", "diagram --all --max 1000").mermaid)  # the whole engine
        assert {f"{name}-web", f"{name}-done"} <= whole.of_class("running") | whole.of_class("exited")
    finally:
        ip.run_line_magic("compose", f"down -p {project} -v")
    assert engine.containers.get(web.id).state == "running"


def test_mistakes_are_one_line(ip, name):
    assert "no stack named" in usage_error(ip, f"%container diagram -p {name}-none")
    assert "argument --max: '0' is not a positive int" in usage_error(ip, "%container diagram --max 0")
    assert "invalid choice" in usage_error(ip, "%container diagram --format png")


def test_svg_says_what_to_do_when_it_cannot_be_made(ip, tmp_path, monkeypatch):
    from jupyter_containers.diagram_svg import SvgUnavailable, render_svg

    with pytest.raises(SvgUnavailable, match="not one I can load; open it in JupyterLab"):
        render_svg("flowchart LR\n  a", static=tmp_path)  # a JupyterLab build whose mermaid is not found
    monkeypatch.setenv("PATH", str(tmp_path))
    message = usage_error(ip, "%container diagram --format svg")
    assert "headless Chromium" in message and "open it in JupyterLab" in message


def test_help(ip, capsys):
    ip.run_line_magic("container", "diagram --help")
    out = capsys.readouterr().out
    assert "--containers" in out and "--max N" in out and "--format" in out
    ip.run_line_magic("container", "--help")
    assert "diagram" in capsys.readouterr().out


def test_formats(ip, engine, busybox, name):
    engine.containers.run(BUSYBOX, "sleep 600", name=f"{name}-web", init=True)
    markdown = ip.run_line_magic("container", f"diagram --format markdown {MINE}")
    bundle, _ = ip.display_formatter.format(markdown)
    assert set(bundle) == {"text/markdown", "text/plain"} and bundle["text/markdown"].startswith("```mermaid\n")
    assert bundle["text/plain"] == bundle["text/markdown"]  # not a quoted repr
    check(bundle["text/markdown"].removeprefix("```mermaid\n").removesuffix("```\n"))
    text = ip.run_line_magic("container", f"diagram --format text {MINE}")
    assert check(str(text)).one(f"{name}-web")
    started = time.monotonic()
    svg = ip.run_line_magic("container", f"diagram --format svg {MINE}")
    assert time.monotonic() - started < 60
    assert svg.data.lstrip().startswith("<svg") and f"{name}-web" in svg.data


def test_hostile_names_pass_the_real_mermaid():
    """The labels' escapes are what mermaid itself (the one JupyterLab ships) reads back as the names."""
    from jupyter_containers.diagram_svg import render_svg

    if not shutil.which("chromium"):
        pytest.fail("chromium is not installed (Debian's chromium; make test installs it)")
    containers = [row(n, cid=f"{i:064x}") for i, n in enumerate(HOSTILE)]
    svg = render_svg(render(INFO, containers, limit=100).mermaid)
    import html

    texts = html.unescape(re.sub(r"<[^>]+>", "\n", svg))
    for name in HOSTILE:
        folded = " ".join(name.split())
        assert folded in texts or all(word in texts for word in folded.split()), name


def test_an_empty_engine_draws_the_engine_alone(ip, second_engine):
    private, engine = second_engine
    ip.run_line_magic("config", f"ContainerMagics.engine_url = {private.url!r}")
    try:
        result = ip.run_line_magic("container", "diagram --all")
    finally:
        ip.run_line_magic("config", "ContainerMagics.engine_url = None")
    chart = check(result.mermaid)
    assert list(chart.nodes) == ["engine"] and not chart.edges and not chart.subgraphs
    assert chart.nodes["engine"][0][0] == f"Docker Engine {engine.system.version()['Version']}"
    assert result._repr_mimebundle_()["text/plain"].startswith("Docker Engine ")
