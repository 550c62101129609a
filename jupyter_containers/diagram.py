"""Engine state -> a Mermaid flowchart: the seed's four pictures, drawn from what the engine says.

Pure: it takes the raw JSON of the Engine API's listings (``/info``, ``/containers/json``,
``/images/json``, ``/networks``, ``/volumes``) and returns text; no engine calls, no IPython.

What is drawn (each part can be left out):

- the engine (its version, name and the host OS it runs on) ``-->|runs|`` its containers, one
  node per container with its state as a class (``running``, ``exited``, ``paused``, ...);
- images ``-->|instantiates|`` the containers made from them;
- the engine ``-->|pulls from|`` each registry, which ``-->|stores|`` the images whose RepoDigests
  name it (``-.->|tag only|`` when only a tag names its host: not pushed or pulled yet). Docker Hub
  for unqualified names; an image with no registry host and no digest was made here: no registry edge;
- compose projects (label ``com.docker.compose.project``) as subgraphs: services ``-->`` their
  containers, and the stack's networks and volumes, linked to the containers that use them.

Ids are made from a kind prefix, the name's safe characters and a short hash (never a Mermaid
keyword, never colliding); labels are quoted with ``"``, ``#``, ``<``, ``>``, ``&`` and backticks as
Mermaid entity codes. Everything is sorted, so one state always gives the same text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping

PARTS = ("containers", "images", "registries", "stacks")
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
DOCKER_HUB = "docker.io"
ACTIVE = ("running", "paused", "restarting")  # what ``docker ps`` shows without -a
STATE_CLASSES = ("running", "paused", "restarting", "created", "exited", "dead", "removing")
DEFAULT_MAX = 40
MAX_LABEL = 60
STORED, TAGGED = "stored in", "tagged for"  # an image's digest names the registry / only a tag does

CLASS_STYLES = {
    "engine": "fill:#1d63ed,stroke:#0b3d91,color:#ffffff",
    "running": "fill:#d3f9d8,stroke:#2b8a3e,color:#1b4332",
    "paused": "fill:#fff3bf,stroke:#e67700,color:#5c3c00",
    "restarting": "fill:#ffe8cc,stroke:#d9480f,color:#5c2400",
    "created": "fill:#e7f5ff,stroke:#1c7ed6,color:#0b3d91,stroke-dasharray:4 3",
    "exited": "fill:#f1f3f5,stroke:#868e96,color:#495057",
    "dead": "fill:#ffe3e3,stroke:#c92a2a,color:#7d1a1a",
    "removing": "fill:#f8f0fc,stroke:#ae3ec9,color:#5f1a73",
    "unknown": "fill:#f8f9fa,stroke:#adb5bd,color:#495057",
    "image": "fill:#e5dbff,stroke:#6741d9,color:#2b1a66",
    "registry": "fill:#c5f6fa,stroke:#0c8599,color:#0b4f5c",
    "service": "fill:#fff0f6,stroke:#c2255c,color:#5c0f2e",
    "network": "fill:#f4fce3,stroke:#5c940d,color:#2b4606",
    "volume": "fill:#fff9db,stroke:#e67700,color:#5c3c00",
    "more": "fill:#ffffff,stroke:#adb5bd,color:#495057,stroke-dasharray:3 3",
}


# -- text helpers ------------------------------------------------------------------------------
def label(text: object, limit: int = MAX_LABEL) -> str:
    """``text`` as a quoted Mermaid label: one line, at most ``limit`` characters, entities for
    the characters Mermaid would read as syntax (``#`` first: the others become ``#...;`` codes)."""
    clean = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in str(text))
    clean = " ".join(clean.split())
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("&", "#amp;"), ("<", "#lt;"), (">", "#gt;"),
                      ("`", "#96;")):
        clean = clean.replace(raw, code)
    return f'"{clean}"'


