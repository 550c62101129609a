"""The recording format: what a recorded session keeps, and how it is read back.

``DIR/recording.json`` is one JSON document whose exchanges are one per line
(so a re-recorded tutorial diffs line by line)::

    {"format":"jupyter-containers replay","version":1,"recorded":"2025-06-01T12:00:00+00:00",
     "engine":{...the engine's /version answer...},"exchanges":[
    {"t":0.012,"method":"GET","path":"/containers/json","query":{"all":"1"},"status":200,
     "headers":{"Content-Type":"application/json",...},"body":{"json":[...]}},
    {"t":1.5,"method":"GET","path":"/containers/ID/logs","query":{...},"status":200,"headers":{...},
     "stream":{"encoding":"base64","chunks":[[0.001,"AQAAAAAAAAZoZWxsbwo="],...],"ended":"server"}},
    {"t":2.1,"method":"POST","path":"/exec/ID/start","request":{"json":{...}},"status":101,"headers":{...},
     "hijack":{"encoding":"base64","frames":[[0.004,"server","..."]],"ended":"server"}}
    ]}

``t`` is seconds since the session started; stream chunk and frame times are
seconds since that response started. Paths have the API version prefix
(``/v1.41``) removed, so a replay answers clients of any version. Bodies:
``{"json": ...}`` (parsed, stored compactly), ``{"text": ...}``, ``{"base64": ...}``;
a request body that is not JSON (a build context) is only ``{"sha256", "size"}``, and an
answer over 4 MiB (``docker save``) only ``"omitted": {"size": N}``: a replay says it cannot answer.

Secrets are never stored: the auth headers are dropped, and JSON fields that
hold passwords or tokens are replaced by ``"***"``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .http import REPLAY_HEADER

FORMAT = "jupyter-containers replay"
FORMAT_VERSION = 1
FILE_NAME = "recording.json"

SECRET_HEADERS = {"x-registry-auth", "x-registry-config", "authorization", "proxy-authorization", "cookie"}
# framing and connection details: the replay makes its own
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te", "trailer"}
_NOISE_REQUEST_HEADERS = _HOP_HEADERS | {"host", "accept-encoding", "user-agent"}
_NOISE_RESPONSE_HEADERS = _HOP_HEADERS | {"date", "set-cookie"}
SECRET_REQUEST_FIELDS = {"password", "identitytoken"}
SECRET_RESPONSE_FIELDS = {"token", "access_token", "refresh_token", "identitytoken"}
REDACTED = "***"
_KEEP_FOR_JSON = 1 << 20  # larger request bodies are never JSON worth keeping (build contexts)
_COALESCE = 0.01  # stream chunks this close together are stored (and replayed) as one
MAX_ANSWER = 4 << 20  # a bigger answer (``docker save``, an export) is left out; the replay says so


class ReplayError(Exception):
    """A recording or a replay that cannot be used; its message is one line naming the file."""


def redact(value, fields: set[str]):
    """``value`` with every non-empty field named in ``fields`` (any case) replaced by ``"***"``."""
    if isinstance(value, dict):
        return {k: (REDACTED if k.lower() in fields and v not in ("", None) else redact(v, fields))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, fields) for v in value]
    return value


def stored_headers(headers: list[tuple[str, str]], request: bool) -> dict[str, str]:
    """The headers worth keeping: no secrets, no framing, no dates."""
    drop = SECRET_HEADERS | (_NOISE_REQUEST_HEADERS if request else _NOISE_RESPONSE_HEADERS) | {REPLAY_HEADER.lower()}
    kept = {k: v for k, v in headers if k.lower() not in drop}
    if request and kept.get("Accept") == "*/*":
        del kept["Accept"]
    return kept


def encode_body(data: bytes, content_type: str = "", fields: set[str] = SECRET_RESPONSE_FIELDS) -> dict:
    """A response body for the file: JSON parsed when the engine says it is JSON,
    else text, else base64. Manifests (``application/vnd...+json``) stay text:
    they are content-addressed, so their exact bytes matter."""
    if not data:
        return {}
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            return {"json": redact(json.loads(data), fields)}
        except ValueError:
            pass
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def decode_body(body: dict) -> bytes:
    if "json" in body:
        return json.dumps(body["json"], separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    if "text" in body:
        return body["text"].encode("utf-8")
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return b""


class RequestBody:
    """A request body as it streams through: hashed whole, kept only while small."""

    def __init__(self, keep_all: bool = False):
        self._hash = hashlib.sha256()
        self.size = 0
        self.data = bytearray()
        self._keep_all = keep_all

    def add(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        if self._keep_all or self.size <= _KEEP_FOR_JSON:
            self.data += data

    def stored(self) -> dict | None:
        """``{"json": ...}`` (passwords redacted), or only the digest and size of anything else."""
        if not self.size:
            return None
        if self.size <= _KEEP_FOR_JSON:
            try:
                return {"json": redact(json.loads(bytes(self.data)), SECRET_REQUEST_FIELDS)}
            except ValueError:
                pass
        return {"sha256": self._hash.hexdigest(), "size": self.size}


def canonical_query(query: dict) -> tuple:
    """The query as a matching key: sorted, JSON values (docker-py's ``filters``) in one
    spelling, and ``since``/``until`` timestamps as a wildcard, since a client computes
    them from the clock (``--since 10m``) and they never repeat."""
    items = []
    for name, value in sorted(query.items()):
        values = value if isinstance(value, list) else [value]
        for one in values:
            if one.startswith(("{", "[")):
                try:
                    one = json.dumps(json.loads(one), sort_keys=True)
                except ValueError:
                    pass
            elif name in ("since", "until") and one.replace(".", "", 1).isdigit():
                one = "*"
            items.append((name, one))
    return tuple(items)


def key(method: str, path: str, query: dict) -> tuple:
    return method.upper(), path, canonical_query(query)


@dataclass
class Exchange:
    """One request and its response as the recorder sees them, filled in as they happen."""
    t: float
    method: str
    path: str
    query: dict
    headers: dict
    body: RequestBody
    status: int | None = None
    response_headers: dict = field(default_factory=dict)
    kind: str = "body"  # "body", "stream" or "hijack"
    data: bytearray = field(default_factory=bytearray)
    chunks: list = field(default_factory=list)   # [(seconds since the response, bytes)]
    frames: list = field(default_factory=list)   # [(seconds, "client" | "server", bytes)]
    ended: str | None = None                     # who ended a stream: "server" or "client"
    size: int = 0                                # bytes of the answer (or both ways, hijacked)

    def keep(self, at: float, data: bytes, who: str | None = None) -> None:
        """Some of the answer (``who`` sent it, after a protocol switch), unless it grew too big."""
        self.size += len(data)
        if self.size > MAX_ANSWER:
            self.data, self.chunks, self.frames = bytearray(), [], []
        elif who is not None:
            self.frames.append((at, who, data))
        elif self.kind == "stream":
            self.chunks.append((at, data))
        else:
            self.data += data

    def stored(self) -> dict | None:
        """This exchange as a line of the file; None if it never got an answer."""
        if self.status is None:
            return None
        out: dict = {"t": round(self.t, 3), "method": self.method, "path": self.path}
        if self.query:
            out["query"] = self.query
        if self.headers:
            out["request_headers"] = self.headers
        request = self.body.stored()
        if request:
            out["request"] = request
        out["status"] = self.status
        out["headers"] = self.response_headers
        content_type = self.response_headers.get("Content-Type", "")
        if self.size > MAX_ANSWER:
            out["omitted"] = {"size": self.size}
        elif self.kind == "hijack":
            out["hijack"] = _timed(self.frames, "frames", self.ended or "client")
        elif self.kind == "stream" and not self._came_at_once():
            out["stream"] = _timed(self.chunks, "chunks", self.ended or "client")
        else:
            body = encode_body(bytes(self.data) or b"".join(c for _, c in self.chunks), content_type)
            if body:
                out["body"] = body
        return out

    def _came_at_once(self) -> bool:
        """A chunked answer the server ended within moments, that is one JSON document, is just
        a long answer (a big ``/containers/json``): stored as a body. Real streams keep their timing."""
        if self.ended != "server" or any(t > 0.05 for t, _ in self.chunks):
            return False
        try:
            json.loads(b"".join(c for _, c in self.chunks))
        except ValueError:
            return False
        return True


def _timed(items: list, name: str, ended: str) -> dict:
    """Chunks (or frames) with close neighbours merged, as text when all of it is UTF-8."""
    merged: list = []
    for at, *side, data in items:  # side: [] for chunks, ["client"] or ["server"] for frames
        last = merged[-1] if merged else None
        if last is not None and last[1:-1] == side and at - last[0] < _COALESCE:
            last[-1] += data
        else:
            merged.append([at, *side, bytearray(data)])
    try:
        texts = [bytes(m[-1]).decode("utf-8") for m in merged]
        encoding = "text"
    except UnicodeDecodeError:
        texts = [base64.b64encode(m[-1]).decode("ascii") for m in merged]
        encoding = "base64"
    rows = [[round(m[0], 3), *m[1:-1], text] for m, text in zip(merged, texts)]
    return {"encoding": encoding, name: rows, "ended": ended}


def timed_data(timed: dict, name: str) -> list:
    """The rows of a stored stream or hijack with their data back as bytes."""
    decode = base64.b64decode if timed.get("encoding") == "base64" else (lambda s: s.encode("utf-8"))
    return [[*row[:-1], decode(row[-1])] for row in timed.get(name, [])]


def write(path: Path, recorded: str, engine: dict, exchanges: list[Exchange]) -> Path:
    """Write ``path/recording.json``: a header, then one exchange per line."""
    head = json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "recorded": recorded, "engine": engine},
                      separators=(",", ":"), ensure_ascii=False)
    lines = [json.dumps(s, separators=(",", ":"), ensure_ascii=False)
             for s in (e.stored() for e in sorted(exchanges, key=lambda e: e.t)) if s is not None]
    target, temp = path / FILE_NAME, path / f".{FILE_NAME}.tmp"
    try:
        path.mkdir(parents=True, exist_ok=True)
        temp.write_text(head[:-1] + ',"exchanges":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
        temp.replace(target)
    except OSError as exc:
        raise ReplayError(f"{target}: cannot write the recording ({exc.strerror or exc})") from None
    return target


@dataclass
class Recording:
    name: str
    header: dict
    exchanges: list


def read(file: Path) -> Recording:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReplayError(f"{file}: not a readable recording ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReplayError(f"{file}: not a jupyter-containers recording")
    if data.get("version") != FORMAT_VERSION:
        raise ReplayError(f"{file}: a recording of format version {data.get('version')!r}; this "
                          f"jupyter-containers replays version {FORMAT_VERSION}: record the session again")
    exchanges = data.pop("exchanges", None)
    if not isinstance(exchanges, list):
        raise ReplayError(f"{file}: a recording without exchanges")
    return Recording(file.parent.name, data, exchanges)


def load(folder: str | Path) -> list[Recording]:
    """The recording in ``folder``, or those of its subfolders (one level) sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplayError(f"{folder}: no such directory")
    if (folder / FILE_NAME).is_file():
        return [read(folder / FILE_NAME)]
    files = sorted(sub / FILE_NAME for sub in folder.iterdir() if (sub / FILE_NAME).is_file())
    if not files:
        raise ReplayError(f"{folder}: no recording here (no {FILE_NAME} in it or in its subdirectories)")
    return [read(file) for file in files]
