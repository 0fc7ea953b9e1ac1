/**
 * The version handshake: this frontend's version, which the server extension must share
 * (both are built from package.json; `src/__tests__/version.spec.ts` keeps this in step).
 * A stale server extension after an upgrade explains many strange errors, so the panel says
 * it at once, as jupyterlab-git does.
 */
import type { IVersionMismatch } from './tokens';

export const FRONTEND_VERSION = '0.1.0';

/**
 * The mismatch between this frontend and the server's version; null when they agree.
 * A server that cannot say (no `version` route: older than the handshake) differs too.
 */
export function versionMismatch(
  server: string | null,
  frontend: string = FRONTEND_VERSION
): IVersionMismatch | null {
  return server === frontend ? null : { frontend, server };
}
