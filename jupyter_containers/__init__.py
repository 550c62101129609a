"""jupyter-containers: Docker from inside a notebook."""

from .engine import ContainersError, Engine, EngineUnavailable

__version__ = "0.1.0"
__all__ = ["Engine", "ContainersError", "EngineUnavailable", "__version__"]
