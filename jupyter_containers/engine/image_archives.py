"""Images as tar archives: save, load, import (a mixin of ``Images``)."""

from __future__ import annotations


class ImageArchives:
    """``self._engine`` and ``self._api`` come from ``Images``."""
