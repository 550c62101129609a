// The REST API of jupyter_containers.server, under {base_url}jupyter-containers/api/.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IPort {
  container_port: number | string;
  protocol: string;
  host_ip: string | null;
  host_port: number | string | null;
  url: string | null;
}

export interface IContainer {
  id: string;
  short_id: string;
  name: string;
  image: string;
  command: string;
  created: string;
  state: string;
  status: string;
  health: string | null;
  ports: IPort[];
  labels: { [key: string]: string };
  project: string | null;
  service: string | null;
  /** The kernelspec's name when the container runs a notebook's kernel (jupyter-containers provisioner). */
  kernel?: string | null;
}

export interface IImage {
  id: string;
  short_id: string;
  tags: string[];
  size: number;
  created: string;
}

export interface IStack {
  name: string;
  services: { name: string; containers: IContainer[] }[];
  running: number;
  total: number;
  working_dir: string;
  config_files: string[];
}

export interface IStats {
  id: string;
  name: string;
  cpu_percent: number;
  mem_usage: number;
  mem_limit: number;
  mem_percent: number;
  /** Where the figures were read: the kernel's cgroup files or the engine's stats API. */
  source?: 'cgroup' | 'api';
}

export interface IEngine {
  url: string;
  source: string;
  version: string;
  api_version: string;
  os: string;
  containers: { running: number; paused: number; stopped: number };
  images: number;
  /** 'replay' when the engine is a replay of a recorded session (Binder), 'recording' under the recorder. */
  replay: 'replay' | 'recording' | null;
  name: string;
  /** ContainersPolicy.allowed_actions: what this server lets the panel do. */
  allowed_actions: string[];
}

/** An answer other than 2xx: the server's {kind, message}. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string
  ) {
    super(message);
  }
}

const settings = ServerConnection.makeSettings();

export function apiUrl(path: string): string {
  return URLExt.join(settings.baseUrl, 'jupyter-containers', 'api', path);
}

/** The raw response of a request; throws APIError unless it is 2xx. */
export async function fetchAPI(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path), init, settings);
  } catch (error) {
    if ((error as Error).name === 'AbortError') {
      throw error;
    }
    throw new APIError(0, 'network', `the server does not answer: ${(error as Error).message}`);
  }
  if (!response.ok) {
    let kind = 'error';
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      kind = body.kind ?? kind;
      message = body.message ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new APIError(response.status, kind, message);
  }
  return response;
}

/** A JSON request: GET by default; `body` is sent as JSON. */
export async function requestAPI<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const response = await fetchAPI(path, init);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** Read a streamed text body, calling `onText` with each decoded chunk. */
export async function streamText(
  path: string,
  onText: (text: string) => void,
  signal: AbortSignal
): Promise<void> {
  const response = await fetchAPI(path, { signal });
  if (!response.body) {
    onText(await response.text());
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    onText(decoder.decode(value, { stream: true }));
  }
  const rest = decoder.decode();
  if (rest) {
    onText(rest);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
