"""ipywidgets front ends over the engine layer: the dashboard (``Dashboard(engine)``)."""

from .dashboard import BANNER, Dashboard

__all__ = ["Dashboard", "BANNER"]
