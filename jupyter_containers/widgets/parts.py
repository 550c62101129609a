"""Small pieces the dashboard's tabs share: buttons, a confirmation bar, the tab base class."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import ipywidgets as w

from .table import esc

if TYPE_CHECKING:
    from .dashboard import Dashboard


def button(description: str, icon: str, on_click: Callable[[], None], *, style: str = "",
           tooltip: str | None = None, width: str = "auto") -> w.Button:
    b = w.Button(description=description, icon=icon, button_style=style, tooltip=tooltip or description,
                 layout=w.Layout(width=width, margin="2px 4px 2px 0"))
    b.on_click(lambda _: on_click())
    return b


class Confirm:
    """A bar that asks before a destructive action: ``ask(question, do)`` shows it;
    ``yes`` runs ``do``, ``no`` hides it."""

    def __init__(self, yes_label: str = "Remove"):
        self.question = w.HTML()
        self.yes = w.Button(description=yes_label, icon="trash", button_style="danger",
                            layout=w.Layout(width="auto"))
        self.no = w.Button(description="Cancel", layout=w.Layout(width="auto"))
        self.widget = w.HBox([self.question, self.yes, self.no],
                             layout=w.Layout(display="none", align_items="center", padding="4px 0"))
        self._action: Callable[[], None] | None = None
        self.yes.on_click(lambda _: self._answer(True))
        self.no.on_click(lambda _: self._answer(False))

    @property
    def shown(self) -> bool:
        return self.widget.layout.display != "none"

    def ask(self, question: str, action: Callable[[], None]) -> None:
        self._action = action
        self.question.value = f'<span class="jcd jcd-bad"><b>{esc(question)}</b>&nbsp;</span>'
        self.widget.layout.display = "flex"

    def _answer(self, yes: bool) -> None:
        action, self._action = self._action, None
        self.widget.layout.display = "none"
        if yes and action is not None:
            action()


def kv_table(pairs: list[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="jcd jcd-kv"><tbody>{rows}</tbody></table>'


def ago(seconds: float | None) -> str:
    """A short duration: 12 s, 5 min, 3 h 20 min, 2 d 4 h."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def since(timestamp: float | None) -> str:
    return ago(time.time() - timestamp) if timestamp else ""


class Tab:
    """One page of the dashboard. ``refresh()`` reloads it from the engine (in the worker
    thread, only while it is the visible tab); ``on_event`` sees every engine event
    (in the listener thread; cheap: it only notes what changed)."""

    title = ""

    def __init__(self, dashboard: "Dashboard"):
        self.dashboard = dashboard
        self.engine = dashboard.engine
        self.dirty = True

    @property
    def visible(self) -> bool:
        return self.dashboard.visible_tab() is self

    def on_event(self, event) -> None:
        pass

    def apply(self) -> None:
        """Bring the tab up to date if something changed (worker thread, visible tab only)."""
        if self.dirty:
            self.dirty = False
            try:
                self.refresh()
            except BaseException:
                self.dirty = True
                raise

    def refresh(self) -> None:
        pass

    def tick(self) -> None:
        """Once a second, in the worker thread, while visible."""

    def close(self) -> None:
        pass

    def run(self, what: str, fn: Callable[[], object], done: str | None = None, action: str = "list") -> None:
        self.dashboard.run(what, fn, done, action)
