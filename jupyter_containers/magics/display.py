"""What the magics return and show: text, collapsible JSON, live progress."""

from __future__ import annotations

import sys
import time
from html import escape
from typing import Callable

from ..engine import BuildLine, PullProgress


class Text(str):
    """A string that a notebook shows as plain text (not as a quoted repr)."""

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self).rstrip("\n"))


class JSONView(dict):
    """A dict that JupyterLab shows as a collapsible JSON tree."""

    def __init__(self, data: dict, root: str = "root"):
        super().__init__(data)
        self._root = root

    def _repr_json_(self):
        return dict(self), {"expanded": False, "root": self._root}


class EngineSummary:
    """``%container engine``: the engine's address, how discovery found it, its version and counts.

    Connected to a replay (Binder), it says so first: what the notebook shows was recorded earlier.
    """

    def __init__(self, url: str, source: str, version: dict, info: dict, replay: str | None = None):
        server = version.get("Platform", {}).get("Name") or "Docker Engine"
        self.rows = {
            "engine": url,
            "found by": source,
            "server": f"{server} {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}), "
                      f"{version.get('Os', '?')}/{version.get('Arch', '?')}",
            "containers": f"{info.get('ContainersRunning', 0)} running of {info.get('Containers', 0)}",
            "images": str(info.get("Images", 0)),
        }
        self.recorded = info.get("Name", "") if replay == "replay" else ""
        if self.recorded:
            self.rows = {"recorded session": self.recorded, **self.rows}

    def __repr__(self) -> str:
        return "\n".join(f"{key}: {value}" for key, value in self.rows.items())

    def _repr_html_(self) -> str:
        badge = ('<div class="jp-containers-replay-badge" style="display:inline-block;padding:1px 6px;'
                 'border-radius:3px;background:var(--jp-warn-color2,#ffe0a0);color:var(--jp-ui-font-color0);">'
                 f'recorded session: {escape(self.recorded)}</div>' if self.recorded else "")
        rows = "".join(f"<tr><th style='text-align:left'>{escape(key)}</th><td style='text-align:left'>"
                       f"{escape(value)}</td></tr>" for key, value in self.rows.items() if key != "recorded session")
        return f"{badge}<table>{rows}</table>"


def in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class StatusLine:
    """One line of progress rewritten in place: text on a terminal (``style`` "text"), a label in
    a notebook ("widgets"), nothing ("none"); "auto" picks by where it runs."""

    def __init__(self, style: str = "auto"):
        self.style = ("widgets" if in_kernel() else "text") if style == "auto" else style
        self.shown = False
        self._label = None

    def show(self, text: str) -> None:
        self.shown = True
        if self.style == "text":
            sys.stdout.write("\r" + text[:120].ljust(60))
            sys.stdout.flush()
        elif self.style == "widgets":
            if self._label is None:
                import ipywidgets as w
                from IPython.display import display

                self._label = w.Label()
                display(self._label)
            self._label.value = text

    def finish(self, message: str) -> None:
        """The last word: in place of the line (or printed, when nothing was shown)."""
        if self._label is not None:
            self._label.value = message
        elif self.style == "text" and self.shown:
            sys.stdout.write("\r" + message.ljust(60) + "\n")
            sys.stdout.flush()
        else:
            print(message)

    def fail(self) -> None:
        """An error follows: end the line so that it starts on its own."""
        if self.style == "text" and self.shown:
            sys.stdout.write("\n")
            sys.stdout.flush()


