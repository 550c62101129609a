"""``Dashboard(engine)``: the engine at a glance, live, inside a notebook.

Two background threads keep it current without polling the engine:

* the listener follows the engine's event stream and notes which rows each event
  touches; when the stream breaks (the daemon stopped) it shows the banner
  "engine unreachable, retrying", pings the engine every ``retry`` seconds, and
  reloads everything once it answers again;
* the worker re-reads the touched rows (one engine call for all of them) as soon
  as events arrive, and once a second refreshes uptimes and stats. Tabs that are
  not shown are only marked stale and reload when they are selected.

Actions (start, stop, pull, ...) run on a small thread pool so the kernel stays
free; their outcome is one line under the tabs, never a traceback.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import ipywidgets as w

from ..engine.errors import ContainersError
from .containers_tab import ContainersTab
from .engine_tab import EngineTab
from .resources_tab import ImagesTab, StacksTab, StorageTab
from .services_tab import ServicesTab
from .table import CSS, esc

BANNER = "engine unreachable, retrying"


class Dashboard(w.VBox):
    """The dashboard widget. ``filters`` narrows the Containers tab (``{"label": [...]}``);
    ``stats=False`` leaves out the CPU/memory columns and the stats chart;
    ``start=False`` builds it without the background threads (call ``.start()``)."""

    def __init__(self, engine, *, filters: dict | None = None, page_size: int = 25, stats: bool = True,
                 retry: float = 1.0, start: bool = True, policy=None):
        self.engine = engine
        self.policy = policy  # a ContainersPolicy: its allowed_actions apply to the buttons too
        self.retry = retry
        self.stats_enabled = stats and importlib.util.find_spec("jupyter_containers.stats.sampler") is not None
        self.reachable = True
        self.errors = 0  # failures the threads caught (shown in the status line, never raised)
        self.closed = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._stream = None
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dashboard-action")
        self._last_tick = 0.0
        self.updated = threading.Condition()  # notified after each worker pass (tests and benchmarks wait on it)
        self.passes = 0

        self.header = w.HTML(layout=w.Layout(width="100%"))
        self.banner = w.HTML(f'<div class="jcd jcd-banner">&#9888; {BANNER}</div>',
                             layout=w.Layout(display="none"))
        self.status = w.HTML('<div class="jcd jcd-status"></div>', layout=w.Layout(width="100%"))
        self.containers = ContainersTab(self, filters=filters, page_size=page_size)
        self.images = ImagesTab(self)
        self.stacks = StacksTab(self)
        self.services = ServicesTab(self)
        self.storage = StorageTab(self)
        self.engine_tab = EngineTab(self)
        self.tabs_list = [self.containers, self.images, self.stacks, self.services, self.storage, self.engine_tab]
        self.tabs = w.Tab(children=[t.widget for t in self.tabs_list], titles=[t.title for t in self.tabs_list])
        self.tabs.observe(self._tab_changed, "selected_index")
        super().__init__([w.HTML(CSS), self.header, self.banner, self.tabs, self.status],
                         layout=w.Layout(width="100%"))
        self.add_class("jcd")
        self._header()
        self._connect(first=True)
        if start:
            self.start()

    # -- life ----------------------------------------------------------------------------------
    def start(self) -> "Dashboard":
        if not self._threads:
            for target, name in ((self._listen, "dashboard-events"), (self._work, "dashboard-worker")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the threads, the event stream, followed logs and stats; safe more than once."""
        self._stop.set()
        self._wake.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        for tab in self.tabs_list:
            try:
                tab.close()
            except Exception:  # noqa: BLE001 - closing goes on
                pass
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop everything and close the widget."""
        if not self.closed:
            self.closed = True
            self.stop()
        super().close()

    @property
    def threads_alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    # -- what is shown -------------------------------------------------------------------------------
    def visible_tab(self):
        index = self.tabs.selected_index
        return self.tabs_list[index] if index is not None else None

    def select(self, tab) -> None:
        self.tabs.selected_index = self.tabs_list.index(tab)

    def _tab_changed(self, change) -> None:
        self._wake.set()  # the worker brings the newly shown tab up to date

    def count_changed(self, tab, count: int) -> None:
        index = self.tabs_list.index(tab)
        title = f"{tab.title} ({count})"
        if self.tabs.get_title(index) != title:
            self.tabs.set_title(index, title)

    def _header(self) -> None:
        replay = ('<span class="jcd-replay" title="this engine is a replay of a session recorded on a real one">'
                  'recorded session</span>' if getattr(self.engine, "replay", None) == "replay" else "")
        self.header.value = (f'<div class="jcd jcd-header"><span class="jcd-title">Containers dashboard</span>{replay}'
                             f'<code title="found by: {esc(self.engine.source)}">{esc(self.engine.url)}</code></div>')

    def say(self, text: str, error: bool = False) -> None:
        cls = "jcd-bad" if error else "jcd-dim"
        stamp = time.strftime("%H:%M:%S")
        self.status.value = (f'<div class="jcd jcd-status"><span class="jcd-dim">{stamp}</span> '
                             f'<span class="{cls}">{esc(text)}</span></div>') if text else \
            '<div class="jcd jcd-status"></div>'

    def set_reachable(self, reachable: bool) -> None:
        if reachable != self.reachable:
            self.reachable = reachable
            self.banner.layout.display = "none" if reachable else "block"
            if not reachable and self._stream is not None:
                self._stream.close()  # the listener notices and starts retrying

    # -- actions ---------------------------------------------------------------------------------------
    def allowed(self, action: str, what: str) -> bool:
        """Does the policy allow ``action``? If not, the status line says so."""
        if self.policy is None:
            return True
        try:
            self.policy.check_action(action)
        except ContainersError as exc:
            self.say(f"{what}: {exc}", error=True)
            return False
        return True

    def run(self, what: str, fn: Callable[[], object], done: str | None = None, action: str = "list"):
        """Run ``fn`` on the action pool if the policy allows ``action``; its outcome becomes the status line."""
        if not self.allowed(action, what):
            return None
        self.say(f"{what} ...")

        def job():
            try:
                fn()
            except ContainersError as exc:
                if exc.kind == "engine-unavailable":
                    self.set_reachable(False)
                self.say(f"{what}: {exc}", error=True)
                return False
            except Exception as exc:  # noqa: BLE001 - one line, never a traceback in the notebook
                self.errors += 1
                self.say(f"{what}: {type(exc).__name__}: {exc}", error=True)
                return False
            self.say(done if done is not None else f"{what}: done")
            return True

        if self._stop.is_set():
            return None
        return self._pool.submit(job)

    # -- the threads -----------------------------------------------------------------------------
    def _connect(self, first: bool = False) -> bool:
        """Subscribe to events, then (re)load the containers; False when the engine does not answer."""
        try:
            self._stream = self.engine.system.events()
            self.containers.load()
            for tab in self.tabs_list[1:]:
                tab.dirty = True
            visible = self.visible_tab()
            if visible is not None:
                visible.dirty = True
                if first and visible is self.containers:
                    self.containers.table.render()
                    visible.dirty = False
        except ContainersError as exc:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            self.set_reachable(False)
            if exc.kind != "engine-unavailable":
                self.say(str(exc), error=True)
            return False
        except Exception as exc:  # noqa: BLE001
            self.errors += 1
            self.set_reachable(False)
            self.say(f"{type(exc).__name__}: {exc}", error=True)
            return False
        self.set_reachable(True)
        self._wake.set()
        return True

    def _listen(self) -> None:
        while not self._stop.is_set():
            stream = self._stream
            if stream is None:
                if self._stop.wait(self.retry):
                    return
                if self.engine.ping(timeout=min(2.0, self.retry * 2)):
                    self._connect()
                continue
            try:
                for event in stream:
                    self._dispatch(event)
                    self._wake.set()
            except ContainersError:
                pass  # the engine went away: retry below
            except Exception as exc:  # noqa: BLE001 - a broken socket, a bad line: reconnect, and say so
                self.errors += 1
                self.say(f"events: {type(exc).__name__}: {exc}", error=True)
            if self._stop.is_set():
                return
            self._stream = None
            if not (self.engine.ping(timeout=1.0) and self._connect()):
                self.set_reachable(False)

    def _dispatch(self, event) -> None:
        for tab in self.tabs_list:
            try:
                tab.on_event(event)
            except Exception as exc:  # noqa: BLE001 - one tab's trouble does not stop the others
                self.errors += 1
                self.say(f"{tab.title}: {type(exc).__name__}: {exc}", error=True)

    def _work(self) -> None:
        while not self._stop.is_set():
            wait = max(0.05, 1.0 - (time.monotonic() - self._last_tick))
            self._wake.wait(min(wait, 0.1) if self.containers.rechecks else wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                visible = self.visible_tab()
                if self.reachable:
                    if visible is not self.containers:
                        self.containers.apply()  # rows stay current; drawn when shown
                        if self.containers.stats is not None:
                            self.containers.stats.close()  # no stats streams for a hidden table
                    if visible is not None:
                        visible.apply()
                        if time.monotonic() - self._last_tick >= 1.0:
                            self._last_tick = time.monotonic()
                            visible.tick()
            except ContainersError as exc:
                if exc.kind == "engine-unavailable":
                    self.set_reachable(False)
                else:
                    self.say(str(exc), error=True)
            except Exception as exc:  # noqa: BLE001
                self.errors += 1
                self.say(f"{type(exc).__name__}: {exc}", error=True)
            with self.updated:
                self.passes += 1
                self.updated.notify_all()
