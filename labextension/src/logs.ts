// A main-area panel that follows a container's logs (a streamed text body).
import { MainAreaWidget } from '@jupyterlab/apputils';
import { clearIcon, refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { errorMessage, streamText } from './api';
import { containersIcon } from './icons';

const MAX_CHARS = 2_000_000; // keep the panel light: drop the oldest text past this

export class LogsView extends Widget {
  constructor(
    readonly containerId: string,
    readonly containerName: string
  ) {
    super();
    this.addClass('jp-ContainersLogs');
    this._output = document.createElement('pre');
    this._output.className = 'jp-ContainersLogs-output';
    this._output.setAttribute('role', 'log');
    this.node.append(this._output);
    this.node.tabIndex = 0;
    this.status = new Widget();
    this.status.addClass('jp-ContainersLogs-status');
  }

  /** A toolbar item telling whether the stream is followed, ended or failed. */
  readonly status: Widget;

  /** (Re)start following: the last `tail` lines, then new ones as they come. */
  follow(tail = 500): void {
    this._abort?.abort();
    const abort = (this._abort = new AbortController());
    this.clear();
    this._setStatus('following', 'Following');
    const path = `containers/${encodeURIComponent(this.containerId)}/logs?tail=${tail}&follow=1&timestamps=0`;
    streamText(path, text => this._append(text), abort.signal).then(
      () => {
        if (!abort.signal.aborted) {
          this._flush();
          this._setStatus('ended', 'Stream ended (the container stopped)');
        }
      },
      error => {
        if (!abort.signal.aborted) {
          this._flush();
          this._setStatus('error', errorMessage(error));
        }
      }
    );
  }

  clear(): void {
    this._pending = '';
    this._chars = 0;
    this._output.replaceChildren();
  }

  get text(): string {
    return this._output.textContent ?? '';
  }

  dispose(): void {
    this._abort?.abort();
    if (this._timer) {
      clearTimeout(this._timer);
    }
    super.dispose();
  }

  private _append(text: string): void {
    this._pending += text;
    if (!this._timer) {
      this._timer = setTimeout(() => this._flush(), 50); // batch bursts into one DOM write
    }
  }

  private _flush(): void {
    if (this._timer) {
      clearTimeout(this._timer);
      this._timer = 0;
    }
    if (!this._pending) {
      return;
    }
    const node = this.node;
    const atBottom = node.scrollHeight - node.scrollTop - node.clientHeight < 24;
    this._output.append(document.createTextNode(this._pending));
    this._chars += this._pending.length;
    this._pending = '';
    while (this._chars > MAX_CHARS && this._output.firstChild) {
      this._chars -= this._output.firstChild.textContent?.length ?? 0;
      this._output.firstChild.remove();
    }
    if (atBottom) {
      node.scrollTop = node.scrollHeight;
    }
  }

  private _setStatus(state: string, text: string): void {
    this.status.node.textContent = text;
    this.status.node.dataset.state = state;
    this.node.dataset.state = state;
  }

  private _output: HTMLPreElement;
  private _abort: AbortController | undefined;
  private _pending = '';
  private _chars = 0;
  private _timer: ReturnType<typeof setTimeout> | 0 = 0;
}

/** A logs panel in a MainAreaWidget, with Follow again and Clear buttons. */
export function createLogsPanel(id: string, name: string): MainAreaWidget<LogsView> {
  const content = new LogsView(id, name);
  const panel = new MainAreaWidget({ content });
  panel.id = `jupyter-containers-logs-${id}`;
  panel.title.label = `Logs: ${name}`;
  panel.title.caption = `Logs of container ${name} (${id.slice(0, 12)})`;
  panel.title.icon = containersIcon;
  panel.title.closable = true;
  panel.addClass('jp-ContainersLogsPanel');
  panel.toolbar.addItem(
    'follow',
    new ToolbarButton({ icon: refreshIcon, tooltip: 'Follow again from the last 500 lines', onClick: () => content.follow() })
  );
  panel.toolbar.addItem('clear', new ToolbarButton({ icon: clearIcon, tooltip: 'Clear', onClick: () => content.clear() }));
  panel.toolbar.addItem('status', content.status);
  content.follow();
  return panel;
}
