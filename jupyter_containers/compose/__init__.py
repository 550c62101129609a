"""Compose stacks on the engine layer: load -> interpolate -> validate -> graph -> plan -> execute.

Every stage but the last is pure and testable alone; ``Stack`` is the one
executor of containers, talking to the engine through ``jupyter_containers.engine``;
``SwarmStack`` deploys the same files as Swarm stacks (``docker stack deploy``).
"""

from .errors import ComposeError, ComposeFileError
from .project import Project, load_project
from .execute import Stack, list_stacks
from .swarm_stack import StackPlan, SwarmStack, deploy_stack, remove_stack, stack_plan

__all__ = ["Project", "load_project", "Stack", "list_stacks", "ComposeError", "ComposeFileError",
           "SwarmStack", "StackPlan", "deploy_stack", "remove_stack", "stack_plan"]
