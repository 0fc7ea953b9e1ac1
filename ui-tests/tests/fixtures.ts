/**
 * Shared fixtures and helpers of the browser tests.
 *
 * The shim reaches the testbed's Rucio through a TCP forwarder that lives in the test worker
 * (`rucio` fixture): tests "stop Rucio" by closing it, without touching the shared testbed.
 * `jupyter_server_test_config.py` points the instance at it (env UI_TESTS_RUCIO_PROXY).
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

import { expect, galata, test as base } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

export { expect, galata };

export const PANEL_ID = 'jp-datalake-panel';
export const ROOT = path.resolve(__dirname, '..', '..');
export const STORAGE = path.join(ROOT, '.testbed', 'storage');
export const SB001 = 'demo:lofar-obs-sb001';
export const QOS_CLASSES = ['FAST', 'CHEAP-ANALYSIS', 'SAFE', 'OPPORTUNISTIC'];

const PROXY_PORT = Number(process.env.UI_TESTS_PROXY_PORT || '8483');
const RUCIO_PORT = Number(process.env.TESTBED_PORT || '8480');

/**
 * A transparent TCP forwarder 127.0.0.1:PROXY_PORT → Rucio. `close()` also cuts the
 * connections the shim keeps alive, so the next call fails as if Rucio were down.
 */
export class RucioForwarder {
  get isOpen(): boolean {
    return this._server !== null;
  }

  async open(): Promise<void> {
    if (this._server) {
      return;
    }
    const server = net.createServer(client => {
      const upstream = net.connect(RUCIO_PORT, '127.0.0.1');
      this._sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this._sockets.delete(client);
        this._sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(PROXY_PORT, '127.0.0.1', () => resolve());
    });
    this._server = server;
  }

  async close(): Promise<void> {
    const server = this._server;
    this._server = null;
    for (const socket of this._sockets) {
      socket.destroy();
    }
    this._sockets.clear();
    if (server) {
      await new Promise<void>(resolve => server.close(() => resolve()));
    }
  }

  private _server: net.Server | null = null;
  private _sockets = new Set<net.Socket>();
}

/**
 * The kernel actions (`POST /api/kernels/<id>/restart|interrupt`). galata's kernel tracking
 * (its `kernels` fixture) routes every `/api/kernels...` URL and answers any successful POST
 * with 201 Created, as for a new kernel; JupyterLab expects 200 from a restart and throws on
 * anything else, leaving the kernel connection "restarting" for good: it never reconnects,
 * runs nothing and reports no status again. Kernel actions create no kernel to track, so
 * they go to the server untouched.
 */
const KERNEL_ACTION = /\/api\/kernels\/[^/?#]+\/(restart|interrupt)(\?|$)/;

/**
 * The first steps every scenario repeats, as a fixture: the panel is open and connected
 * as alice before the test body runs.
 */
export interface ILake {
  /** The side panel. */
  panel: Locator;
  /** A DID row of the browse tree. */
  row(did: string): Locator;
  /** Search the panel for a pattern and wait for the tree. */
  search(pattern: string): Promise<Locator>;
  /** Search a DID and open its page (double click): the page's body. */
  open(did: string): Promise<Locator>;
  /** The body of a DID's page in the main area. */
  didPage(did: string): Locator;
  /** Open the Stagings view (from the panel's stagings section): its body. */
  openStagings(): Promise<Locator>;
}

export const test = base.extend<{ lake: ILake }, { rucio: RucioForwarder }>({
  page: async ({ page }, use) => {
    // Registered after galata's routes, so it is consulted first.
    await page.route(KERNEL_ACTION, route => route.continue());
    await use(page);
  },
  lake: async ({ page }, use) => {
    await openPanel(page);
    const root = panel(page);
    const lake: ILake = {
      panel: root,
      row: did => row(page, did),
      search: async pattern => {
        await search(page, pattern);
        const tree = root.getByRole('tree', { name: 'Search results' });
        await expect(tree).toBeVisible();
        return tree;
      },
      open: async did => {
        await search(page, did);
        await row(page, did).dblclick();
        const body = didPage(page, did);
        await expect(body).toBeVisible();
        return body;
      },
      didPage: did => didPage(page, did),
      openStagings: async () => {
        // The button is in the header of the panel's "My stagings" section.
        await root
          .getByRole('button', { name: 'Open the Stagings view' })
          .click();
        const body = page.locator('.jp-datalake-stagingsview-body');
        await expect(body).toBeVisible();
        return body;
      }
    };
    await use(lake);
  },
  rucio: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const forwarder = new RucioForwarder();
      await forwarder.open();
      await use(forwarder);
      await forwarder.close();
    },
    { scope: 'worker', auto: true }
  ]
});

