"""Registries: logins (kernel, config file, credential helper), push and pull with
progress, and browsing through the v2 API, against real Debian docker-registry
processes on 127.0.0.1: the anonymous ``registry`` fixture, and here one with
htpasswd basic auth behind TLS from a certificate made for the test, which
refuses deletion. Nothing leaves 127.0.0.1; ``DOCKER_CONFIG`` points at a temp dir.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pandas as pd
import pytest
import requests

from conftest import BUSYBOX, RUN_ID, TEST_LABEL, free_port, usage_error, wait_for
from jupyter_containers.engine import (ContainersError, Engine, InvalidArgument, NotFound, PullProgress,
                                       RegistryAuthError)
from jupyter_containers.engine.registry import DockerConfig
from jupyter_containers.engine.registry_api import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
                                                    DeleteRefused, Manifest, Registries, RegistryUnavailable,
                                                    parse_challenge)

pytestmark = pytest.mark.usefixtures("busybox")
USER, PASSWORD = "alice", f"Pw-{uuid.uuid4().hex}"
CERTS_D = Path("/etc/docker/certs.d")
NO_SUCH_HOST = "a" * 64 + ".test:5000"  # a label longer than 63: refused before any DNS query is sent


# -- fixtures ----------------------------------------------------------------------------

def serve_registry(root: Path, port: int, extra: str = "", delete: bool = True):
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: {str(delete).lower()}}}}}\n"
        + extra.replace("ADDR", f"127.0.0.1:{port}"))
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([shutil.which("docker-registry"), "serve", str(config)], stdout=log,
                               stderr=subprocess.STDOUT)

    def answers():
        assert process.poll() is None, (root / "registry.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(answers, timeout=20, message="the registry to answer")
    return process, log


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture(scope="module")
def secure_registry(tmp_path_factory):
    """htpasswd (bcrypt) basic auth, TLS from a self-signed certificate whose CA the engine
    and our client find in /etc/docker/certs.d/127.0.0.1:PORT/ca.crt; deletion disabled."""
    import bcrypt

    root = tmp_path_factory.mktemp("secure-registry")
    cert, key = self_signed(root)
    (root / "htpasswd").write_text(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    port = free_port()
    trust = CERTS_D / f"127.0.0.1:{port}"
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copy(cert, trust / "ca.crt")
    process, log = serve_registry(root, port, delete=False, extra=(
        f"http: {{addr: ADDR, tls: {{certificate: {cert}, key: {key}}}}}\n"
        f"auth: {{htpasswd: {{realm: jc-test, path: {root / 'htpasswd'}}}}}\n"))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(trust, ignore_errors=True)


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch) -> Path:
    """The docker CLI's config dir for this test (never the real ~/.docker)."""
    folder = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


@pytest.fixture
def fresh(root_engine) -> Engine:
    """The engine with logins of its own (as a new kernel has)."""
    return Engine(root_engine.api, root_engine.url, labels={TEST_LABEL: RUN_ID})


@pytest.fixture
def unique_image(root_engine):
    """Build a small image with a layer of its own; removes every tag made of it afterwards."""
    made: list[str] = []

    def build(*refs: str) -> str:
        image = root_engine.images.build(dockerfile=f"FROM {BUSYBOX}\nRUN echo {uuid.uuid4().hex} > /token\n",
                                         tag=list(refs))
        made.extend(refs)
        return image.id

    yield build
    for ref in made:
        try:
            root_engine.images.remove(ref, force=True)
        except ContainersError:
            pass


def repo_name() -> str:
    return f"jc-test/{uuid.uuid4().hex[:10]}"


# -- anonymous registry: push, pull, browse, delete -----------------------------------------

