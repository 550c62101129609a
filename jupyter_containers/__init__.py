"""jupyter-containers: Docker from inside a notebook."""

from .engine import ContainersError, Engine, EngineUnavailable

__version__ = "0.1.0"
__all__ = ["Engine", "ContainersError", "EngineUnavailable", "__version__"]


def load_ipython_extension(shell) -> None:
    """``%load_ext jupyter_containers``: registers ``%container`` and ``%%container``."""
    from .magics import load_ipython_extension as load

    load(shell)
