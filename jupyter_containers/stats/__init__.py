"""Resource usage: a sampler over the engine's stats streams, the docker CLI's
formulas, a bounded history as a tidy DataFrame, and live plotly charts.

``charts`` (plotly, ipywidgets) is imported only when a chart is asked for.
"""

from .frames import FRAME_COLUMNS, SNAPSHOT_COLUMNS, History, export
from .sampler import Sampler, snapshot

__all__ = ["Sampler", "snapshot", "History", "export", "FRAME_COLUMNS", "SNAPSHOT_COLUMNS"]