def test_push_pull_browse_delete(fresh, registry, unique_image):
    repo = repo_name()
    image_id = unique_image(f"{registry}/{repo}:1", f"{registry}/{repo}:2", f"{registry}/{repo}-b:1")
    pushed: list[PullProgress] = []
    digest = fresh.images.push(f"{registry}/{repo}:1", on_progress=pushed.append)
    assert digest.startswith("sha256:") and {e.status for e in pushed if e.id} & {"Pushed", "Layer already exists"}
    fresh.images.push(f"{registry}/{repo}:2")
    fresh.images.push(f"{registry}/{repo}-b:1")

    fresh.images.remove(f"{registry}/{repo}:1")
    fresh.images.remove(f"{registry}/{repo}:2")
    fresh.images.remove(f"{registry}/{repo}-b:1")
    assert not fresh.images.exists(image_id)
    pulled: list[PullProgress] = []
    image = fresh.images.pull(f"{registry}/{repo}:1", on_progress=pulled.append)
    assert image.id == image_id and f"{registry}/{repo}@{digest}" in image.digests
    assert "Pull complete" in {e.status for e in pulled}  # the layer of its own came over the wire

    api = Registries(fresh.credentials)
    assert {repo, f"{repo}-b"} <= set(api.catalog(registry, page_size=1))  # one per page: Link followed
    frame = api.catalog_frame(registry)
    assert list(frame.columns) == ["repository", "image"] and f"{registry}/{repo}" in set(frame["image"])
    tags = api.tags_frame(f"{registry}/{repo}", page_size=1)
    assert sorted(tags["tag"]) == ["1", "2"] and set(tags["image"]) == {f"{registry}/{repo}:1", f"{registry}/{repo}:2"}

    manifest = api.manifest(f"{registry}/{repo}:1")
    assert manifest.media_type == DOCKER_MANIFEST and manifest.digest == digest and not manifest.is_index
    layers = fresh.images.inspect(image_id)["RootFS"]["Layers"]
    assert len(manifest.layers) == len(layers) == 3 and all(layer.size > 0 for layer in manifest.layers)
    assert manifest.config.digest.startswith("sha256:") and image_id == manifest.config.digest
    assert list(manifest.frame().columns) == ["digest", "size", "media_type"]
    assert api.manifest(f"{registry}/{repo}@{digest}").digest == digest

    assert api.delete(f"{registry}/{repo}:2") == digest  # by digest: tags 1 and 2 share it
    assert api.tags(f"{registry}/{repo}") == []
    with pytest.raises(NotFound, match=f"tag 1 of {repo} not found in {registry}"):
        api.manifest(f"{registry}/{repo}:1")
    assert api.tags(f"{registry}/{repo}-b") == ["1"]


def put_blob(base: str, repo: str, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=5)
    assert start.status_code == 202, start.text
    done = requests.put(urljoin(base, start.headers["Location"]), params={"digest": digest}, data=data,
                        headers={"Content-Type": "application/octet-stream"}, timeout=5)
    assert done.status_code == 201, done.text
    return {"digest": digest, "size": len(data)}


