"""Real compose files from public repositories through our loader.

The files live in ``../shared/compose_corpus`` beside the repository (third-party data is kept in the
steering repository's shared/, not committed here); ``tests/compose_corpus/README.md`` says where each
comes from and under which license. Without that folder these tests skip, saying so.

Every file must load, and what ``config`` resolves must validate against the Compose Specification's
JSON schema. Where Debian's docker-compose 1.29 reads a file too, both must name the same services and
volumes. No engine is needed: neither our loader nor ``docker-compose config`` talks to one.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import compose_schema
from jupyter_containers.compose import ComposeFileError, load_project

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compose_corpus"
if not CORPUS.is_dir():
    pytest.skip(f"the third-party compose corpus is not here ({CORPUS}); see tests/compose_corpus/README.md",
                allow_module_level=True)
# every YAML file in the corpus is a compose file (fragments that others extend or include too)
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
PROJECT = "corpus"
ENV = {"COMPOSE_PROJECT_NAME": PROJECT}  # the only variable set: the files' own .env files do the rest


def rel(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def test_the_corpus_is_there():
    assert len(FILES) >= 50, f"{CORPUS}: {len(FILES)} compose files, expected at least 50"


def load(path: Path):
    """Our loader on one file; its one-line refusal ends the test without a traceback."""
    try:
        return load_project([path], env=ENV)
    except ComposeFileError as exc:
        refusal = str(exc)
    pytest.fail(f"{rel(path)}: our loader refuses it: {refusal}", pytrace=False)


@functools.cache
def schema_validator():
    import jsonschema  # the test extra has it

    return jsonschema.Draft7Validator(compose_schema())  # the schema's $schema is draft-07


# files asking for what no engine here can give: refused by name (file, service, key), as they must be
REFUSED = {"compose-e2e/model/compose.yaml": "services.test.models: 'models' is a Docker Desktop feature"}


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_corpus_file_loads(path):
    if rel(path) in REFUSED:
        with pytest.raises(ComposeFileError, match=REFUSED[rel(path)]):
            load_project([path], env=ENV)
        return
    config = load(path).config()
    errors = sorted(schema_validator().iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, f"{rel(path)}: the resolved config does not validate against the compose schema:\n" + \
        "\n".join(f"  {'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}" for e in errors[:10])


# -- docker-compose 1.29 as the reference --------------------------------------------------------------------
# Starting docker-compose costs ~0.5 s of CPU (its imports), twice per file. So its interpreter (the one
# its script names) runs its console entry point once per command, all files in one process: the same
# code and exit codes as `docker-compose -f FILE --project-directory DIR config --services|--volumes`.
REFERENCE = r"""
import contextlib, io, json, logging, os, sys
from importlib.metadata import distribution

main = next(e for e in distribution("docker-compose").entry_points
            if e.group == "console_scripts" and e.name == "docker-compose").load()
results = {}
for path in json.loads(sys.argv[1]):
    directory = os.path.dirname(path)
    results[path] = {}
    for flag in ("--services", "--volumes"):
        os.chdir(directory)
        sys.argv = ["docker-compose", "-f", path, "--project-directory", directory, "config", flag]
        out, err, code = io.StringIO(), io.StringIO(), 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        logging.getLogger().handlers.clear()
        results[path][flag] = [code, out.getvalue(), err.getvalue()]
        if code:
            break
print("\n@@corpus-results@@" + json.dumps(results))
"""


@functools.cache
def docker_compose_results() -> dict[str, dict[str, list]]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose (Compose 1.29, Debian's package docker-compose) is not on PATH; "
                    "`make test` installs it", pytrace=False)
    try:
        first = Path(exe).read_bytes()[:256].split(b"\n")[0].decode(errors="replace")
    except OSError:
        first = ""
    interpreter = first[2:].strip().split()[0] if first.startswith("#!") else None
    if not interpreter or "python" not in interpreter:
        pytest.fail(f"{exe} is not Debian's docker-compose 1.29 (a Python script); `make test` installs it",
                    pytrace=False)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8", **ENV}
    out = subprocess.run([interpreter, "-c", REFERENCE, json.dumps([str(p) for p in FILES])], env=env, check=False,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        pytest.fail(f"running docker-compose 1.29 over the corpus failed: {out.stderr.strip()[-2000:]}",
                    pytrace=False)
    return json.loads(out.stdout.rpartition("@@corpus-results@@")[2])


def names(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_corpus_services_and_volumes_match_docker_compose(path):
    result = docker_compose_results()[str(path)]
    code, services, err = result["--services"]
    if code != 0:  # newer syntax than 1.29's (name:, include, develop, hooks...): nothing to compare with,
        if rel(path) not in REFUSED:  # but ours reads it
            load(path)  # fails the test, with our one-line refusal, if ours does not
        return
    code, volumes, err = result["--volumes"]
    assert code == 0, f"docker-compose 1.29 lists the services but not the volumes: {err.strip()}"
    project = load(path)
    # docker-compose 1.29 lists every service of the file whatever its profiles: compare the file's services
    assert set(project.model.services) == names(services), "services differ from docker-compose 1.29's"
    assert set(project.model.volumes) == names(volumes), "volumes differ from docker-compose 1.29's"
