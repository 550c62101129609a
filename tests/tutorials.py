"""The tutorial notebooks run as a user runs them: executed, recorded, replayed.

Used by ``tests/test_notebooks.py`` and by ``make recordings``
(``python tests/tutorials.py record binder/recordings``), so that the recordings Binder
replays and the checks made on them come from one place.

A notebook's *signature* is what should not change between two runs of it: per code
cell, the kinds of output it showed (stream, error, the mime types of each result),
the columns and row counts of the DataFrames it showed, and the ``tutorial-*`` names
in its outputs. Ids, times, ports and figures are left out: they differ between runs.
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
from contextlib import contextmanager
from pathlib import Path

import nbformat

from conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
RECORDINGS = ROOT / "binder" / "recordings"
BIN = Path(sys.executable).parent
NAMES = re.compile(r"\btutorial-[a-z0-9][a-z0-9-]*[a-z0-9]\b")
HEX_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def execute(notebook: Path, out: Path, env: dict[str, str] | None = None, record: Path | None = None,
            timeout: float = 600) -> nbformat.NotebookNode:
    """Run ``notebook`` in a fresh kernel (``jupyter execute``), save it executed to ``out``.

    ``record``: through the recorder, which writes the engine session to that directory.
    Cell errors do not stop the run: the outputs are checked afterwards.
    """
    notebook, out, record = notebook.resolve(), out.resolve(), record and record.resolve()
    command = [str(BIN / "jupyter-execute"), "--allow-errors", f"--output={out}",
               "--ExecutePreprocessor.timeout=300", str(notebook)]
    if record is not None:
        command = [str(BIN / "jupyter-containers"), "replay", "record", "--out", str(record), "--", *command]
    done = subprocess.run(command, cwd=notebook.parent, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"{notebook.name} did not run (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return nbformat.read(out, as_version=4)


def texts(output) -> str:
    data = output.get("data", {})
    return "".join([output.get("text", ""), output.get("evalue", ""), data.get("text/plain", ""),
                    data.get("text/html", ""), data.get("text/vnd.mermaid", "")])


def errors(nb) -> list[str]:
    """One line per cell that failed: its index and the error's last line."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" or (output.get("name") == "stderr"
                                                         and "Traceback" in output.get("text", "")):
                found.append(f"cell {index}: {output.get('ename', 'stderr')}: "
                             f"{(output.get('evalue') or output.get('text', '')).strip().splitlines()[-1:]}")
    return found


def frames(text: str) -> list[dict]:
    """Columns and row counts of the pandas tables in an HTML output."""
    found = []
    for table in re.findall(r'<table[^>]*class="dataframe"[^>]*>(.*?)</table>', text, re.S):
        head, _, body = table.partition("</thead>")
        columns = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                   for c in re.findall(r"<th[^>]*>(.*?)</th>", head.rpartition("<tr")[2], re.S)]
        found.append({"columns": [c for c in columns if c], "rows": body.count("<tr")})
    return found


def signature(nb) -> list[dict]:
    """Per code cell: output kinds, DataFrames (columns, rows) and the tutorial names shown."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kinds, tables, names = [], [], set()
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            if kind == "stream":
                kind = f"stream:{output['name']}"
            elif kind in ("display_data", "execute_result"):
                kind = "+".join(sorted(output.get("data", {})))
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
            tables += frames(output.get("data", {}).get("text/html", ""))
            names |= set(NAMES.findall(texts(output)))
        cells.append({"cell": index, "outputs": kinds, "frames": tables, "names": sorted(names)})
    return cells


def requests_made(recording: Path) -> set[str]:
    """The distinct requests of a recording, ids replaced: ``GET /containers/<id>/json``."""
    data = json.loads((recording / "recording.json").read_text())
    return {f"{e['method']} {HEX_ID.sub('<id>', e['path'])}" for e in data["exchanges"]}


@contextmanager
def replay_server(recordings: Path = RECORDINGS):
    """``jupyter containers replay serve`` on ``recordings``, as binder/start runs it; yields its DOCKER_HOST."""
    folder = Path(tempfile.mkdtemp(prefix="jc-", dir="/tmp"))  # short: a socket path has 108 bytes at most
    socket = folder / "replay.sock"
    server = subprocess.Popen([str(BIN / "jupyter-containers"), "replay", "serve", "--socket", str(socket),
                               str(recordings)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: socket.exists() or server.poll() is not None, timeout=20, message="the replay socket")
        if not socket.exists():
            raise RuntimeError(f"the replay server did not start: {server.communicate()[1][-2000:]}")
        yield f"unix://{socket}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def record_all(target: Path, only: list[str] = ()) -> None:
    """Record every tutorial (or those whose name starts with one of ``only``) into ``target/NAME/``,
    with its outputs' signature (``make recordings``)."""
    with tempfile.TemporaryDirectory() as scratch:
        for notebook in NOTEBOOKS:
            if only and not notebook.stem.startswith(tuple(only)):
                continue
            folder = target / notebook.stem
            nb = execute(notebook, Path(scratch) / notebook.name, record=folder)
            failed = errors(nb)
            if failed:
                raise SystemExit(f"{notebook.name} failed; recording not kept:\n" + "\n".join(failed))
            (folder / "outputs.json").write_text(json.dumps(signature(nb), indent=1) + "\n")
            size = sum(f.stat().st_size for f in folder.iterdir())
            print(f"recorded {notebook.name}: {len(requests_made(folder))} distinct requests, {size / 1e3:.0f} kB")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "record":
        raise SystemExit("usage: python tests/tutorials.py record DIR [NOTEBOOK-PREFIX...]")
    record_all(Path(sys.argv[2]), sys.argv[3:])
