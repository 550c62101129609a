"""Compose's errors: a bad file (before anything is created) and a failed operation."""

from __future__ import annotations

from ..engine.errors import ContainersError, InvalidArgument


class ComposeFileError(InvalidArgument):
    """The compose file is wrong; the message names the file and the path in it."""

    kind = "compose-file"


class ComposeError(ContainersError):
    """An operation on a stack failed; ``started`` lists what did start."""

    kind = "compose"

    def __init__(self, message: str, *, started: list[str] | None = None, **fields):
        super().__init__(message, **fields)
        self.started = list(started or [])
