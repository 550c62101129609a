// The Containers sidebar: containers, compose stacks and images of the engine.
import { refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { Message } from '@lumino/messaging';
import { AccordionPanel, Widget } from '@lumino/widgets';

import { APIError, errorMessage, IContainer, IEngine, IImage, IStats, requestAPI } from './api';
import { containersIcon } from './icons';
import { drawSparkline, formatBytes, History } from './sparkline';

export const ROW_CLASS = 'jp-ContainersSidebar-item';
export const CONTAINER_CLASS = 'jp-ContainersSidebar-container';
export const STACK_CLASS = 'jp-ContainersSidebar-stack';
export const IMAGE_CLASS = 'jp-ContainersSidebar-imageItem';

const STATE_ORDER: { [state: string]: number } = {
  running: 0,
  restarting: 1,
  paused: 2,
  created: 3,
  exited: 4,
  dead: 5
};
const IMAGES_EVERY_MS = 10_000;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * A list whose rows are keyed: a row's DOM is rebuilt only when its
 * signature changes, and rows are moved only when the order changes.
 */
abstract class KeyedList<T> extends Widget {
  constructor(label: string, emptyText: string) {
    super();
    this.title.label = label;
    this.addClass('jp-ContainersSidebar-section');
    this._list = el('ul', 'jp-ContainersSidebar-list');
    this._list.setAttribute('role', 'listbox');
    this._emptyText = emptyText;
    this._empty = el('div', 'jp-ContainersSidebar-empty', emptyText);
    this.node.append(this._list, this._empty);
    this._list.addEventListener('click', event => this._select(event));
    this._list.addEventListener('contextmenu', event => this._select(event));
  }

  /** The number of items shown last. */
  get count(): number {
    return this._rows.size;
  }

  /** The DOM node of an item, by key. */
  rowNode(key: string): HTMLElement | undefined {
    return this._rows.get(key)?.node;
  }

  /** The key of the selected row, if any. */
  get selectedKey(): string | undefined {
    return this._list.querySelector<HTMLElement>('.jp-mod-selected')?.dataset.key;
  }

  setItems(items: T[]): void {
    const seen = new Set<string>();
    const ordered: HTMLLIElement[] = [];
    for (const item of items) {
      const key = this.key(item);
      const sig = this.signature(item);
      seen.add(key);
      let row = this._rows.get(key);
      if (!row) {
        const node = el('li', ROW_CLASS);
        node.dataset.key = key;
        node.setAttribute('role', 'option');
        node.tabIndex = -1;
        row = { node, sig: '' };
        this._rows.set(key, row);
      }
      if (row.sig !== sig) {
        row.sig = sig;
        const selected = row.node.classList.contains('jp-mod-selected');
        row.node.replaceChildren();
        this.render(row.node, item);
        row.node.classList.toggle('jp-mod-selected', selected);
        this.applyFilter(row.node);
      }
      ordered.push(row.node);
    }
    for (const [key, row] of this._rows) {
      if (!seen.has(key)) {
        row.node.remove();
        this._rows.delete(key);
      }
    }
    let cursor = this._list.firstChild;
    for (const node of ordered) {
      if (node === cursor) {
        cursor = cursor.nextSibling;
      } else {
        this._list.insertBefore(node, cursor);
      }
    }
    this._updateEmpty();
  }

  /** Show only the rows whose text contains `filter` (case-insensitive). */
  set filter(filter: string) {
    this._filter = filter.trim().toLowerCase();
    for (const row of this._rows.values()) {
      this.applyFilter(row.node);
    }
    this._updateEmpty();
  }

  protected applyFilter(node: HTMLElement): void {
    node.hidden = !!this._filter && !(node.dataset.search ?? '').includes(this._filter);
  }

  protected abstract key(item: T): string;
  protected abstract signature(item: T): string;
  protected abstract render(node: HTMLLIElement, item: T): void;

  private _updateEmpty(): void {
    const shown = [...this._rows.values()].some(row => !row.node.hidden);
    this._empty.hidden = shown;
    this._empty.textContent = this._rows.size ? 'No match' : this._emptyText;
  }

  private _select(event: MouseEvent): void {
    const row = (event.target as HTMLElement).closest<HTMLElement>(`.${ROW_CLASS}`);
    if (!row || (event.target as HTMLElement).closest('a')) {
      return;
    }
    for (const other of this._list.querySelectorAll('.jp-mod-selected')) {
      other.classList.remove('jp-mod-selected');
      other.setAttribute('aria-selected', 'false');
    }
    row.classList.add('jp-mod-selected');
    row.setAttribute('aria-selected', 'true');
    row.focus();
  }

  private _rows = new Map<string, { node: HTMLLIElement; sig: string }>();
  private _list: HTMLUListElement;
  private _empty: HTMLElement;
  private _emptyText: string;
  private _filter = '';
}

function portLabel(port: IContainer['ports'][number]): string {
  return `${port.host_port}→${port.container_port}/${port.protocol}`;
}

class ContainerList extends KeyedList<IContainer> {
  constructor() {
    super('Containers', 'No containers');
    this.addClass('jp-ContainersSidebar-containers');
  }

  protected key(item: IContainer): string {
    return item.id;
  }

  protected signature(c: IContainer): string {
    return JSON.stringify([c.name, c.image, c.state, c.status, c.health, c.ports, c.kernel ?? null]);
  }

  protected render(node: HTMLLIElement, c: IContainer): void {
    node.classList.add(CONTAINER_CLASS);
    node.dataset.id = c.id;
    node.dataset.state = c.state;
    node.dataset.health = c.health ?? '';
    node.dataset.search = `${c.name} ${c.image} ${c.short_id} ${c.project ?? ''} ${c.kernel ?? ''}`.toLowerCase();
    node.title = `${c.name} (${c.short_id})\n${c.image}\n${c.command}\n${c.status}`;
    const dot = el('span', 'jp-ContainersSidebar-dot');
    dot.title = c.health ? `${c.state}, ${c.health}` : c.state;
    const body = el('div', 'jp-ContainersSidebar-body');
    const line = el('div', 'jp-ContainersSidebar-line');
    line.append(el('span', 'jp-ContainersSidebar-name', c.name));
    if (c.kernel) {
      const kernel = el('span', 'jp-ContainersSidebar-kernel', 'kernel');
      kernel.title = `notebook kernel: ${c.kernel}`;
      line.append(kernel);
    }
    const published = c.ports.filter(p => p.host_port);
    if (published.length) {
      const ports = el('span', 'jp-ContainersSidebar-ports');
      for (const port of published) {
        if (port.url) {
          const link = el('a', 'jp-ContainersSidebar-port', portLabel(port));
          link.href = port.url;
          link.target = '_blank';
          link.rel = 'noopener noreferrer';
          link.title = `Open ${port.url}`;
          ports.append(link);
        } else {
          ports.append(el('span', 'jp-ContainersSidebar-port', portLabel(port)));
        }
      }
      line.append(ports);
    }
    const detail = el('div', 'jp-ContainersSidebar-detail');
    detail.append(el('span', 'jp-ContainersSidebar-status', c.status), el('span', 'jp-ContainersSidebar-image', c.image));
    body.append(line, detail);
    const spark = el('div', 'jp-ContainersSidebar-spark');
    spark.hidden = true;
    node.append(dot, body, spark);
  }

  /** Draw the CPU and memory sparklines of the rows that have samples. */
  drawStats(history: Map<string, History>): void {
    for (const [id, samples] of history) {
      const spark = this.rowNode(id)?.querySelector<HTMLElement>('.jp-ContainersSidebar-spark');
      if (!spark) {
        continue;
      }
      spark.hidden = false;
      drawSparkline(spark, samples);
    }
  }
}

interface IStackRow {
  name: string;
  running: number;
  total: number;
  services: string[];
}

class StackList extends KeyedList<IStackRow> {
  constructor() {
    super('Stacks', 'No compose stacks');
  }

  protected key(item: IStackRow): string {
    return item.name;
  }

  protected signature(item: IStackRow): string {
    return JSON.stringify(item);
  }

  protected render(node: HTMLLIElement, s: IStackRow): void {
    node.classList.add(STACK_CLASS);
    node.dataset.project = s.name;
    node.dataset.state = s.running === 0 ? 'exited' : s.running < s.total ? 'partial' : 'running';
    node.dataset.search = `${s.name} ${s.services.join(' ')}`.toLowerCase();
    node.title = `${s.name}: ${s.running} of ${s.total} containers running`;
    const body = el('div', 'jp-ContainersSidebar-body');
    const line = el('div', 'jp-ContainersSidebar-line');
    line.append(el('span', 'jp-ContainersSidebar-name', s.name), el('span', 'jp-ContainersSidebar-count', `${s.running}/${s.total}`));
    body.append(line, el('div', 'jp-ContainersSidebar-detail', s.services.join(', ')));
    node.append(el('span', 'jp-ContainersSidebar-dot'), body);
  }
}

class ImageList extends KeyedList<IImage> {
  constructor() {
    super('Images', 'No images');
  }

  protected key(item: IImage): string {
    return item.id;
  }

  protected signature(item: IImage): string {
    return JSON.stringify([item.tags, item.size]);
  }

  protected render(node: HTMLLIElement, image: IImage): void {
    node.classList.add(IMAGE_CLASS);
    node.dataset.id = image.id;
    node.dataset.ref = image.tags[0] ?? image.id;
    node.dataset.search = `${image.tags.join(' ')} ${image.short_id}`.toLowerCase();
    node.title = `${image.tags.join('\n') || '<untagged>'}\n${image.id}\ncreated ${image.created}`;
    const body = el('div', 'jp-ContainersSidebar-body');
    const line = el('div', 'jp-ContainersSidebar-line');
    line.append(el('span', 'jp-ContainersSidebar-name', image.tags[0] ?? '<none>'), el('span', 'jp-ContainersSidebar-count', formatBytes(image.size)));
    const more = image.tags.length > 1 ? ` · +${image.tags.length - 1} tags` : '';
    body.append(line, el('div', 'jp-ContainersSidebar-detail', `${image.short_id}${more}`));
    node.append(containersIcon.element({ tag: 'span', className: 'jp-ContainersSidebar-icon' }), body);
  }
}

/** The left sidebar panel. Polls while it is shown, with backoff on errors. */
export class ContainersSidebar extends SidePanel {
  readonly containers = new ContainerList();
  readonly stacks = new StackList();
  readonly images = new ImageList();

  constructor() {
    super();
    this.id = 'jupyter-containers-sidebar';
    this.addClass('jp-ContainersSidebar');
    this.title.icon = containersIcon;
    this.title.caption = 'Containers';

    const heading = el('h2', '', 'Containers');
    this.header.addWidget(new Widget({ node: heading }));
    this._status = el('div', 'jp-ContainersSidebar-status-line');
    this.header.addWidget(new Widget({ node: this._status }));

    const filter = el('input', 'jp-ContainersSidebar-filter');
    filter.type = 'search';
    filter.placeholder = 'Filter by name or image';
    filter.setAttribute('aria-label', 'Filter containers, stacks and images');
    filter.addEventListener('input', () => {
      for (const list of [this.containers, this.stacks, this.images]) {
        list.filter = filter.value;
      }
    });
    const filterWidget = new Widget();
    filterWidget.addClass('jp-ContainersSidebar-filterItem');
    filterWidget.node.append(filter);
    this.toolbar.addItem('filter', filterWidget);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: 'Refresh containers', onClick: () => void this.refresh() })
    );

    this.addWidget(this.containers);
    this.addWidget(this.stacks);
    this.addWidget(this.images);
    (this.content as AccordionPanel).setRelativeSizes([5, 1.5, 3]);

    this._poll = new Poll({
      factory: () => this._tick(),
      frequency: { interval: 2000, backoff: 2, max: 30_000 },
      standby: () => !this.isVisible || 'when-hidden',
      name: 'jupyter-containers:sidebar'
    });
  }

  /** The last listing, by id. */
  container(id: string): IContainer | undefined {
    return this._byId.get(id);
  }

  get all(): IContainer[] {
    return [...this._byId.values()];
  }

  /** The engine's status (its url is what a terminal's DOCKER_HOST needs). */
  async engine(): Promise<IEngine> {
    if (!this._engine) {
      this._engine = await requestAPI<IEngine>('engine');
    }
    return this._engine;
  }

  /** Poll now (and images too), whatever the schedule. */
  async refresh(): Promise<void> {
    this._imagesAt = 0;
    await this._poll.refresh();
    await this._poll.tick;
  }

  /** Put one container's new state in place at once (after an action). */
  updateOne(container: IContainer): void {
    this._byId.set(container.id, container);
    this._show([...this._byId.values()]);
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._poll.refresh();
  }

  private async _tick(): Promise<void> {
    let containers: IContainer[];
    try {
      containers = await requestAPI<IContainer[]>('containers?all=1');
    } catch (error) {
      this._engine = undefined;
      this._setStatus(errorMessage(error), true);
      throw error; // the poll backs off
    }
    this._show(containers);
    void this._statusLine(containers);
    if (this._statsSupported && !this._statsBusy && containers.some(c => c.state === 'running')) {
      void this._stats();
    }
    if (this.images.isVisible && Date.now() - this._imagesAt > IMAGES_EVERY_MS) {
      this._imagesAt = Date.now();
      requestAPI<IImage[]>('images').then(
        images => {
          images.sort((a, b) => (a.tags[0] ?? '\uffff').localeCompare(b.tags[0] ?? '\uffff'));
          this.images.setItems(images);
          this.images.title.label = `Images (${images.length})`;
        },
        () => (this._imagesAt = 0)
      );
    }
  }

  private _show(containers: IContainer[]): void {
    containers.sort(
      (a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || a.name.localeCompare(b.name)
    );
    this._byId = new Map(containers.map(c => [c.id, c]));
    this.containers.setItems(containers);
    const running = containers.filter(c => c.state === 'running').length;
    this.containers.title.label = `Containers (${running}/${containers.length})`;

    const stacks = new Map<string, { name: string; running: number; total: number; services: Set<string> }>();
    for (const c of containers) {
      if (!c.project) {
        continue;
      }
      const stack = stacks.get(c.project) ?? { name: c.project, running: 0, total: 0, services: new Set() };
      stack.total += 1;
      stack.running += c.state === 'running' ? 1 : 0;
      if (c.service) {
        stack.services.add(c.service);
      }
      stacks.set(c.project, stack);
    }
    const rows = [...stacks.values()]
      .map(s => ({ ...s, services: [...s.services].sort() }))
      .sort((a, b) => a.name.localeCompare(b.name));
    this.stacks.setItems(rows);
    this.stacks.title.label = `Stacks (${rows.length})`;
    for (const id of this._history.keys()) {
      if (!this._byId.has(id)) {
        this._history.delete(id);
      }
    }
  }

  private async _statusLine(containers: IContainer[]): Promise<void> {
    try {
      const engine = await this.engine();
      const running = containers.filter(c => c.state === 'running').length;
      const replay = engine.replay === 'replay' ? `recorded session (${engine.name}) · ` : '';
      this._setStatus(`${replay}Docker ${engine.version} · ${running} running · ${engine.url}`, false);
    } catch (error) {
      this._setStatus(errorMessage(error), true);
    }
  }

  private _setStatus(text: string, isError: boolean): void {
    this._status.textContent = text;
    this._status.title = text;
    this._status.classList.toggle('jp-mod-error', isError);
  }

  private async _stats(): Promise<void> {
    this._statsBusy = true;
    try {
      const samples = await requestAPI<IStats[]>('stats');
      for (const sample of samples) {
        const id = this._byId.has(sample.id)
          ? sample.id
          : this.all.find(c => c.id.startsWith(sample.id) || c.name === sample.name)?.id;
        if (!id) {
          continue;
        }
        let history = this._history.get(id);
        if (!history) {
          history = new History();
          this._history.set(id, history);
        }
        history.add(sample);
      }
      this.containers.drawStats(this._history);
    } catch (error) {
      if (error instanceof APIError && (error.status === 501 || error.status === 404)) {
        this._statsSupported = false; // no stats on this server: skip quietly
      }
    } finally {
      this._statsBusy = false;
    }
  }

  private _poll: Poll;
  private _status: HTMLElement;
  private _byId = new Map<string, IContainer>();
  private _engine: IEngine | undefined;
  private _history = new Map<string, History>();
  private _statsSupported = true;
  private _statsBusy = false;
  private _imagesAt = 0;
}
