"""Fixtures: a real engine, a FROM-scratch busybox image, a real registry.

Everything a test creates carries this run's label, and the ``cleanup``
fixture removes every container, network and volume with it after each test,
also when the test failed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from jupyter_containers.engine import Engine, EngineUnavailable, PrivateEngine

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TEST_LABEL = "io.jupyter.containers.test"
RUN_ID = uuid.uuid4().hex[:12]
BUSYBOX = "jupyter-containers/busybox:test"
BUSYBOX_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh"]
"""


def wait_for(condition, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


COMPOSE_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "compose-spec" / "compose-spec.json"


def compose_schema() -> dict:
    """The Compose Specification's official JSON schema, from ../shared beside the repository."""
    if not COMPOSE_SCHEMA.is_file():
        pytest.fail(f"the compose schema is missing: {COMPOSE_SCHEMA} (../shared/compose-spec beside the repository)")
    return json.loads(COMPOSE_SCHEMA.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def static_busybox() -> str:
    path = shutil.which("busybox") or "/bin/busybox"
    out = subprocess.run(["ldd", path], capture_output=True, text=True)
    if "not a dynamic executable" not in out.stdout + out.stderr:
        pytest.fail(f"{path} is not static; install Debian's busybox-static (make test does)")
    return path


def build_busybox(engine: Engine, tag: str = BUSYBOX):
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(static_busybox(), Path(context) / "busybox")
        return engine.images.build(context, dockerfile=BUSYBOX_DOCKERFILE, tag=tag)


@pytest.fixture(scope="session")
def root_engine() -> Engine:
    """The engine the suite runs against; the private one is started if none answers."""
    try:
        engine = Engine.connect()
    except EngineUnavailable:
        PrivateEngine().start()
        engine = Engine.connect()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def engine(root_engine) -> Engine:
    """The engine, labelling everything it creates with this run's label."""
    return root_engine.with_labels({TEST_LABEL: RUN_ID})


@pytest.fixture(scope="module")
def swarm(root_engine, busybox):
    """The engine as a one-node swarm's manager (advertised on 127.0.0.1) for a module's tests,
    left as it was found: a swarm this fixture made is left, and the docker_gwbridge network it
    brought is removed."""
    had_swarm = root_engine.swarm.active
    had_bridge = bool(root_engine.networks.list(filters={"name": ["docker_gwbridge"]}))
    if not had_swarm:
        root_engine.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    yield root_engine
    for service in root_engine.services.list(filters={"label": [f"{TEST_LABEL}={RUN_ID}"]}):
        root_engine.services.remove(service["ID"])
    if not had_swarm:
        root_engine.swarm.leave(force=True)
        if not had_bridge:
            wait_for(lambda: _gone_bridge(root_engine), timeout=30, message="docker_gwbridge removed")


def _gone_bridge(engine) -> bool:
    """Remove docker_gwbridge; True once it is gone (it is busy while the last tasks' endpoints go)."""
    from jupyter_containers.engine import ContainersError

    if not engine.networks.list(filters={"name": ["docker_gwbridge"]}):
        return True
    try:
        engine.networks.remove("docker_gwbridge")
    except ContainersError:
        return False
    return True


@pytest.fixture(scope="session")
def busybox(root_engine):
    """``jupyter-containers/busybox:test``, built FROM scratch through our own build API
    (without the run's label, so the build cache makes it instant on the next run)."""
    return build_busybox(root_engine)


@pytest.fixture(autouse=True)
def cleanup(request):
    """After each test, remove every container, network and volume it labelled."""
    yield
    if "root_engine" not in request.fixturenames:
        return
    engine = request.getfixturevalue("root_engine")
    mine = [f"{TEST_LABEL}={RUN_ID}"]
    try:
        for container in engine.containers.list(all=True, filters={"label": mine}):
            engine.containers.remove(container.id, force=True, volumes=True, missing_ok=True)
        for network in engine.networks.list(filters={"label": mine}):
            engine.networks.remove(network.id, missing_ok=True)
        for volume in engine.volumes.list(filters={"label": mine}):
            engine.volumes.remove(volume.name, force=True, missing_ok=True)
    except EngineUnavailable:
        pass


@pytest.fixture(scope="session")
def ip(root_engine):
    """IPython's shared test shell with the extension loaded; it labels what it creates
    with this run's label and shows progress as text."""
    from IPython.testing import globalipapp

    shell = globalipapp.start_ipython() or globalipapp.get_ipython()  # one shell per process
    shell.run_line_magic("load_ext", "jupyter_containers")
    shell.run_line_magic("config", f"ContainerMagics.labels = {{'{TEST_LABEL}': '{RUN_ID}'}}")
    shell.run_line_magic("config", "ContainerMagics.progress = 'text'")
    return shell


def usage_error(ip, code: str) -> str:
    """Run ``code`` as a cell; the one-line UsageError it must end with, no traceback."""
    from IPython.core.error import UsageError

    result = ip.run_cell(code)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    message = str(result.error_in_exec)
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def name():
    """A container/volume/network name unique to this test."""
    return f"jc-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """A real registry (Debian's docker-registry) on 127.0.0.1; its host:port."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed; `make test` installs it")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n")
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    import requests

    def answers():
        assert process.poll() is None, (root / "registry.log").read_text()
        try:
            return requests.get(f"http://{address}/v2/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=20, message="the registry to answer")
    yield address
    process.terminate()
    process.wait(timeout=10)
    log.close()


def short_tmp() -> Path:
    """A short directory (unix socket paths are limited to 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="jc-", dir="/tmp"))


@pytest.fixture
def short_dir():
    path = short_tmp()
    yield path
    shutil.rmtree(path, ignore_errors=True)


class IsolatedEngine(PrivateEngine):
    """A private dockerd in a network namespace of its own.

    ``--bridge none`` makes dockerd delete the host's ``docker0`` (moby's
    removeDefaultBridgeInterface), which would break the default bridge of the
    engine every other test uses; in its own namespace it deletes nothing of the host's.
    """

    def command(self) -> list[str]:
        return ["unshare", "--net", *super().command()]


@pytest.fixture
def second_engine():
    """A second, private dockerd of our own that a test may stop or kill."""
    state = short_tmp()
    private = IsolatedEngine(state, extra_args=["--bridge", "none", "--iptables=false"])
    private.start()
    engine = Engine.connect(private.url).with_labels({TEST_LABEL: RUN_ID})
    yield private, engine
    engine.close()
    private.stop()
    shutil.rmtree(state, ignore_errors=True)
