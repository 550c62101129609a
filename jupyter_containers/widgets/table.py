"""A paged, filterable, sortable table with row selection, for any number of rows.

Only the visible page exists as widgets: row slots (a checkbox and one HTML
line each) are made as a page first needs them, at most ``page_size``, and are
refilled as the page, the filter or the sort changes, so 500 rows cost no more
widgets than 25. Setting a slot's
HTML to the text it already shows sends nothing to the browser.
"""

from __future__ import annotations

import html
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable

import ipywidgets as w

CSS = """
<style>
.jcd { color: var(--jp-ui-font-color1); font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1); }
.jcd-grid { display: grid; column-gap: 10px; align-items: center; min-height: 26px; }
.jcd-grid > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.jcd-head { font-weight: 600; color: var(--jp-ui-font-color2); border-bottom: 2px solid var(--jp-border-color2);
            text-transform: uppercase; font-size: var(--jp-ui-font-size0); letter-spacing: .04em; }
.jcd-rowbox { border-bottom: 1px solid var(--jp-border-color3); align-items: center; }
.jcd-rowbox:hover { background: var(--jp-layout-color2); }
.jcd-rowbox.jcd-selected { background: color-mix(in srgb, var(--jp-brand-color1) 16%, transparent); }
.jcd-rowbox .widget-checkbox { width: 28px; margin: 0 4px; }
.jcd-rowbox .widget-html, .jcd-rowbox .widget-html-content { width: 100%; margin: 0; }
.jcd-pill { display: inline-block; padding: 0 8px; border-radius: 9px; line-height: 18px;
            font-size: var(--jp-ui-font-size0); font-weight: 600; border: 1px solid currentColor; }
.jcd-tag { display: inline-block; padding: 0 6px; border-radius: 8px; line-height: 16px; font-size: var(--jp-ui-font-size0);
           font-weight: 600; color: var(--jp-brand-color1);
           background: color-mix(in srgb, var(--jp-brand-color1) 15%, transparent); }
.jcd-name { display: flex; align-items: baseline; gap: 5px; min-width: 0; }
.jcd-name > * { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.jcd-name > .jcd-tag { flex: none; }
.jcd-name > .jcd-dim { flex-shrink: 1000; }
.jcd-ok { color: var(--jp-success-color1); }
.jcd-bad { color: var(--jp-error-color1); }
.jcd-warn { color: var(--jp-warn-color1); }
.jcd-info { color: var(--jp-info-color1, var(--jp-brand-color1)); }
.jcd-dim { color: var(--jp-ui-font-color2); }
.jcd a { color: var(--jp-content-link-color, var(--jp-brand-color1)); text-decoration: none; }
.jcd a:hover { text-decoration: underline; }
.jcd code { font-family: var(--jp-code-font-family); font-size: var(--jp-code-font-size); color: var(--jp-ui-font-color2); }
.jcd-banner { padding: 6px 12px; border-left: 4px solid var(--jp-error-color1); font-weight: 600;
              background: var(--jp-layout-color2); color: var(--jp-error-color1); }
.jcd-status { min-height: 20px; }
.jcd-title { font-size: var(--jp-ui-font-size2); font-weight: 600; }
.jcd-kv { border-collapse: collapse; line-height: 1.5; }
.jcd-kv th { text-align: left; padding: 2px 16px 2px 0; color: var(--jp-ui-font-color2); font-weight: 500; }
.jcd-kv td { padding: 2px 16px 2px 0; }
.jcd-feed { line-height: 1.5; max-height: 260px; overflow-y: auto; font-family: var(--jp-code-font-family);
            font-size: var(--jp-code-font-size); border: 1px solid var(--jp-border-color2); padding: 4px 8px;
            background: var(--jp-layout-color1); }
.jcd.widget-vbox > .widget-tab > .lm-TabBar .lm-TabBar-tab { flex: 0 0 auto; min-width: 7em; padding: 0 14px; }
.jcd-header { display: flex; gap: 14px; align-items: baseline; flex-wrap: wrap; line-height: 1.6; padding: 2px 0 6px; }
.jcd-header .jcd-title { white-space: nowrap; }
.jcd-replay { padding: 0 6px; border-radius: 3px; background: var(--jp-warn-color2); color: var(--jp-ui-font-color0); }
.jcd-empty { padding: 12px; color: var(--jp-ui-font-color2); font-style: italic; }
</style>
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def human_bytes(n: float | None) -> str:
    if n is None or math.isnan(n):
        return ""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: str = "1fr"  # a CSS grid track
    cell: Callable[[dict], str] | None = None  # the cell's HTML; default: the escaped value
    sort: Callable[[dict], Any] | None = None  # sort key; default: the value
    sortable: bool = True

    def html(self, row: dict) -> str:
        return self.cell(row) if self.cell else esc(row.get(self.key))

    def sort_key(self, row: dict) -> Any:
        value = self.sort(row) if self.sort else row.get(self.key)
        return (value is None, value if value is not None else 0)


class Table:
    """Rows are dicts keyed by a string (an id); ``set_rows``/``update`` change them,
    ``render()`` redraws the visible page. ``selected`` is the set of selected keys."""

    def __init__(self, columns: list[Column], *, page_size: int = 25, search: Callable[[dict], str] | None = None,
                 empty: str = "nothing here", on_selection: Callable[[set[str]], None] | None = None):
        self.columns = columns
        self.page_size = page_size
        self.rows: dict[str, dict] = {}
        self.selected: set[str] = set()
        self.page = 0
        self.view: list[str] = []  # keys after filter and sort
        self._search = search or (lambda row: " ".join(str(row.get(c.key, "")) for c in columns))
        self._haystack: dict[str, str] = {}
        self._empty = empty
        self._on_selection = on_selection
        self._lock = threading.RLock()
        self._filling = False
        self._template = "grid-template-columns: " + " ".join(c.width for c in columns)

        self.filter = w.Text(placeholder="filter", continuous_update=True, layout=w.Layout(width="16em"))
        sortable = [(c.title, c.key) for c in columns if c.sortable]
        self.sort_by = w.Dropdown(options=sortable, value=sortable[0][1], description="sort",
                                  layout=w.Layout(width="13em"), style={"description_width": "3em"})
        self.descending = w.ToggleButton(False, icon="arrow-down", tooltip="descending",
                                         layout=w.Layout(width="36px", padding="0"))
        self.previous = w.Button(icon="chevron-left", tooltip="previous page", layout=w.Layout(width="34px"))
        self.next = w.Button(icon="chevron-right", tooltip="next page", layout=w.Layout(width="34px"))
        self.counter = w.HTML()
        self.select_page = w.Checkbox(False, indent=False, tooltip="select this page")
        self.header = w.HTML(self._line([c.title for c in columns], "jcd-head"))
        self.slots: list[tuple] = []  # made as pages need them, up to page_size
        self.keys: list[str | None] = []  # which row each slot shows
        self.body = w.VBox()
        self.empty_note = w.HTML(f'<div class="jcd jcd-empty">{esc(empty)}</div>')
        head = w.HBox([self.select_page, self.header], layout=w.Layout(align_items="center"))
        head.add_class("jcd-rowbox")
        self.toolbar = w.HBox([self.filter, self.sort_by, self.descending, self.previous, self.counter, self.next],
                              layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self.widget = w.VBox([self.toolbar, head, self.empty_note, self.body])

        self.filter.observe(lambda _: self._refilter(), "value")
        self.sort_by.observe(lambda _: self._refilter(), "value")
        self.descending.observe(self._flip, "value")
        self.previous.on_click(lambda _: self.go(self.page - 1))
        self.next.on_click(lambda _: self.go(self.page + 1))
        self.select_page.observe(self._select_page, "value")

    # -- drawing ---------------------------------------------------------------------------
    def _line(self, cells: list[str], cls: str, escape: bool = True) -> str:
        inner = "".join(f"<span>{esc(c) if escape else c}</span>" for c in cells)
        return f'<div class="jcd jcd-grid {cls}" style="{self._template}">{inner}</div>'

    def _slot(self, index: int):
        box_check = w.Checkbox(False, indent=False)
        line = w.HTML(layout=w.Layout(flex="1 1 auto"))
        box = w.HBox([box_check, line], layout=w.Layout(display="none", align_items="center"))
        box.add_class("jcd-rowbox")
        box_check.observe(lambda change, i=index: self._checked(i, change["new"]), "value")
        return box, box_check, line

    def row_html(self, row: dict) -> str:
        return self._line([c.html(row) for c in self.columns], "jcd-row", escape=False)

    def render(self) -> None:
        """Redraw the visible page (only the slots whose text changed are sent)."""
        with self._lock:
            pages = max(1, -(-len(self.view) // self.page_size))
            self.page = min(max(self.page, 0), pages - 1)
            start = self.page * self.page_size
            visible = self.view[start:start + self.page_size]
            if len(self.slots) < len(visible):
                self.slots += [self._slot(i) for i in range(len(self.slots), len(visible))]
                self.keys += [None] * (len(self.slots) - len(self.keys))
                self.body.children = [slot[0] for slot in self.slots]
            self._filling = True
            try:
                for i, (box, check, line) in enumerate(self.slots):
                    key = visible[i] if i < len(visible) else None
                    self.keys[i] = key
                    if key is None:
                        box.layout.display = "none"
                        continue
                    line.value = self.row_html(self.rows[key])
                    check.value = key in self.selected
                    if key in self.selected:
                        box.add_class("jcd-selected")
                    else:
                        box.remove_class("jcd-selected")
                    box.layout.display = "flex"
                self.select_page.value = bool(visible) and all(k in self.selected for k in visible)
            finally:
                self._filling = False
            total = len(self.rows)
            shown = f"{start + 1}-{start + len(visible)} of {len(self.view)}" if visible else f"0 of {len(self.view)}"
            extra = f" (filtered from {total})" if len(self.view) != total else ""
            chosen = f" · {len(self.selected)} selected" if self.selected else ""
            self.counter.value = f'<span class="jcd jcd-dim">&nbsp;{shown}{extra}{chosen}&nbsp;</span>'
            self.empty_note.layout.display = "none" if visible else "block"
            self.previous.disabled = self.page == 0
            self.next.disabled = self.page >= pages - 1

    # -- the rows ----------------------------------------------------------------------------
    def set_rows(self, rows: dict[str, dict]) -> None:
        with self._lock:
            self.rows = dict(rows)
            self._haystack = {k: self._search(r).lower() for k, r in self.rows.items()}
            self.selected &= set(self.rows)
            self._sort()

    def update(self, rows: dict[str, dict], removed: set[str] = frozenset()) -> bool:
        """Change or add some rows and drop others; True when the visible page may have changed."""
        with self._lock:
            for key in removed:
                self.rows.pop(key, None)
                self._haystack.pop(key, None)
                self.selected.discard(key)
            self.rows.update(rows)
            for key, row in rows.items():
                self._haystack[key] = self._search(row).lower()
            self._sort()
            return True

    def _sort(self) -> None:
        needle = self.filter.value.strip().lower()
        keys = [k for k, hay in self._haystack.items() if needle in hay] if needle else list(self.rows)
        column = next(c for c in self.columns if c.key == self.sort_by.value)
        keys.sort(key=lambda k: column.sort_key(self.rows[k]), reverse=self.descending.value)
        self.view = keys

    def _refilter(self) -> None:
        with self._lock:
            self.page = 0
            self._sort()
            self.render()

    def _flip(self, change) -> None:
        self.descending.icon = "arrow-up" if change["new"] else "arrow-down"
        self.descending.tooltip = "ascending" if change["new"] else "descending"
        self._refilter()

    def go(self, page: int) -> None:
        with self._lock:
            self.page = page
            self.render()

    # -- selection -------------------------------------------------------------------------------
    def slot_of(self, key: str):
        """The (box, checkbox, html) slot showing ``key``, or None when it is not on this page."""
        for i, shown in enumerate(self.keys):
            if shown == key:
                return self.slots[i]
        return None

    def _checked(self, index: int, value: bool) -> None:
        if self._filling:
            return
        key = self.keys[index]
        if key is None:
            return
        with self._lock:
            (self.selected.add if value else self.selected.discard)(key)
        self._selection_changed()

    def _select_page(self, change) -> None:
        if self._filling:
            return
        with self._lock:
            for key in filter(None, self.keys):
                (self.selected.add if change["new"] else self.selected.discard)(key)
        self._selection_changed()

    def select(self, keys, only: bool = True) -> None:
        with self._lock:
            if only:
                self.selected.clear()
            self.selected.update(k for k in keys if k in self.rows)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.render()
        if self._on_selection is not None:
            self._on_selection(set(self.selected))

    def selected_rows(self) -> list[dict]:
        with self._lock:
            return [self.rows[k] for k in self.view if k in self.selected] + \
                [self.rows[k] for k in self.selected if k in self.rows and k not in self.view]