class LayerProgress:
    """Per-layer progress for pull and push, plus a total.

    ``widgets`` draws one ipywidgets bar per layer and one for the total;
    ``text`` rewrites one line on stdout; ``none`` shows nothing. Updates to
    the display are throttled, the state itself never is.
    """

    def __init__(self, title: str, style: str = "auto", interval: float = 0.1):
        if style == "auto":
            style = "widgets" if in_kernel() else "text"
        self.title, self.style, self.interval = title, style, interval
        self.layers: dict[str, list] = {}  # id -> [status, current, total]
        self._shown = 0.0
        self._widgets = None  # drawn at the first layer event: a run that pulls nothing shows nothing

    def _draw(self) -> None:
        import ipywidgets as w
        from IPython.display import display

        self._total = w.FloatProgress(min=0, max=1, bar_style="info", layout=w.Layout(width="40%"))
        self._total_label = w.Label(self.title)
        self._rows = w.VBox()
        self._widgets = w.VBox([w.HBox([self._name("total"), self._total, self._total_label]), self._rows])
        self._bars: dict[str, tuple] = {}
        display(self._widgets)

    @staticmethod
    def _name(text: str):
        import ipywidgets as w

        return w.Label(text, layout=w.Layout(width="9em"))

    def __call__(self, event: PullProgress) -> None:
        if not event.id or event.status.startswith(("Pulling from", "Digest:", "Status:")):
            return  # lines about the whole image, not a layer
        layer = self.layers.setdefault(event.id, [event.status, 0, 0])
        layer[0] = event.status
        if event.total:
            layer[1], layer[2] = event.current or 0, event.total
        elif event.status in ("Pull complete", "Already exists", "Pushed", "Layer already exists",
                              "Download complete", "Mounted from"):
            layer[1] = layer[2] = layer[2] or 1
        now = time.monotonic()
        if now - self._shown >= self.interval:
            self._shown = now
            self.show()

    def totals(self) -> tuple[int, int, int, int]:
        done = sum(1 for s, c, t in self.layers.values() if t and c >= t)
        return done, len(self.layers), sum(c for _, c, _ in self.layers.values()), \
            sum(t for _, _, t in self.layers.values())

    def show(self) -> None:
        done, count, current, total = self.totals()
        summary = f"{self.title}: {done}/{count} layers, {_mb(current)} of {_mb(total)}"
        if self.style == "text":
            sys.stdout.write("\r" + summary.ljust(70))
            sys.stdout.flush()
        elif self.style == "widgets":
            import ipywidgets as w

            if self._widgets is None:
                self._draw()
            for layer_id, (status, cur, tot) in self.layers.items():
                if layer_id not in self._bars:
                    bar = w.FloatProgress(min=0, max=1, layout=w.Layout(width="40%"))
                    label = w.Label()
                    self._bars[layer_id] = (bar, label)
                    self._rows.children = (*self._rows.children,
                                           w.HBox([self._name(layer_id[:12]), bar, label]))
                bar, label = self._bars[layer_id]
                bar.value = cur / tot if tot else 0
                bar.bar_style = "success" if tot and cur >= tot else ""
                label.value = f"{status} {_mb(cur)}/{_mb(tot)}" if tot > 1 else status
            self._total.value = current / total if total else 0
            self._total_label.value = summary

    def finish(self, message: str) -> None:
        """The operation succeeded: every layer and the total end at 100 %, whatever the engine last said
        of each (a layer that already existed, or whose last line was a checksum, sends no byte counts)."""
        if not self.layers:
            print(message)
            return
        for layer in self.layers.values():
            layer[1] = layer[2] = layer[2] or 1
        self.show()
        if self.style == "text":
            sys.stdout.write("\r" + message.ljust(70) + "\n")
        elif self.style == "widgets":
            self._total.value, self._total.bar_style = 1, "success"
            self._total_label.value = message

    def fail(self) -> None:
        if self.style == "widgets" and self._widgets is not None:
            self._total.bar_style = "danger"
        elif self.style == "text":
            sys.stdout.write("\n")


def build_log(style: str = "auto") -> Callable[[BuildLine], None]:
    """Print build log lines as they come (shown in the cell's output)."""
    def show(line: BuildLine) -> None:
        if style != "none":
            print(line.text, flush=True)
    return show
