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
    if (data && typeof data.message === 'string') {
      throw new DatalakeRequestError(
        response.status,
        typeof data.reason === 'string' ? data.reason : 'ERROR',
        data.message
      );
    }
    if (response.status === 404) {
      throw new DatalakeRequestError(
        404,
        'SHIM_MISSING',
        'The data lake server extension is not answering. Ask your administrator to install and enable jupyterlab_datalake (jupyter server extension list).'
      );
    }
    if (response.status === 403) {
      throw new DatalakeRequestError(
        403,
        'FORBIDDEN',
        'The Jupyter server refused the request. Reload the page to log in again.'
      );
    }
    throw new DatalakeRequestError(
      response.status,
      'HTTP_ERROR',
      `The data lake service failed (HTTP ${response.status}). Retry; if it persists, contact your administrator.`
    );
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
