"""The private engine: a dockerd of our own, for machines where none answers.

Everything it owns lives under one state directory (socket, data-root,
exec-root, pidfile, log), it binds published ports to 127.0.0.1 by default,
and ``down()`` stops only a daemon whose pidfile is ours.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .errors import EngineUnavailable

STATE_ENV = "JUPYTER_CONTAINERS_STATE_DIR"


def default_state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "jupyter-containers"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); it is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


class PrivateEngine:
    """A ``dockerd`` with its own socket and directories under ``state_dir``."""

    def __init__(self, state_dir: str | os.PathLike | None = None,
                 extra_args: list[str] | None = None):
        self.state_dir = Path(state_dir).expanduser() if state_dir else default_state_dir()
        self.extra_args = list(extra_args or [])

    socket = property(lambda self: self.state_dir / "docker.sock")
    pidfile = property(lambda self: self.state_dir / "dockerd.pid")
    logfile = property(lambda self: self.state_dir / "dockerd.log")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int | None:
        """The pid of our running daemon, or None."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def command(self) -> list[str]:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        return [dockerd, "--host", self.url,
                "--data-root", str(self.state_dir / "data"),
                "--exec-root", str(self.state_dir / "exec"),
                "--pidfile", str(self.pidfile),
                "--ip", "127.0.0.1", *self.extra_args]

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"

    def answers(self, timeout: float = 1.0) -> bool:
        from .connect import ping_url

        return self.socket.exists() and ping_url(self.url, timeout) is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the daemon and wait for ``/_ping``; idempotent."""
        if self.pid and self.answers():
            return
        if not (shutil.which("dockerd") or Path("/usr/sbin/dockerd").exists()):
            raise EngineUnavailable(
                "dockerd is not installed; install Debian's docker.io package "
                "(apt-get install docker.io) or point DOCKER_HOST at an engine",
                operation="engine up")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        with open(self.logfile, "ab") as log:
            process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EngineUnavailable(
                    f"dockerd exited with code {process.returncode} while starting; "
                    f"last lines of {self.logfile}:\n{self.log_tail()}", operation="engine up")
            if self.answers(timeout=0.5):
                return
            time.sleep(0.1)
        process.terminate()
        raise EngineUnavailable(
            f"dockerd did not answer on {self.socket} within {timeout:.0f} s; "
            f"last lines of {self.logfile}:\n{self.log_tail()}", operation="engine up")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our daemon (SIGTERM, then SIGKILL); False if none was running.

        What a crashed daemon left behind (its containerd and shims, the
        mounts under our data-root) is cleaned up too: all of it names our
        state directory, so nothing else is touched.
        """
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 5
                time.sleep(0.1)
        leftovers = self._leftovers()
        for other in leftovers:
            try:
                os.kill(other, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for mount in self._mounts():
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        self.socket.unlink(missing_ok=True)
        return pid is not None or bool(leftovers)

    def _leftovers(self) -> list[int]:
        """Processes whose command line names our state directory (containerd, shims)."""
        marker = str(self.state_dir).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def _mounts(self) -> list[str]:
        try:
            lines = Path("/proc/mounts").read_text().splitlines()
        except OSError:
            return []
        prefix = str(self.state_dir) + "/"
        return sorted((line.split()[1] for line in lines if line.split()[1].startswith(prefix)), reverse=True)