/** Write a screenshot to docs/images/ when SCREENSHOTS=1. */
export async function shot(
  target: Locator | Page,
  name: string
): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') {
    return;
  }
  const file = path.join(ROOT, 'docs', 'images', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await target.screenshot({ path: file, animations: 'disabled' });
}

/** The side panel. */
export function panel(page: Page): Locator {
  return page.locator(`#${PANEL_ID}`);
}

/** A DID row of the browse tree. */
export function row(page: Page, did: string): Locator {
  return panel(page).locator(`.jp-datalake-row[data-did="${did}"]`);
}

/** The body of a DID's page in the main area. */
export function didPage(page: Page, did: string): Locator {
  return page.locator(
    `#jp-main-dock-panel .jp-datalake-didpage-body[data-did="${did}"]`
  );
}

/** Open the panel and wait until it is connected as alice. */
export async function openPanel(page: IJupyterLabPageFixture): Promise<void> {
  await page.sidebar.openTab(PANEL_ID);
  await expect(panel(page).locator('.jp-datalake-connection')).toHaveAttribute(
    'data-state',
    'connected',
    { timeout: 30000 }
  );
  await expect(panel(page).locator('.jp-datalake-identity')).toHaveText(
    'alice @ testbed'
  );
}

/** Search the panel for a pattern. */
export async function search(page: Page, pattern: string): Promise<void> {
  const input = panel(page).getByRole('searchbox', { name: 'DID pattern' });
  await input.fill(pattern);
  await input.press('Enter');
}

/** The shim's REST routes, for set-up and clean-up (galata's server disables auth). */
export function shim(request: APIRequestContext) {
  const url = (route: string) => `/datalake/${route}`;
  return {
    async json(route: string, params?: Record<string, string>): Promise<any> {
      const response = await request.get(url(route), { params });
      expect(response.ok(), await response.text()).toBeTruthy();
      return response.json();
    },
    async stagings(): Promise<any[]> {
      return (await this.json('stagings')).stagings;
    },
    async stage(did: string, qos = 'FAST', lifetime = 86400): Promise<any> {
      const response = await request.post(url('stagings'), {
        data: { dids: [did], qos, lifetime }
      });
      expect(response.ok(), await response.text()).toBeTruthy();
      return (await response.json()).stagings[0];
    },
    async waitStaged(id: string, timeout = 90000): Promise<any> {
      let staging: any = null;
      await expect
        .poll(
          async () => {
            staging = await this.json(`stagings/${id}`);
            return staging.state;
          },
          { timeout, intervals: [1000] }
        )
        .toBe('OK');
      return staging;
    },
    async release(id: string): Promise<void> {
      const response = await request.delete(url(`stagings/${id}`));
      expect([204, 404], await response.text()).toContain(response.status());
    },
    /** Release this account's stagings of a DID in a QoS class (left over by an earlier run). */
    async releaseAll(did: string, qos = 'FAST'): Promise<void> {
      for (const s of await this.stagings()) {
        if (s.did === did && s.qos === qos) {
          await this.release(s.id);
        }
      }
    }
  };
}

/** Sizes as Rucio users read them (kB = 1000 B), written independently of src/format.ts. */
export function siSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