def put_manifest(base: str, repo: str, ref: str, body: dict) -> str:
    answer = requests.put(f"{base}/v2/{repo}/manifests/{ref}", data=json.dumps(body),
                          headers={"Content-Type": body["mediaType"]}, timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.headers["Docker-Content-Digest"]


@pytest.mark.parametrize("index_type, manifest_type, config_type, layer_type", [
    (OCI_INDEX, OCI_MANIFEST, "application/vnd.oci.image.config.v1+json",
     "application/vnd.oci.image.layer.v1.tar+gzip"),
    (DOCKER_LIST, DOCKER_MANIFEST, "application/vnd.docker.container.image.v1+json",
     "application/vnd.docker.image.rootfs.diff.tar.gzip"),
])
def test_index_lists_platforms(fresh, registry, index_type, manifest_type, config_type, layer_type):
    base, repo = f"http://{registry}", repo_name()
    entries = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        config = put_blob(base, repo, json.dumps({"architecture": arch, "os": "linux"}).encode())
        layer = put_blob(base, repo, os.urandom(1000 + len(arch)))
        body = {"schemaVersion": 2, "mediaType": manifest_type, "config": {"mediaType": config_type, **config},
                "layers": [{"mediaType": layer_type, **layer}]}
        digest = put_manifest(base, repo, f"{arch}-only", body)
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        entries.append({"mediaType": manifest_type, "digest": digest, "size": len(json.dumps(body)),
                        "platform": platform})
    index_digest = put_manifest(base, repo, "multi", {"schemaVersion": 2, "mediaType": index_type,
                                                      "manifests": entries})
    api = Registries(fresh.credentials)
    index = api.manifest(f"{registry}/{repo}:multi")
    assert index.is_index and index.media_type == index_type and index.digest == index_digest
    assert [p.platform for p in index.platforms] == ["linux/amd64", "linux/arm64/v8"]
    frame = index.frame()
    assert list(frame["platform"]) == ["linux/amd64", "linux/arm64/v8"] and list(frame["digest"]) == \
        [e["digest"] for e in entries]
    single = api.manifest(f"{registry}/{repo}@{entries[1]['digest']}")
    assert single.media_type == manifest_type and single.layers[0].size == 1005 and single.layers[0].media_type == \
        layer_type and single.config.media_type == config_type
    assert sorted(api.tags(f"{registry}/{repo}")) == ["amd64-only", "arm64-only", "multi"]


# -- htpasswd + TLS registry -----------------------------------------------------------------

def test_login_push_pull_browse_with_basic_auth_over_tls(fresh, secure_registry, unique_image, docker_config):
    ref = f"{secure_registry}/{repo_name()}:1"
    image_id = unique_image(ref)
    with pytest.raises(RegistryAuthError, match="push of .* failed"):
        fresh.images.push(ref)
    api = Registries(fresh.credentials)
    with pytest.raises(RegistryAuthError, match=f"{secure_registry} needs a login"):
        api.catalog(secure_registry)
    with pytest.raises(RegistryAuthError, match=f"refused the username or password of '{USER}'") as wrong:
        fresh.credentials.login(secure_registry, USER, PASSWORD + "x")
    assert PASSWORD not in str(wrong.value)

    assert fresh.credentials.login(secure_registry, USER, PASSWORD) is None
    assert not docker_config.exists()  # kept in memory only
    digest = fresh.images.push(ref)
    fresh.images.remove(ref)
    image = fresh.images.pull(ref)
    assert image.id == image_id and any(d.endswith(digest) for d in image.digests)

    assert ref.split("/", 1)[1].split(":")[0] in api.catalog(secure_registry)
    assert api.tags(ref.rsplit(":", 1)[0]) == ["1"]
    assert api.manifest(ref).digest == digest
    conn = api.connection(secure_registry)
    assert conn.url == f"https://{secure_registry}" and conn.verify == str(CERTS_D / secure_registry / "ca.crt")
    with pytest.raises(DeleteRefused, match="does not allow deleting"):
        api.delete(ref)
    assert api.tags(ref.rsplit(":", 1)[0]) == ["1"]

    assert fresh.credentials.logout(secure_registry)
    with pytest.raises(RegistryAuthError, match="needs a login"):
        api.tags(ref.rsplit(":", 1)[0])


def test_save_writes_the_docker_cli_config(root_engine, fresh, secure_registry, unique_image, docker_config):
    ref = f"{secure_registry}/{repo_name()}:1"
    unique_image(ref)
    saved = fresh.credentials.login(secure_registry, USER, PASSWORD, save=True)
    path = docker_config / "config.json"
    assert saved == str(path) and oct(path.stat().st_mode & 0o777) == "0o600"
    entry = json.loads(path.read_text())["auths"][secure_registry]
    assert base64.b64decode(entry["auth"]).decode() == f"{USER}:{PASSWORD}"

    later = Engine(root_engine.api, root_engine.url)  # a new kernel: no login in memory
    assert later.credentials.for_registry(secure_registry)["username"] == USER
    later.images.push(ref)
    assert Registries(later.credentials).tags(ref.rsplit(":", 1)[0]) == ["1"]
    if shutil.which("docker"):  # the docker CLI reads what we wrote
        cli = subprocess.run(["docker", "pull", ref], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "DOCKER_HOST": root_engine.url, "DOCKER_CONFIG": str(docker_config)})
        assert cli.returncode == 0, cli.stderr

    assert later.credentials.logout(secure_registry)
    assert secure_registry not in json.loads(path.read_text()).get("auths", {})
    assert later.credentials.for_registry(secure_registry) is None


