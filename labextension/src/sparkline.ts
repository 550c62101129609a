// Small CPU and memory sparklines for a container row.
import { IStats } from './api';

const SAMPLES = 30;
const WIDTH = 36;
const HEIGHT = 14;
const SVG_NS = 'http://www.w3.org/2000/svg';

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

/** The last samples of one container. */
export class History {
  cpu: number[] = [];
  mem: number[] = [];
  last: IStats | undefined;

  add(sample: IStats): void {
    this.cpu.push(sample.cpu_percent ?? 0);
    this.mem.push(sample.mem_usage ?? 0);
    this.last = sample;
    if (this.cpu.length > SAMPLES) {
      this.cpu.shift();
      this.mem.shift();
    }
  }
}

/** Polyline points: CPU from 0 to at least `floor` %, memory over its own range. */
function points(values: number[], floor: number | null): string {
  const low = floor === null ? Math.min(...values) : 0;
  const high = Math.max(floor ?? 0, ...values);
  const span = high - low;
  const step = WIDTH / (SAMPLES - 1);
  const offset = WIDTH - step * (values.length - 1);
  return values
    .map((v, i) => {
      const y = span > 0 ? (v - low) / span : 0.5;
      return `${(offset + i * step).toFixed(1)},${(HEIGHT - 1 - y * (HEIGHT - 2)).toFixed(1)}`;
    })
    .join(' ');
}

function line(parent: HTMLElement, kind: string): SVGPolylineElement {
  let svg = parent.querySelector<SVGSVGElement>(`svg.jp-ContainersSidebar-${kind}`);
  if (!svg) {
    svg = document.createElementNS(SVG_NS, 'svg');
    svg.classList.add(`jp-ContainersSidebar-${kind}`);
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    svg.setAttribute('width', String(WIDTH));
    svg.setAttribute('height', String(HEIGHT));
    svg.append(document.createElementNS(SVG_NS, 'polyline'));
    parent.append(svg);
  }
  return svg.querySelector('polyline')!;
}

/** Draw (or redraw) the CPU and memory lines into `parent`. */
export function drawSparkline(parent: HTMLElement, history: History): void {
  line(parent, 'cpu').setAttribute('points', points(history.cpu, 5));
  line(parent, 'mem').setAttribute('points', points(history.mem, null));
  const last = history.last;
  if (last) {
    parent.title = `CPU ${last.cpu_percent.toFixed(1)}% · memory ${formatBytes(last.mem_usage)}` +
      (last.mem_limit ? ` of ${formatBytes(last.mem_limit)}` : '') +
      (last.source ? ` (from ${last.source === 'cgroup' ? 'cgroups' : 'the engine API'})` : '');
  }
}
