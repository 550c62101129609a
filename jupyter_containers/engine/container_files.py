"""Containers' files and state: cp, diff, commit, export, update (a mixin of ``Containers``)."""

from __future__ import annotations


class ContainerFiles:
    """``self._engine`` and ``self._api`` come from ``Containers``."""