HELPER = """\
#!{python}
import json, sys
from pathlib import Path
store = Path({store!r})
data = json.loads(store.read_text()) if store.exists() else {{}}
verb, given = sys.argv[1], sys.stdin.read().strip()
if verb == "store":
    item = json.loads(given); data[item["ServerURL"]] = item; store.write_text(json.dumps(data))
elif verb == "get":
    if given not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(data[given]))
elif verb == "erase":
    data.pop(given, None); store.write_text(json.dumps(data))
elif verb == "list":
    print(json.dumps({{k: v["Username"] for k, v in data.items()}}))
"""


def test_credential_helper_is_used(root_engine, fresh, secure_registry, docker_config, tmp_path, monkeypatch):
    bin_dir, store = tmp_path / "bin", tmp_path / "helper-store.json"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-jctest"
    helper.write_text(HELPER.format(python=sys.executable, store=str(store)))
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "jctest", "detachKeys": "ctrl-x"}))

    saved = fresh.credentials.login(secure_registry, USER, PASSWORD, save=True)
    assert saved == "docker-credential-jctest"
    config = json.loads((docker_config / "config.json").read_text())
    assert config["auths"][secure_registry] == {} and config["detachKeys"] == "ctrl-x"
    assert PASSWORD not in (docker_config / "config.json").read_text()
    assert json.loads(store.read_text())[secure_registry]["Secret"] == PASSWORD

    later = Engine(root_engine.api, root_engine.url)
    assert later.credentials.for_registry(secure_registry)["password"] == PASSWORD
    Registries(later.credentials).catalog(secure_registry)
    assert later.credentials.logout(secure_registry)
    assert secure_registry not in json.loads(store.read_text())
    assert DockerConfig().get(secure_registry) is None


def test_registry_errors_are_one_line(fresh, registry, secure_registry):
    api = Registries(fresh.credentials)
    down = f"127.0.0.1:{free_port()}"
    cases = [
        (RegistryUnavailable, f"the registry at {down} does not answer (connection refused)", api.catalog, down),
        (RegistryUnavailable, "unknown registry host", api.catalog, NO_SUCH_HOST),
        (NotFound, f"repository jc-test/none-{RUN_ID} not found in {registry}", api.tags,
         f"{registry}/jc-test/none-{RUN_ID}"),
        (NotFound, "tag nope of", api.manifest, f"{registry}/jc-test/none-{RUN_ID}:nope"),
        (InvalidArgument, "invalid image reference 'Bad/Name'", api.manifest, "Bad/Name"),
        (InvalidArgument, "invalid registry", api.catalog, "not a registry"),
        (RegistryAuthError, f"{secure_registry} needs a login", api.catalog, secure_registry),
    ]
    for cls, text, call, argument in cases:
        with pytest.raises(cls) as caught:
            call(argument)
        assert text in str(caught.value) and "\n" not in str(caught.value), (text, str(caught.value))
    for registry_ in (down, NO_SUCH_HOST):
        with pytest.raises(RegistryUnavailable) as caught:
            fresh.credentials.login(registry_, USER, PASSWORD)
        assert PASSWORD not in str(caught.value)
    assert repr(fresh.credentials) == "<Credentials for []>"


