"""Compose stacks on the engine layer: load -> interpolate -> validate -> graph -> plan -> execute.

Every stage but the last is pure and testable alone; ``Stack`` is the one
executor, talking to the engine through ``jupyter_containers.engine``.
"""

from .errors import ComposeError, ComposeFileError
from .project import Project, load_project
from .execute import Stack, list_stacks

__all__ = ["Project", "load_project", "Stack", "list_stacks", "ComposeError", "ComposeFileError"]
