"""Exec in a running container, and attach to one: output as streams of lines, stdin as bytes.

Both go over a hijacked connection: the request is sent with ``Upgrade: tcp``,
the engine answers 101, and the socket then carries the multiplexed output one
way and stdin the other. Stdin is written from a thread (a container that is
not started yet, or that writes before it reads, must not block the caller),
then the write side is half-closed (``shutdown(SHUT_WR)``) so the command sees
EOF while its output still comes back.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, Sequence

from . import specs
from .errors import InvalidArgument, one_line
from .records import ExecResult
from .streams import LogLine, Stream, multiplexed_frames, multiplexed_lines

UPGRADE = {"Connection": "Upgrade", "Upgrade": "tcp"}


def _command(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None or isinstance(value, (list, tuple)):
        return list(value) if value is not None else None
    import shlex

    return shlex.split(value)


def _write_side(response) -> tuple[Callable[[bytes], None], Callable[[], None]]:
    """``(send, half_close)`` for a hijacked connection: a Unix or TCP socket, or one of docker-py's
    ssh transports (paramiko's channel, or an ``ssh ... docker system dial-stdio`` process)."""
    reader = response.raw._fp.fp
    channel = getattr(reader, "channel", None)
    if channel is not None:
        if hasattr(channel, "shutdown_write"):
            return channel.sendall, channel.shutdown_write
        return channel.sendall, channel.proc.stdin.close
    sock = reader.raw._sock
    return sock.sendall, lambda: sock.shutdown(socket.SHUT_WR)


def _feed(response, data: bytes, half_close: bool) -> None:
    """Write ``data`` to a hijacked connection, then (``half_close``) end its write side."""
    try:
        send, shutdown_write = _write_side(response)
        if data:
            send(data)
        if half_close:
            shutdown_write()
    except (OSError, ValueError, AttributeError):
        pass  # the command ended (or the stream was closed) before it read everything, as a pipe would


class ContainerExec:
    """The exec and attach part of ``Containers`` (a mixin: ``self._engine`` and ``self._api`` come from it)."""

    # -- the hijacked connection -------------------------------------------------
    def _hijack(self, path: str, ref: str, *, operation: str, params: dict | None = None,
                body: dict | None = None, stdin: bytes | None = None, half_close: bool = True):
        """POST ``path`` with ``Upgrade: tcp``; the open response, whose socket now carries the
        output (read it from ``response.raw._fp.fp``), with ``stdin`` being written to it."""
        if stdin is not None and self._api.base_url.startswith("https://"):
            raise InvalidArgument("stdin cannot be sent to an engine reached over TLS "
                                  "(Python cannot half-close a TLS connection)", operation=operation, target=ref)
        with self._engine.translated(operation, "container", ref):
            response = self._api.post(self._api._url(path, ref), params=params, json=body, headers=UPGRADE,
                                      stream=True, timeout=None)
            self._api._raise_for_status(response)
        if stdin is not None:
            threading.Thread(target=_feed, args=(response, stdin, half_close), daemon=True,
                             name=f"stdin of {operation}").start()
        return response

    # -- exec --------------------------------------------------------------------
    def _exec_create(self, ref, cmd, env, workdir, user, tty, privileged=False, stdin=False) -> str:
        with self._engine.translated("exec", "container", ref):
            return self._api.exec_create(ref, _command(cmd), environment=specs.parse_env(env) or None,
                                         workdir=workdir, user=user or "", tty=tty, privileged=privileged,
                                         stdin=stdin)["Id"]

    def _exec_start(self, ref: str, cmd, env, workdir, user, tty, privileged, stdin):
        exec_id = self._exec_create(ref, cmd, env, workdir, user, tty, privileged, stdin is not None)
        response = self._hijack("/exec/{0}/start", exec_id, operation=f"exec {ref}",
                                body={"Tty": tty, "Detach": False}, stdin=stdin)
        return exec_id, response

    def exec(self, ref: str, cmd: str | Sequence[str], *, env=None, workdir: str | None = None,
             user: str | None = None, tty: bool = False, privileged: bool = False,
             stdin: bytes | None = None) -> ExecResult:
        """Run ``cmd`` in a running container; its exit code and output.

        ``stdin``: bytes the command reads, then EOF (``docker exec -i``)."""
        exec_id, response = self._exec_start(ref, cmd, env, workdir, user, tty, privileged, stdin)
        out = {"stdout": b"", "stderr": b""}
        try:
            with self._engine.translated("exec", "container", ref):
                for stream, data in multiplexed_frames(response.raw._fp.fp, tty):
                    out[stream] += data
        finally:
            response.close()
        output, stderr = (out[s].decode("utf-8", "replace") for s in ("stdout", "stderr"))
        self._check_started(exec_id, output + stderr)
        return ExecResult(exit_code=self.exec_exit_code(exec_id), output=output, stderr=stderr)

    def exec_stream(self, ref: str, cmd: str | Sequence[str], *, env=None, workdir: str | None = None,
                    user: str | None = None, tty: bool = False, privileged: bool = False,
                    stdin: bytes | None = None) -> "ExecStream":
        """Run ``cmd`` and stream its output lines as they come; ``.exit_code`` once it ends.

        ``stdin``: bytes the command reads, then EOF (``docker exec -i``)."""
        exec_id, response = self._exec_start(ref, cmd, env, workdir, user, tty, privileged, stdin)
        return ExecStream(self, exec_id, multiplexed_lines(response.raw._fp.fp, tty), response,
                          on_end=self._engine.ensure_alive, operation=f"exec {ref}", url=self._engine.url)

    def exec_detached(self, ref: str, cmd: str | Sequence[str], *, env=None, workdir: str | None = None,
                      user: str | None = None, tty: bool = False, privileged: bool = False) -> str:
        """Start ``cmd`` and return at once (``docker exec -d``); the exec's id."""
        exec_id = self._exec_create(ref, cmd, env, workdir, user, tty, privileged)
        with self._engine.translated("exec", "container", ref):
            self._api.exec_start(exec_id, detach=True, tty=tty)
        return exec_id

    def _check_started(self, exec_id: str, output: str) -> None:
        """Raise ``InvalidArgument`` with the engine's words if the command could not start (no such
        executable or user, ...): the engine then sends its reason as output, exit code 126 and no pid."""
        with self._engine.translated("exec"):
            answer = self._api.exec_inspect(exec_id)
        if not answer.get("Running") and not answer.get("Pid") and answer.get("ExitCode"):
            raise InvalidArgument(one_line(output) or f"the command could not start (exit code {answer['ExitCode']})",
                                  operation="exec", target=exec_id)

    def exec_exit_code(self, exec_id: str) -> int | None:
        """The exec's exit code; None while it runs."""
        with self._engine.translated("exec"):
            answer = self._api.exec_inspect(exec_id)
        return None if answer.get("Running") else answer["ExitCode"]

    # -- attach ------------------------------------------------------------------
    def attach_stream(self, ref: str, stdin: bytes | None = None, logs: bool = False, *,
                      half_close: bool = True) -> Stream[LogLine]:
        """Attach to a container (running, or created and not started yet): its output from now on
        (``logs``: from its start) as lines, until it exits or the stream is closed.

        ``stdin`` (the container needs ``OpenStdin``) is written to the container's stdin; then the
        write side is half-closed (``half_close``), as ``docker attach`` does at the end of its input:
        a container created with ``StdinOnce`` gets its stdin closed and goes on; for any other
        the engine ends the attach. ``docker run -i`` is: create (``stdin_open=True``), attach with
        stdin, start, read the stream."""
        with self._engine.translated("attach", "container", ref):
            tty = bool(self._api.inspect_container(ref)["Config"].get("Tty"))
        params = {"stream": 1, "stdout": 1, "stderr": 1, "stdin": int(stdin is not None), "logs": int(logs)}
        response = self._hijack("/containers/{0}/attach", ref, operation=f"attach {ref}", params=params,
                                stdin=stdin, half_close=half_close)
        return Stream(multiplexed_lines(response.raw._fp.fp, tty), response, on_end=self._engine.ensure_alive,
                      operation=f"attach {ref}", url=self._engine.url)


class ExecStream(Stream[LogLine]):
    """An exec's output lines; a command that could not start raises ``InvalidArgument`` instead."""

    def __init__(self, containers: ContainerExec, exec_id: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._containers, self.exec_id = containers, exec_id
        self._started = False

    def __next__(self) -> LogLine:
        line = super().__next__()
        if not self._started:  # the engine's reason for not starting is the only line such an exec has
            self._started = True
            try:
                self._containers._check_started(self.exec_id, line.text)
            except InvalidArgument:
                self.close()
                raise
        return line

    @property
    def exit_code(self) -> int | None:
        """The exit code once the command ended; None while it runs."""
        return self._containers.exec_exit_code(self.exec_id)