def lines(*parts: object) -> str:
    """Several labels' texts on lines of one node (the ``<br/>`` is ours, the texts are escaped)."""
    return '"' + "<br/>".join(label(p)[1:-1] for p in parts if p not in (None, "")) + '"'


def node_id(kind: str, key: str, name: str | None = None) -> str:
    """A Mermaid-safe, unique, stable id: ``kind_name_hash`` (letters, digits and ``_`` only)."""
    safe = re.sub(r"[^A-Za-z0-9]+", "_", name if name is not None else key).strip("_")[:24]
    digest = hashlib.sha1(f"{kind}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{kind}_{safe}_{digest}" if safe else f"{kind}_{digest}"


def registry_host(repository: str) -> str:
    """The registry a repository name lives in (the docker CLI's rule): its first component when
    that has a ``.`` or ``:`` or is ``localhost``, else Docker Hub."""
    first, slash, _ = repository.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in ("docker.io", "index.docker.io", "registry-1.docker.io") else first
    return DOCKER_HUB


def _repository(ref: str) -> str:
    """``host:5000/team/app:1`` -> ``host:5000/team/app`` (a tag's ``:`` comes after the last ``/``)."""
    ref = ref.partition("@")[0]
    head, _, tail = ref.rpartition("/")
    return f"{head}/{tail.partition(':')[0]}" if head else tail.partition(":")[0]


def image_registries(image: Mapping) -> dict[str, str]:
    """``{host: STORED | TAGGED}``: digests say an image is in a registry; a tag with a
    host only says it is named for one. Unqualified names with a digest are Docker Hub's."""
    out: dict[str, str] = {}
    for ref in image.get("RepoDigests") or []:
        if "@" in ref and not ref.startswith("<none>"):
            out[registry_host(_repository(ref))] = STORED
    for ref in image.get("RepoTags") or []:
        if ref == "<none>:<none>":
            continue
        repository = _repository(ref)
        first, slash, _ = repository.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            out.setdefault(registry_host(repository), TAGGED)
    return out


def image_name(image: Mapping, used_as: Iterable[str] = ()) -> str:
    """The name an image is shown by: the tag its containers were made with (``used_as``, their
    ``Image`` fields), else its first tag, else its first digest, else its short id."""
    tags = sorted(t for t in image.get("RepoTags") or [] if t != "<none>:<none>")
    for ref in used_as:
        for tag in (ref, f"{ref}:latest"):
            if tag in tags:
                return tag
    if tags:
        return tags[0]
    digests = sorted(d for d in image.get("RepoDigests") or [] if not d.startswith("<none>"))
    if digests:
        return digests[0].partition("@")[0] + "@" + digests[0].partition("@")[2][:19]
    return _short(image.get("Id", ""))


def _other_tags(image: Mapping) -> int:
    return max(0, len([t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]) - 1)


def _short(image_id: str) -> str:
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def container_name(row: Mapping) -> str:
    names = row.get("Names") or []
    return names[0].lstrip("/") if names else _short(row.get("Id", ""))


def container_state(row: Mapping) -> str:
    state = str(row.get("State") or "").lower()
    return state if state in STATE_CLASSES else "unknown"


# -- what is drawn ------------------------------------------------------------------------------
@dataclass
class Stack:
    name: str
    services: dict[str, list[dict]] = field(default_factory=dict)  # service -> its shown containers
    loose: list[dict] = field(default_factory=list)  # containers with the project label but no service
    networks: list[dict] = field(default_factory=list)
    volumes: list[dict] = field(default_factory=list)


@dataclass
class Scene:
    """The selection: which containers, stacks, images and registries are drawn, and what was left out."""

    engine: dict
    standalone: list[dict]
    stacks: list[Stack]
    images: list[dict]  # drawn images (copies of the listing's rows, with the "name" they are shown by)
    image_of: dict[str, str]  # container id -> image id (the drawn containers; all asked for when none are)
    registries: dict[str, list[tuple[str, str]]]  # host -> [(image id, STORED | TAGGED)]
    more_containers: int = 0
    more_images: int = 0
    hidden_stopped: int = 0
    parts: tuple[str, ...] = PARTS

    def drawn_containers(self) -> list[dict]:
        """Every drawn container, in drawing order."""
        return self.standalone + [r for s in self.stacks for v in sorted(s.services) for r in s.services[v]] + [
            r for s in self.stacks for r in s.loose]


def _sort_key(row: Mapping) -> tuple:
    labels = row.get("Labels") or {}
    return (container_state(row) not in ACTIVE, labels.get(PROJECT, ""), labels.get(SERVICE, ""),
            container_name(row), row.get("Id", ""))


def select(info: Mapping | None, containers: Iterable[Mapping], images: Iterable[Mapping] = (),
           networks: Iterable[Mapping] = (), volumes: Iterable[Mapping] = (), *,
           parts: Iterable[str] = PARTS, all: bool = False, project: str | None = None,
           limit: int = DEFAULT_MAX, used_images_only: bool = False) -> Scene:
    """Choose what to draw from the listings (see :func:`render` for the arguments)."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts: {sorted(unknown)}")
    parts = tuple(p for p in PARTS if p in set(parts))
    if limit < 1:
        raise ValueError(f"the cap must be at least 1, not {limit}")
    rows = [dict(r) for r in containers]
    if project is not None:
        rows = [r for r in rows if (r.get("Labels") or {}).get(PROJECT) == project]
    candidates = rows if all else [r for r in rows if container_state(r) in ACTIVE]
    candidates.sort(key=_sort_key)
    draw_stacks = "stacks" in parts
    if "containers" in parts:
        shown = list(candidates)
    elif draw_stacks:
        shown = [r for r in candidates if (r.get("Labels") or {}).get(PROJECT)]
    else:
        shown = []
    drawable = [r for r in rows if "containers" in parts or (draw_stacks and (r.get("Labels") or {}).get(PROJECT))]
    hidden = 0 if all else sum(1 for r in drawable if container_state(r) not in ACTIVE)
    more = max(0, len(shown) - limit)
    shown = shown[:limit]

    standalone, stacks = [], {}
    for row in shown:
        labels = row.get("Labels") or {}
        name = labels.get(PROJECT)
        if draw_stacks and name:
            stack = stacks.setdefault(name, Stack(name))
            service = labels.get(SERVICE)
            (stack.services.setdefault(service, []) if service else stack.loose).append(row)
        else:
            standalone.append(row)
    if draw_stacks and project is not None and project not in stacks:
        stacks[project] = Stack(project)  # asked for by name: drawn even with nothing running
    if draw_stacks and project is not None:  # every service of the stack, running or not
        for row in rows:
            service = (row.get("Labels") or {}).get(SERVICE)
            if service:
                stacks[project].services.setdefault(service, [])
    for stack in stacks.values():
        mine = {n.get("Id") or n.get("Name", ""): n for n in networks  # ids are unique, names need not be
                if (n.get("Labels") or {}).get(PROJECT) == stack.name}
        stack.networks = sorted(mine.values(), key=lambda n: (n.get("Name", ""), n.get("Id", "")))[:limit]
        mine = {v.get("Name", ""): v for v in volumes if (v.get("Labels") or {}).get(PROJECT) == stack.name}
        stack.volumes = [mine[k] for k in sorted(mine)][:limit]

    drawn_images, image_of, registries, more_images = [], {}, {}, 0
    if "images" in parts or "registries" in parts:
        by_id = {i.get("Id"): dict(i) for i in images}
        used: dict[str, list[str]] = {}  # image id -> names its containers were made with (drawn ones, else all)
        for row in shown if ("containers" in parts or draw_stacks) else candidates:
            image_id = row.get("ImageID")
            if image_id in by_id:
                used.setdefault(image_id, []).append(str(row.get("Image") or ""))
                image_of[row.get("Id")] = image_id
        for image_id, refs in used.items():
            by_id[image_id]["name"] = image_name(by_id[image_id], sorted(set(refs), key=lambda r: (-refs.count(r), r)))
        for image_id, image in by_id.items():
            image.setdefault("name", image_name(image))
        chosen = sorted((by_id[i] for i in used), key=lambda i: (i["name"], i.get("Id", "")))
        if not used_images_only:
            chosen += sorted((i for k, i in by_id.items() if k not in used
                              and any(t != "<none>:<none>" for t in i.get("RepoTags") or [])),
                             key=lambda i: (i["name"], i.get("Id", "")))
        more_images = max(0, len(chosen) - limit)  # used ones come first and are at most `limit` when drawn
        drawn_images = chosen[:limit]
        if "registries" in parts:
            for image in drawn_images:
                for host, how in image_registries(image).items():
                    registries.setdefault(host, []).append((image.get("Id", ""), how))
        if "images" not in parts:
            image_of = {}
    return Scene(engine=dict(info or {}), standalone=standalone,
                 stacks=[stacks[k] for k in sorted(stacks)],
                 images=drawn_images if "images" in parts else [],
                 image_of=image_of, registries={k: registries[k] for k in sorted(registries)},
                 more_containers=more, more_images=more_images if "images" in parts else 0,
                 hidden_stopped=hidden, parts=parts)


# -- Mermaid ------------------------------------------------------------------------------------
def _engine_label(info: Mapping) -> str:
    """Its version and name, and the host OS it runs on (the seed's "Host OS", in the engine's node)."""
    version = info.get("ServerVersion")
    host = info.get("OperatingSystem")
    return lines(f"Docker Engine {version}" if version else "Engine", info.get("Name"), host and f"on {host}")


def to_mermaid(scene: Scene, direction: str = "LR") -> str:
    if direction not in ("LR", "RL", "TD", "TB", "BT"):
        raise ValueError(f"direction must be LR, RL, TD, TB or BT, not {direction!r}")
    out = [f"flowchart {direction}"]
    edges: list[str] = []
    classes: dict[str, list[str]] = {}

    def node(ident: str, shape: str, text: str, cls: str, indent: str = "  ") -> None:
        opening, closing = {"rect": ("[", "]"), "round": ("(", ")"), "stadium": ("([", "])"),
                            "cylinder": ("[(", ")]"), "hexagon": ("{{", "}}"),
                            "circle": ("((", "))"), "parallelogram": ("[/", "/]")}[shape]
        out.append(f"{indent}{ident}{opening}{text}{closing}")
        classes.setdefault(cls, []).append(ident)

    def edge(a: str, b: str, text: str | None = None, arrow: str = "-->") -> None:
        edges.append(f"  {a} {arrow}|{label(text)}| {b}" if text else f"  {a} {arrow} {b}")

    node("engine", "hexagon", _engine_label(scene.engine), "engine")

    def cid(row: Mapping) -> str:
        return node_id("ct", row.get("Id", ""), container_name(row))

    def container(row: Mapping, indent: str) -> str:
        ident = cid(row)
        state = container_state(row)
        node(ident, "round", lines(container_name(row), row.get("Status") or state), state, indent)
        return ident

    for row in scene.standalone:
        edge("engine", container(row, "  "), "runs")
    for stack in scene.stacks:
        sid = node_id("st", stack.name)
        out.append(f"  subgraph {sid}[{label('stack ' + stack.name)}]")
        for service in sorted(stack.services):
            vid = node_id("sv", f"{stack.name}\0{service}", service)
            node(vid, "stadium", label(service), "service", "    ")
            for row in stack.services[service]:
                edge(vid, container(row, "    "))
        for row in stack.loose:
            container(row, "    ")
        members = [r for rs in stack.services.values() for r in rs] + stack.loose
        for network in stack.networks:
            nid = node_id("nw", f"{stack.name}\0{network.get('Id') or network.get('Name', '')}", network.get("Name"))
            node(nid, "parallelogram", lines(network.get("Name"), "network"), "network", "    ")
            for row in members:
                if network.get("Name") in ((row.get("NetworkSettings") or {}).get("Networks") or {}):
                    edge(cid(row), nid, arrow="-.-")
        for volume in stack.volumes:
            vid = node_id("vl", f"{stack.name}\0{volume.get('Name', '')}", volume.get("Name"))
            node(vid, "cylinder", lines(volume.get("Name"), "volume"), "volume", "    ")
            for row in members:
                if any(m.get("Name") == volume.get("Name") for m in row.get("Mounts") or []):
                    edge(cid(row), vid, "mounts", "-.->")
        out.append("  end")
        edge("engine", sid, "runs")
    if scene.more_containers:
        node("more_containers", "rect", label(f"… and {scene.more_containers} more containers"), "more")
        edge("engine", "more_containers", "runs")
    if scene.hidden_stopped:
        node("stopped_hidden", "rect", label(f"{scene.hidden_stopped} stopped not shown (--all)"), "more")
        edge("engine", "stopped_hidden", arrow="-.-")

    image_ids: dict[str, str] = {}
    for image in scene.images:
        iid = node_id("im", image.get("Id", ""), image["name"])
        image_ids[image.get("Id", "")] = iid
        others = _other_tags(image)
        more_tags = f" · +{others} tag{'s' * (others > 1)}" if others else ""
        node(iid, "rect", lines(image["name"], _short(image.get("Id", "")) + more_tags), "image")
    if scene.more_images:
        node("more_images", "rect", label(f"… and {scene.more_images} more images"), "more")
    for row in scene.drawn_containers():
        image_id = scene.image_of.get(row.get("Id"))
        if image_id in image_ids:
            edge(image_ids[image_id], cid(row), "instantiates")

    for host, uses in scene.registries.items():
        rid = node_id("rg", host)
        node(rid, "cylinder", lines(host, "Docker Hub" if host == DOCKER_HUB else "registry"), "registry")
        edge("engine", rid, "pulls from")
        for image_id, how in sorted(uses, key=lambda u: (image_ids.get(u[0], ""), u[1])):
            if image_id in image_ids:  # a digest: the registry has it; a tag alone only names the registry
                edge(rid, image_ids[image_id], *(("stores",) if how == STORED else ("tag only", "-.->")))

    out += edges
    for cls in sorted(classes):
        out.append(f"  classDef {cls} {CLASS_STYLES.get(cls, CLASS_STYLES['unknown'])}")
        out.append(f"  class {','.join(classes[cls])} {cls}")
    return "\n".join(out) + "\n"


# -- plain text ---------------------------------------------------------------------------------
def to_outline(scene: Scene) -> str:
    """The same selection as an indented outline (what a terminal shows)."""
    info = scene.engine
    version = info.get("ServerVersion")
    head = f"Docker Engine {version}" if version else "Engine"
    if info.get("Name"):
        head += f" ({info['Name']})"
    if info.get("OperatingSystem"):
        head += f" on {info['OperatingSystem']}"
    out = [head]
    names = {i.get("Id"): i["name"] for i in scene.images}

    def describe(row: Mapping) -> str:
        image = names.get(scene.image_of.get(row.get("Id")))
        return (f"{container_name(row)} [{row.get('Status') or container_state(row)}]"
                + (f" from {image}" if image else ""))

    for row in scene.standalone:
        out.append(f"  {describe(row)}")
    for stack in scene.stacks:
        out.append(f"  stack {stack.name}")
        for service in sorted(stack.services):
            shown = stack.services[service]
            out.append(f"    service {service}: " + (", ".join(describe(r) for r in shown) or "(none shown)"))
        for row in stack.loose:
            out.append(f"    {describe(row)}")
        if stack.networks:
            out.append("    networks: " + ", ".join(n.get("Name", "") for n in stack.networks))
        if stack.volumes:
            out.append("    volumes: " + ", ".join(v.get("Name", "") for v in stack.volumes))
    if scene.more_containers:
        out.append(f"  … and {scene.more_containers} more containers")
    if scene.hidden_stopped:
        out.append(f"  {scene.hidden_stopped} stopped not shown (--all)")
    if scene.images:
        out.append("images:")
        used: dict[str, int] = {}
        for image_id in scene.image_of.values():
            used[image_id] = used.get(image_id, 0) + 1
        for image in scene.images:
            where = "; ".join(f"{how} {host}" + (" (not pushed)" if how == TAGGED else "")
                              for host, how in sorted(image_registries(image).items()))
            count = used.get(image.get("Id"), 0)
            out.append(f"  {image['name']}" + (f" -> {count} container{'s' * (count != 1)}" if count else "")
                       + (f"; {where}" if where and "registries" in scene.parts else ""))
        if scene.more_images:
            out.append(f"  … and {scene.more_images} more images")
    if scene.registries:
        out.append("registries: " + ", ".join(f"{h} ({len(u)} image{'s' * (len(u) != 1)})"
                                              for h, u in scene.registries.items()))
    return "\n".join(out)


# -- what a notebook shows ----------------------------------------------------------------------
@dataclass(frozen=True)
class Markdown:
    """Text a notebook renders as Markdown (nbconvert 7.5+ and GitHub draw its ```mermaid blocks).
    Not a ``str``: IPython would show a ``str`` as its repr, quotes and ``\n`` included."""

    text: str

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self.text, "text/plain": self.text}

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Diagram:
    """A Mermaid flowchart of the engine: ``.mermaid`` is its source, ``.text`` an outline.

    A notebook gets ONLY ``text/vnd.mermaid`` (JupyterLab 4.1+ draws it) and ``text/plain``:
    with ``text/html`` or ``text/markdown`` beside it, JupyterLab would show those instead.
    """

    mermaid: str
    text: str = ""

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/vnd.mermaid": self.mermaid,
                "text/plain": (self.text or self.mermaid) + "\n(a Mermaid diagram: JupyterLab 4.1+ draws it;"
                              " .mermaid is its source)"}

    def markdown(self) -> Markdown:
        """A fenced ```mermaid block, as GitHub and nbconvert 7.5+ render it."""
        return Markdown(f"```mermaid\n{self.mermaid}```\n")

    def __str__(self) -> str:
        return self.mermaid


def render(info: Mapping | None, containers: Iterable[Mapping], images: Iterable[Mapping] = (),
           networks: Iterable[Mapping] = (), volumes: Iterable[Mapping] = (), *,
           parts: Iterable[str] = PARTS, all: bool = False, project: str | None = None,
           limit: int = DEFAULT_MAX, used_images_only: bool = False, direction: str = "LR") -> Diagram:
    """Draw the engine from its listings.

    ``info``: ``/info`` (``Name``, ``ServerVersion``, ``OperatingSystem``; may be
    empty). ``containers``: ``/containers/json?all=1`` rows; stopped ones are drawn with ``all``.
    ``images``: ``/images/json``; ``networks``, ``volumes``: the listings (only the ones labelled with a
    compose project are drawn, inside their stack). ``parts``: any of :data:`PARTS`. ``project``:
    only that compose project. ``limit``: at most that many containers and that many images (those of
    drawn containers first), the rest as one "and N more" node each. ``used_images_only``: draw only the
    images of drawn containers (when the containers were filtered).
    """
    scene = select(info, containers, images, networks, volumes, parts=parts, all=all, project=project,
                   limit=limit, used_images_only=used_images_only)
    return Diagram(to_mermaid(scene, direction), to_outline(scene))
