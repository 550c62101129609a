"""Mermaid text -> SVG, offline: the mermaid that JupyterLab ships, run in a headless Chromium.

JupyterLab (4.1+) bundles mermaid as rspack chunks of its static assets, loaded by
``@jupyterlab/mermaid`` through the bundler's runtime. This module writes a page that provides
the few runtime functions those chunks use (module definitions, ``require.e`` for chunk files,
and the module-federation fallbacks for the shared packages mermaid consumes), loads the same
chunks JupyterLab loads, calls ``mermaid.render`` and leaves the SVG in the page, which
``chromium --headless --dump-dom`` prints.

Everything that depends on how JupyterLab was built (which chunks, which module) is read from
its own files each time, and any mismatch is an ``SvgUnavailable`` saying what to do instead
(open the diagram in JupyterLab, which draws it). Nothing here imports IPython.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

INSTEAD = "open it in JupyterLab 4.1+ (which draws it) and save the picture from there"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHUNK_GLOBAL = "rspackChunk_jupyterlab_application_top"
_LOADER = re.compile(  # @jupyterlab/mermaid's ensureMermaid(): the chunks it loads and the module it takes
    r"\.version;let \w+=\w+=\(await (?:Promise\.all\(\[(?P<many>[^\]]*)\]\)|(?P<one>\w+\.e\(\d+\)))"
    r"\.then\(\w+\.bind\(\w+,(?P<module>\d+)\)\)\)\.default")
_FALLBACK = re.compile(
    r"(\d+):\{shareScope:\"[^\"]*\",shareKey:\"[^\"]+\",[^{}]*?fallback:\(\)=>(.*?)"
    r"\.then\(\(\)=>\(\)=>__webpack_require__\((\d+)\)\)")
_VOID = re.compile(r"<\s*(area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr)\s*([^>]*?)\s*>",
                   re.IGNORECASE)


class SvgUnavailable(Exception):
    """No SVG could be made here; the message says why and what to do instead (one line)."""


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise SvgUnavailable(f"an SVG needs a headless Chromium (Debian: apt-get install chromium); or {INSTEAD}")


def lab_static_dirs() -> list[Path]:
    dirs = []
    try:
        from jupyterlab.commands import get_app_dir

        dirs.append(Path(get_app_dir()) / "static")
    except Exception:  # noqa: BLE001  (JupyterLab not installed, or its app dir not readable)
        pass
    try:
        from jupyter_core.paths import jupyter_path

        dirs += [Path(p) / "lab" / "static" for p in jupyter_path()]
    except ImportError:
        pass
    dirs.append(Path(sys.prefix) / "share" / "jupyter" / "lab" / "static")
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


@lru_cache(maxsize=4)
def _bundle(static: Path) -> dict:
    """What the page needs from one JupyterLab build: chunk files, the loader, shared fallbacks."""
    files = {m.group(1): m.group(0) for f in os.listdir(static) if (m := re.fullmatch(r"(\d+)\.[0-9a-f]+\.js", f))}
    loader = None
    for name in sorted(os.listdir(static), key=lambda f: not f.startswith("jlab_core")):
        if not name.endswith(".js"):
            continue
        text = (static / name).read_text(encoding="utf-8", errors="replace")
        if "jp-RenderedMermaid" in text and (loader := _LOADER.search(text)):
            break
    if loader is None:
        raise SvgUnavailable(f"this JupyterLab's mermaid bundle (in {static}) is not one I can load; {INSTEAD}")
    chunks = re.findall(r"\.e\((\d+)\)", loader.group("many") or loader.group("one"))
    mains = [f for f in os.listdir(static) if re.fullmatch(r"main\.[0-9a-f]+\.js", f)]
    consumes, fallbacks = {}, {}
    if mains:
        runtime = (static / mains[0]).read_text(encoding="utf-8", errors="replace")
        mapping = re.search(r"consumesLoadingData=\{chunkMapping:\{([^{}]*)\}", runtime)
        if mapping:
            consumes = {k: re.findall(r"\"(\d+)\"", v) for k, v in re.findall(r"(\d+):\[([^\]]*)\]", mapping.group(1))}
        fallbacks = {m.group(1): (re.findall(r"__webpack_require__\.e\((\d+)\)", m.group(2)), m.group(3))
                     for m in _FALLBACK.finditer(runtime)}
    missing = [c for c in chunks if c not in files and c not in consumes]
    if missing:
        raise SvgUnavailable(f"this JupyterLab's mermaid chunks {missing} were not found in {static}; {INSTEAD}")
    return {"files": files, "chunks": chunks, "module": loader.group("module"), "consumes": consumes,
            "fallbacks": fallbacks}


RUNTIME = r"""
(function () {
  var modules = {}, cache = {}, loading = {}, B = window.__BUNDLE__;
  var own = function (o, p) { return Object.prototype.hasOwnProperty.call(o, p); };
  function req(id) {
    if (own(cache, id)) return cache[id].exports;
    if (!own(modules, id)) throw new Error("module " + id + " is not in the loaded chunks");
    var module = cache[id] = { id: id, loaded: false, exports: {} };
    modules[id].call(module.exports, module, module.exports, req);
    module.loaded = true;
    return module.exports;
  }
  req.o = own;
  req.d = function (e, defs) { for (var k in defs) if (own(defs, k) && !own(e, k)) Object.defineProperty(e, k, { enumerable: true, get: defs[k] }); };
  req.r = function (e) { if (typeof Symbol !== "undefined" && Symbol.toStringTag) Object.defineProperty(e, Symbol.toStringTag, { value: "Module" }); Object.defineProperty(e, "__esModule", { value: true }); };
  req.n = function (m) { var g = m && m.__esModule ? function () { return m["default"]; } : function () { return m; }; req.d(g, { a: g }); return g; };
  var proto = Object.getPrototypeOf, leaf = [null, proto({}), proto([]), proto(proto)];
  req.t = function (value, mode) {
    if (mode & 1) value = this(value);
    if (mode & 8) return value;
    if (typeof value === "object" && value) {
      if ((mode & 4) && value.__esModule) return value;
      if ((mode & 16) && typeof value.then === "function") return value;
    }
    var ns = Object.create(null); req.r(ns); var def = {};
    for (var cur = (mode & 2) && value; typeof cur == "object" && leaf.indexOf(cur) < 0; cur = proto(cur))
      Object.getOwnPropertyNames(cur).forEach(function (k) { def[k] = function () { return value[k]; }; });
    def["default"] = function () { return value; };
    req.d(ns, def); return ns;
  };
  req.g = globalThis;
  req.nmd = function (m) { m.paths = []; if (!m.children) m.children = []; return m; };
  req.hmd = function (m) { m = Object.create(m); if (!m.children) m.children = []; return m; };
  req.p = B.base;
  function script(id) {
    return new Promise(function (resolve, reject) {
      if (!own(B.files, id)) return resolve();
      var s = document.createElement("script");
      s.src = B.base + B.files[id];
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error("chunk " + id + " did not load")); };
      document.head.appendChild(s);
    });
  }
  req.e = function (id) {
    id = String(id);
    if (own(loading, id)) return loading[id];
    if (!own(B.files, id) && !own(B.consumes, id)) return Promise.reject(new Error("chunk " + id + " not found"));
    var waits = [script(id)];
    (B.consumes[id] || []).forEach(function (mid) {
      var fb = B.fallbacks[mid];
      if (!fb) { waits.push(Promise.reject(new Error("shared module " + mid + " has no fallback"))); return; }
      waits.push(Promise.all(fb[0].map(req.e)).then(function () {
        modules[mid] = function (module) { module.exports = req(fb[1]); };
      }));
    });
    return loading[id] = Promise.all(waits);
  };
  var chunks = self[B.global] = self[B.global] || [];
  chunks.push = function (data) { var m = data[1]; for (var k in m) if (own(m, k)) modules[k] = m[k]; if (data[2]) data[2](req); };
  function done(title, text) { document.getElementById("out").textContent = text; document.title = title; }
  Promise.all(B.chunks.map(req.e)).then(function () { return req(B.module); }).then(function (m) {
    var mermaid = m["default"];
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: B.theme, maxTextSize: 1e6,
                         maxEdges: 1e5, flowchart: { htmlLabels: false } });
    return mermaid.render("jc-diagram", B.text);
  }).then(function (r) { done("ok", r.svg); }, function (e) { done("error", String(e && e.message || e)); });
})();
"""


def render_svg(text: str, *, theme: str = "default", timeout: float = 60.0, static: Path | None = None) -> str:
    """The SVG mermaid draws for ``text`` (labels as SVG text, so it reads outside a browser too)."""
    browser = chromium()
    candidates = [Path(static)] if static else lab_static_dirs()
    if not candidates:
        raise SvgUnavailable(f"an SVG needs JupyterLab 4.1+ installed here (its mermaid is used); or {INSTEAD}")
    bundle = _bundle(candidates[0])
    data = {**bundle, "base": candidates[0].resolve().as_uri() + "/", "global": CHUNK_GLOBAL, "theme": theme,
            "text": text}
    payload = json.dumps(data).replace("<", "\\u003c")  # nothing in it can close the script element
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>pending</title></head><body>'
            f'<pre id="out"></pre><script>window.__BUNDLE__={payload};</script>'
            f"<script>{RUNTIME}</script></body></html>")
    with tempfile.TemporaryDirectory(prefix="jc-mermaid-") as tmp:
        path = Path(tmp) / "diagram.html"
        path.write_text(page, encoding="utf-8")
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={Path(tmp) / 'profile'}", "--virtual-time-budget=30000",
                   "--dump-dom", path.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SvgUnavailable(f"Chromium did not draw the diagram in {timeout:g} s; {INSTEAD}") from None
    title = re.search(r"<title>(.*?)</title>", done.stdout)
    out = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    if not title or not out or title.group(1) not in ("ok", "error"):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SvgUnavailable(f"Chromium did not draw the diagram ({last[:200]}); {INSTEAD}")
    result = html.unescape(out.group(1))
    if title.group(1) == "error":
        raise SvgUnavailable(f"mermaid could not draw it: {' '.join(result.split())[:300]}")
    svg = _VOID.sub(lambda m: f"<{m.group(1)} {m.group(2).rstrip('/').strip()} />".replace("  ", " "), result)
    try:
        ET.fromstring(svg)
    except ET.ParseError as exc:
        raise SvgUnavailable(f"mermaid's SVG is not well-formed XML ({exc}); {INSTEAD}") from None
    return svg
