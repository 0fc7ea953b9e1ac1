import { URLExt } from '@jupyterlab/coreutils';
import type { ServerConnection } from '@jupyterlab/services';

import { NAMESPACE } from './request';
import type { IStaging, IStagingPush, IStagingWatch } from './tokens';

/** The shim's push route (server/push.py). */
export const STAGING_EVENTS_ROUTE = 'stagings/events';

/**
 * Open the shim's staging WebSocket, authenticated as JupyterLab opens its own sockets
 * (the server settings' token when it must be appended, else the session cookie).
 * Messages that are not a staging push are ignored.
 */
export function watchStagings(
  settings: ServerConnection.ISettings,
  instance: string,
  onPush: (push: IStagingPush) => void,
  onOpen: () => void
): IStagingWatch {
  const params = new URLSearchParams();
  if (instance) {
    params.append('instance', instance);
  }
  if (settings.appendToken && settings.token !== '') {
    params.append('token', settings.token);
  }
  const query = params.toString();
  const url =
    URLExt.join(settings.wsUrl, NAMESPACE, STAGING_EVENTS_ROUTE) +
    (query ? `?${query}` : '');
  const socket = new settings.WebSocket(url);
  const closed = new Promise<void>(resolve => {
    socket.onclose = () => resolve();
  });
  socket.onopen = () => onOpen();
  socket.onmessage = message => {
    const push = parsePush(message.data);
    if (push) {
      onPush(push);
    }
  };
  return { closed, close: () => socket.close() };
}

/** A push from its JSON text, or null for anything else. */
export function parsePush(data: unknown): IStagingPush | null {
  if (typeof data !== 'string') {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const push = value as Record<string, unknown>;
  if (typeof push.removed === 'string') {
    return { removed: push.removed };
  }
  const staging = push.staging as Record<string, unknown> | null | undefined;
  if (
    typeof staging === 'object' &&
    staging !== null &&
    typeof staging.id === 'string' &&
    typeof staging.state === 'string'
  ) {
    return { staging: staging as unknown as IStaging };
  }
  return null;
}
