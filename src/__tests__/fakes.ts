import type {
  IDatalakeAPI,
  IDID,
  IPage,
  IPageRequest,
  IStagePreview,
  IStaging
} from '../tokens';
import { DatalakeRequestError } from '../request';
import { FRONTEND_VERSION } from '../version';

/** A preview of staging `did` with `qos` near the hub: 4 files to copy from LAKE-SAFE. */
export function preview(
  d = 'demo:lofar-obs-sb000',
  qos = 'FAST',
  patch: Partial<IStagePreview> = {}
): IStagePreview {
  const rse = qos === 'CHEAP-ANALYSIS' ? 'HUB-CHEAP' : `HUB-${qos}`;
  return {
    did: d,
    qos,
    expression: `QOS=${qos}&site=HUB`,
    files: 4,
    bytes: 4000,
    near_hub: true,
    targets: [
      {
        rse,
        near_hub: true,
        files_present: 0,
        bytes_present: 0,
        quota_left: 10 ** 13,
        quota_known: true,
        fits: true
      }
    ],
    target: rse,
    to_move: { files: 4, bytes: 4000 },
    sources: [
      {
        rse: 'LAKE-SAFE',
        site: 'LAKE',
        qos: 'SAFE',
        near_hub: false,
        files: 4,
        bytes: 4000
      }
    ],
    existing: null,
    fits: true,
    message: null,
    ...patch
  };
}

export function did(name: string, type: IDID['type'] = 'FILE'): IDID {
  return {
    scope: 'demo',
    name,
    did: `demo:${name}`,
    type,
    bytes: 1000,
    length: type === 'FILE' ? null : 3
  };
}

export function staging(patch: Partial<IStaging> = {}): IStaging {
  return {
    id: 'r1',
    did: 'demo:lofar-obs',
    instance: 'testbed',
    qos: 'FAST',
    rse_expression: 'QOS=FAST&site=HUB',
    state: 'REPLICATING',
    files_ok: 0,
    files_replicating: 4,
    files_stuck: 0,
    files_total: 4,
    bytes_total: 4000,
    expires_at: new Date(Date.now() + 86400_000).toISOString(),
    created_at: new Date().toISOString(),
    error: null,
    outside: false,
    stalled_since: null,
    webui_url: null,
    ...patch
  };
}

/**
 * Pages of `count` files named f0..f<count-1>, served `limit` at a time with numeric cursors.
 */
export function pagesOf(
  count: number,
  prefix = 'f'
): jest.Mock<Promise<IPage<IDID>>, [IPageRequest]> {
  // Like the shim's listings: a position (negative: from the end), the offset and the total;
  // "size" sorts in reverse of the names' numbers.
  return jest.fn(async (page: IPageRequest) => {
    let start = page.cursor === null ? 0 : Number(page.cursor);
    if (page.position !== undefined) {
      start =
        page.position < 0 ? Math.max(0, count + page.position) : page.position;
    }
    const end = Math.min(count, start + page.limit);
    const items: IDID[] = [];
    for (let i = start; i < end; i++) {
      items.push(did(`${prefix}${page.sort === 'size' ? count - 1 - i : i}`));
    }
    return {
      items,
      next_cursor: end < count ? String(end) : null,
      offset: start,
      total: count
    };
  });
}

export const authError = new DatalakeRequestError(
  502,
  'CannotAuthenticate',
  'Rucio refused the credentials: renew your token, then retry.'
);

/** An API whose every endpoint is a jest mock with a sensible default answer. */
export function fakeAPI(
  patch: Partial<Record<keyof IDatalakeAPI, jest.Mock>> = {}
): jest.Mocked<IDatalakeAPI> {
  const api = {
    version: jest.fn(async () => ({ version: FRONTEND_VERSION })),
    instances: jest.fn(async () => ({
      default: 'testbed',
      instances: [
        {
          name: 'testbed',
          display_name: 'Local testbed',
          site_expression: 'site=HUB',
          webui_url: null
        }
      ]
    })),
    whoami: jest.fn(async () => ({
      instance: 'testbed',
      account: 'alice',
      rucio_version: '38.0.0',
      token_expires_at: new Date(Date.now() + 3600_000).toISOString(),
      auth_type: 'userpass',
      token_source: null,
      token_auto_renew: true
    })),
    scopes: jest.fn(async () => ['demo', 'user.alice']),
    search: jest.fn(async () => ({ items: [], next_cursor: null })),
    did: jest.fn(async (d: string) => ({
      ...did(d.split(':')[1], 'DATASET'),
      metadata: { datatype: 'RAW' },
      near_hub: { state: 'NONE', rses: [] }
    })),
    children: jest.fn(async () => ({ items: [], next_cursor: null })),
    files: jest.fn(async () => ({ items: [], next_cursor: null })),
    replicas: jest.fn(async () => []),
    rules: jest.fn(async () => []),
    qos: jest.fn(async () => [
      {
        name: 'FAST',
        description: 'Low-latency disk next to the hub.',
        expression: 'QOS=FAST&site=HUB',
        rses: ['HUB-FAST']
      },
      {
        name: 'CHEAP-ANALYSIS',
        description: 'Cheaper disk near the hub.',
        expression: 'QOS=CHEAP-ANALYSIS&site=HUB',
        rses: ['HUB-CHEAP']
      }
    ]),
    stagings: jest.fn(async () => []),
    stage: jest.fn(async () => []),
    preview: jest.fn(async (d: string, qos: string) => preview(d, qos)),
    extend: jest.fn(async (id: string) => staging({ id })),
    release: jest.fn(async () => undefined),
    // A push that never opens: the model keeps polling, as with a shim without the route.
    watchStagings: jest.fn(() => ({
      closed: new Promise<void>(() => undefined),
      close: jest.fn()
    })),
    ...patch
  };
  return api as unknown as jest.Mocked<IDatalakeAPI>;
}

/** Let pending promise callbacks run. */
export async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) {
    await Promise.resolve();
  }
}
