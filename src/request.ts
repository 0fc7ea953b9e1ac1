import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IDatalakeError } from './tokens';

/** The shim's URL namespace under the server's base URL. */
export const NAMESPACE = 'datalake';

/** Requests that take longer than this are abandoned (the shim has its own deadlines). */
export const DEFAULT_TIMEOUT_MS = 60_000;

export type QueryValue = string | number | boolean | null | undefined;

export interface IRequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  timeoutMs?: number;
}

/**
 * A failed shim request, carrying the shim's `{message, reason}` and the HTTP status.
 * `status` is 0 when the shim could not be reached.
 */
export class DatalakeRequestError extends Error implements IDatalakeError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string
  ) {
    super(message);
    this.name = 'DatalakeRequestError';
  }

  toJSON(): IDatalakeError {
    return { status: this.status, reason: this.reason, message: this.message };
  }
}

/**
 * Turn anything thrown by a request into the error shape the views show.
 */
export function toDatalakeError(error: unknown): IDatalakeError {
  if (error instanceof DatalakeRequestError) {
    return error.toJSON();
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 0, reason: 'CLIENT_ERROR', message };
}

function queryString(query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Call a shim route under `<base_url>datalake/` and return its JSON answer.
 *
 * @throws {DatalakeRequestError} with the shim's message and reason, or a network,
 * timeout or invalid-answer reason when the shim did not answer properly.
 */
export async function requestAPI<T>(
  endPoint: string,
  settings: ServerConnection.ISettings,
  options: IRequestOptions = {}
): Promise<T> {
  const url =
    URLExt.join(settings.baseUrl, NAMESPACE, endPoint) +
    queryString(options.query);
  const init: RequestInit = { method: options.method ?? 'GET' };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const controller =
    typeof AbortController === 'undefined' ? null : new AbortController();
  if (controller) {
    init.signal = controller.signal;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller?.abort();
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    if (timedOut) {
      throw new DatalakeRequestError(
        0,
        'TIMEOUT',
        'The data lake service did not answer in time. Try again; if it keeps happening, the Rucio server may be overloaded.'
      );
    }
    throw new DatalakeRequestError(
      0,
      'NETWORK',
      'Cannot reach the Jupyter server. Check your connection, then retry.'
    );
  } finally {
    clearTimeout(timer);
  }

  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw answerError(response.status, data);
  }
  if (text.length > 0 && data === null) {
    throw new DatalakeRequestError(
      response.status,
      'INVALID_RESPONSE',
      'The data lake service sent an answer that is not JSON. Check that the server extension version matches this frontend.'
    );
  }
  return data as T;
}

/** The error a failed answer (status, parsed JSON body or null) stands for. */
function answerError(status: number, data: any): DatalakeRequestError {
  if (data && typeof data.message === 'string') {
    return new DatalakeRequestError(
      status,
      typeof data.reason === 'string' ? data.reason : 'ERROR',
      data.message
    );
  }
  if (status === 404) {
    return new DatalakeRequestError(
      404,
      'SHIM_MISSING',
      'The data lake server extension is not answering. Ask your administrator to install and enable jupyterlab_datalake (jupyter server extension list).'
    );
  }
  if (status === 403) {
    return new DatalakeRequestError(
      403,
      'FORBIDDEN',
      'The Jupyter server refused the request. Reload the page to log in again.'
    );
  }
  return new DatalakeRequestError(
    status,
    'HTTP_ERROR',
    `The data lake service failed (HTTP ${status}). Retry; if it persists, contact your administrator.`
  );
}

/**
 * Call a streaming shim route (NDJSON, one JSON object per line) and hand each line to
 * `onLine` as it arrives; resolves with every line. The shim sends a line at least every
 * `request_timeout`, so a stream silent for `timeoutMs` is abandoned; a final `{"error"}`
 * line rejects like an error answer.
 */
export async function requestLines<T>(
  endPoint: string,
  settings: ServerConnection.ISettings,
  options: IRequestOptions,
  onLine: (line: T) => void
): Promise<T[]> {
  const url =
    URLExt.join(settings.baseUrl, NAMESPACE, endPoint) +
    queryString(options.query);
  const init: RequestInit = { method: options.method ?? 'GET' };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const controller = new AbortController();
  init.signal = controller.signal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(),
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    );
  };
  const lines: T[] = [];
  const take = (text: string) => {
    if (text.trim() === '') {
      return;
    }
    let line: any;
    try {
      line = JSON.parse(text);
    } catch {
      throw new DatalakeRequestError(
        0,
        'INVALID_RESPONSE',
        'The data lake service sent a line that is not JSON. Check that the server extension version matches this frontend.'
      );
    }
    if (line && typeof line.error === 'object' && line.error !== null) {
      throw answerError(502, line.error);
    }
    lines.push(line as T);
    onLine(line as T);
  };
  silence();
  try {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, settings);
    } catch {
      throw new DatalakeRequestError(
        0,
        'NETWORK',
        'The data lake service stopped answering. Check your connection, then look at the result before retrying.'
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let data: any = null;
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
      throw answerError(response.status, data);
    }
    const reader = response.body?.getReader();
    if (!reader) {
      (await response.text()).split('\n').forEach(take);
      return lines;
    }
    const decoder = new TextDecoder();
    let rest = '';
    for (;;) {
      silence();
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      rest += decoder.decode(value, { stream: true });
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      parts.forEach(take);
    }
    take(rest + decoder.decode());
    return lines;
  } finally {
    clearTimeout(timer);
  }
}