def test_challenges_are_parsed():
    scheme, params = parse_challenge('Bearer realm="https://127.0.0.1:1/token",service="reg",'
                                     'scope="repository:a/b:pull,push"')
    assert scheme == "bearer" and params == {"realm": "https://127.0.0.1:1/token", "service": "reg",
                                             "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm="jc"') == ("basic", {"realm": "jc"})


# -- magics ------------------------------------------------------------------------------





def test_magics_login_push_pull_browse(ip, registry, secure_registry, unique_image, monkeypatch, capsys):
    monkeypatch.setenv("JC_TEST_PW", PASSWORD)
    repo = f"{secure_registry}/{repo_name()}"
    unique_image(f"{repo}:1")
    try:
        ip.run_cell(f"%container login {secure_registry} -u {USER} --password-env JC_TEST_PW")
        ip.run_cell(f"%container push {repo}:1")
        ip.run_cell(f"%container rmi {repo}:1")
        ip.run_cell(f"%container pull {repo}:1")
        out, err = capsys.readouterr()
        assert f"logged in to {secure_registry} as {USER}" in out
        assert f"pushed {repo}:1 (sha256:" in out and "layers" in out
        assert f"pulled {repo}:1 (" in out and ", sha256:" in out
        listing = ip.run_line_magic("container", f"registry ls {secure_registry}")
        assert isinstance(listing, pd.DataFrame) and repo in set(listing["image"])
        tags = ip.run_line_magic("container", f"registry tags {repo}")
        assert isinstance(tags, pd.DataFrame) and list(tags["tag"]) == ["1"]
        manifest = ip.run_line_magic("container", f"registry manifest {repo}:1")
        assert isinstance(manifest, Manifest) and manifest.digest in manifest._repr_html_()
        assert "does not allow deleting" in usage_error(ip, f"%container registry rm {repo}:1")
        history = "\n".join(cell for _, _, cell in ip.history_manager.get_range())
        for text in (out, err, history, repr(ip.magics_manager.registry["ContainerMagics"].engine.credentials)):
            assert PASSWORD not in text
    finally:
        ip.run_cell(f"%container logout {secure_registry}")
    capsys.readouterr()
    assert "needs a login" in usage_error(ip, f"%container registry tags {repo}")

    down = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("JC_WRONG_PW", PASSWORD + "x")
    for line, expected in [
        (f"%container login {secure_registry} -u {USER} --password-env JC_WRONG_PW",
         f"container login: {secure_registry} refused the username or password of '{USER}'"),
        (f"%container login {secure_registry} -u {USER} -p {PASSWORD}", "a password on the line would be kept"),
        (f"%container login {secure_registry} -u {USER} --password-env JC_NOT_SET_{RUN_ID}", "is not set"),
        (f"%container login {down} -u {USER} --password-env JC_TEST_PW",
         f"container login: the registry at {down} does not answer"),
        (f"%container registry ls {NO_SUCH_HOST}", "container registry ls: unknown registry host"),
        (f"%container registry tags {registry}/jc-test/none-{RUN_ID}", "not found in"),
        (f"%container registry manifest {registry}/Bad/Name", "invalid image reference"),
        (f"%container registry rm {registry}/jc-test/none-{RUN_ID}:1", "not found in"),
        ("%container registry", "say one of ls, manifest, rm, tags"),
    ]:
        message = usage_error(ip, line)
        assert expected in message and PASSWORD not in message, (line, message)


# -- a real notebook: the password is nowhere ---------------------------------------------------

def test_notebook_and_history_never_hold_the_password(secure_registry, unique_image, tmp_path, docker_config):
    import nbformat
    from nbclient import NotebookClient

    repo = f"{secure_registry}/{repo_name()}"
    unique_image(f"{repo}:1")
    cells = [
        "%load_ext jupyter_containers\n%config ContainerMagics.progress = 'text'",
        f"%container login {secure_registry} -u {USER} --password-env JC_REGISTRY_PASSWORD",
        f"%container push {repo}:1",
        f"%container registry tags {repo}",
        "import os\nwrong = os.environ['JC_REGISTRY_PASSWORD'][::-1]",
        f"%container login {secure_registry} -u {USER} --password-variable wrong",
        f"%container logout {secure_registry}",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.cells[5].metadata["tags"] = ["raises-exception"]
    ipython_dir = tmp_path / "ipython"
    env = {**os.environ, "JC_REGISTRY_PASSWORD": PASSWORD, "IPYTHONDIR": str(ipython_dir),
           "DOCKER_CONFIG": str(docker_config)}
    history_file = ipython_dir / "profile_default" / "history.sqlite"  # nbclient's default is :memory:
    NotebookClient(nb, timeout=120, kernel_name="python3", ipython_hist_file=str(history_file),
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    path = tmp_path / "login.ipynb"
    nbformat.write(nb, path)

    saved = path.read_text()
    assert f"logged in to {secure_registry} as {USER}" in saved and f"pushed {repo}:1 (sha256:" in saved
    assert "refused the username or password" in saved and "UsageError" in saved
    assert history_file.is_file()
    history = b"".join(f.read_bytes() for f in ipython_dir.rglob("*") if f.is_file())
    assert b"container login" in history  # the history was written, so the search below means something
    for secret in (PASSWORD, PASSWORD[::-1]):
        assert secret not in saved and secret.encode() not in history
    assert not (docker_config / "config.json").exists()


# -- token auth: a registry that sends clients to a token service ---------------------------------

class TokenService:
    """A small real token service (as Docker Hub's auth.docker.io is for its registry):
    issues RS256 JWTs the registry verifies against the certificate in its rootcertbundle."""

    def __init__(self, folder: Path):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jc-test-token-issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1)).sign(self.key, hashes.SHA256()))
        self.bundle = folder / "token-ca.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse

                query = parse_qs(urlparse(self.path).query)
                given = self.headers.get("Authorization", "")
                good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                service.requests.append({"scope": query.get("scope", []), "authorized": given == good})
                if given != good:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(query.get("service", [""])[0],
                                                          query.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def token(self, audience: str, scopes: list[str]) -> str:
        import time

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        access = []
        for scope in scopes:
            kind, rest = scope.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "jc-test-issuer", "sub": USER, "aud": audience, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signed = b64(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}).encode()) + "." + \
            b64(json.dumps(claims).encode())
        signature = self.key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{b64(signature)}"


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    import threading

    root = tmp_path_factory.mktemp("token-registry")
    service = TokenService(root)
    thread = threading.Thread(target=service.server.serve_forever, daemon=True)
    thread.start()
    port = free_port()
    process, log = serve_registry(root, port, extra=(
        "http: {addr: ADDR}\n"
        f"auth: {{token: {{realm: '{service.realm}', service: jc-test-registry, issuer: jc-test-issuer, "
        f"rootcertbundle: {service.bundle}}}}}\n"))
    try:
        yield f"127.0.0.1:{port}", service
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        service.server.shutdown()


def test_token_auth_login_push_browse_delete(fresh, token_registry, unique_image):
    registry, service = token_registry
    repo = f"{registry}/{repo_name()}"
    unique_image(f"{repo}:1")
    api = Registries(fresh.credentials)
    with pytest.raises(RegistryAuthError, match=f"{registry} needs a login"):
        api.catalog(registry)
    with pytest.raises(RegistryAuthError, match=f"refused the username or password of '{USER}'"):
        fresh.credentials.login(registry, USER, PASSWORD + "x")
    fresh.credentials.login(registry, USER, PASSWORD)
    digest = fresh.images.push(f"{repo}:1")  # the engine fetched its own token with the login
    assert repo.split("/", 1)[1] in api.catalog(registry)
    assert any(r["authorized"] and "registry:catalog:*" in r["scope"] for r in service.requests)
    assert api.tags(repo) == ["1"] and api.manifest(f"{repo}:1").digest == digest
    assert api.delete(f"{repo}:1") == digest
    assert any(r["authorized"] and any(s.endswith(":delete") for s in r["scope"]) for r in service.requests)
    assert api.tags(repo) == []
