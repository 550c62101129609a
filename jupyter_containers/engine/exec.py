"""Exec in a running container: run a command, its output and exit code, or a stream of its lines."""

from __future__ import annotations

from typing import Sequence

from . import specs
from .records import ExecResult
from .streams import LogLine, Stream, multiplexed_lines


def _command(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None or isinstance(value, (list, tuple)):
        return list(value) if value is not None else None
    import shlex

    return shlex.split(value)


class ContainerExec:
    """The exec part of ``Containers`` (a mixin: ``self._engine`` and ``self._api`` come from it)."""

    def _exec_create(self, ref, cmd, env, workdir, user, tty) -> str:
        with self._engine.translated("exec", "container", ref):
            return self._api.exec_create(ref, _command(cmd), environment=specs.parse_env(env) or None,
                                         workdir=workdir, user=user or "", tty=tty)["Id"]

    def exec(self, ref: str, cmd: str | Sequence[str], *, env=None, workdir: str | None = None,
             user: str | None = None, tty: bool = False) -> ExecResult:
        """Run ``cmd`` in a running container; its exit code and output."""
        exec_id = self._exec_create(ref, cmd, env, workdir, user, tty)
        with self._engine.translated("exec", "container", ref):
            out, err = self._api.exec_start(exec_id, tty=tty, demux=True)
            code = self._api.exec_inspect(exec_id)["ExitCode"]
        decode = lambda b: (b or b"").decode("utf-8", "replace")  # noqa: E731
        return ExecResult(exit_code=code, output=decode(out), stderr=decode(err))

    def exec_stream(self, ref: str, cmd: str | Sequence[str], *, env=None, workdir: str | None = None,
                    user: str | None = None, tty: bool = False) -> "ExecStream":
        """Run ``cmd`` and stream its output lines; ``.exit_code`` once it ends."""
        exec_id = self._exec_create(ref, cmd, env, workdir, user, tty)
        with self._engine.translated("exec", "container", ref):
            response = self._api.post(self._api._url("/exec/{0}/start", exec_id),
                                      json={"Tty": tty, "Detach": False}, stream=True, timeout=None)
            self._api._raise_for_status(response)
        return ExecStream(self, exec_id, multiplexed_lines(response.raw, tty), response,
                          on_end=self._engine.ensure_alive, operation=f"exec {ref}", url=self._engine.url)

    def exec_exit_code(self, exec_id: str) -> int | None:
        with self._engine.translated("exec"):
            return self._api.exec_inspect(exec_id)["ExitCode"]


class ExecStream(Stream[LogLine]):
    def __init__(self, containers: ContainerExec, exec_id: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._containers, self.exec_id = containers, exec_id

    @property
    def exit_code(self) -> int | None:
        return self._containers.exec_exit_code(self.exec_id)
