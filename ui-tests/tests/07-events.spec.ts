/**
 * Scenario 7: Rucio's events through the testbed's broker reach the page at once. A staging made
 * elsewhere (a kernel, another tab) is held back with the daemon loop's pause file; the page's
 * notification says it is ready within 2 s of Rucio's own RULE_OK. With the broker killed while
 * Rucio finishes and started again, the page says it once: nothing lost, nothing repeated.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import type { Page } from '@playwright/test';

import { ROOT, expect, shim, test } from './fixtures';

const TB = process.env.TESTBED_DIR || path.join(ROOT, '.testbed');
const PAUSE = path.join(TB, 'run', 'daemons.pause');
const SERVER_LOG = path.join(ROOT, 'ui-tests', 'jupyter-server.log');

function testbedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs
    .readFileSync(path.join(TB, 'env'), 'utf8')
    .split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) {
      env[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return { ...(process.env as Record<string, string>), ...env };
}

function eventsOn(): boolean {
  const config = JSON.parse(
    fs.readFileSync(path.join(TB, 'jupyter_server_config.json'), 'utf8')
  );
  return 'events' in config.DatalakeApp.instances[0];
}

/** A new closed dataset that nobody staged: its rule needs real transfers. */
function freshDataset(label: string): string {
  const env = testbedEnv();
  const name = `uiev-${label}-${Date.now().toString(36)}`;
  return execFileSync(
    `${env.TESTBED_VENV}/bin/python`,
    [path.join(ROOT, 'testbed/tests/events/fresh_dataset.py'), TB, name],
    { env, encoding: 'utf8' }
  ).trim();
}

/** When Rucio queued the rule's RULE_OK (epoch ms), from its own message tables. */
function rucioOkAt(ruleId: string): number | null {
  const script = [
    'import sqlite3, sys',
    'from datetime import datetime, timezone',
    "db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, timeout=30)",
    'like = f"%{sys.argv[2]}%"',
    "rows = db.execute(\"SELECT created_at FROM messages WHERE event_type = 'RULE_OK' AND payload LIKE ? UNION SELECT created_at FROM messages_history WHERE event_type = 'RULE_OK' AND payload LIKE ?\", (like, like)).fetchall()",
    "print(datetime.fromisoformat(str(rows[0][0])).replace(tzinfo=timezone.utc).timestamp() if rows else '')"
  ].join('\n');
  const out = execFileSync(
    'python3',
    ['-c', script, path.join(TB, 'var', 'rucio.db'), ruleId],
    { encoding: 'utf8' }
  ).trim();
  return out ? Number(out) * 1000 : null;
}

/** Hold the daemon loop between two cycles until `release()`. */
async function holdDaemons(): Promise<() => void> {
  const log = path.join(TB, 'log', 'daemons.log');
  const size = fs.statSync(log).size;
  fs.writeFileSync(PAUSE, '');
  await expect
    .poll(() => fs.readFileSync(log).subarray(size).includes('paused'), {
      timeout: 10000,
      message: 'the daemon loop honours its pause file (restart an old testbed)'
    })
    .toBe(true);
  return () => fs.rmSync(PAUSE, { force: true });
}

function brokerCtl(action: 'start' | 'stop'): void {
  execFileSync('bash', [path.join(ROOT, 'testbed/broker-ctl.sh'), action], {
    env: testbedEnv(),
    stdio: 'ignore'
  });
}

function subscriptions(): number {
  return (
    fs.readFileSync(SERVER_LOG, 'utf8').match(/events of \S+: subscribed/g) ??
    []
  ).length;
}

/** Count every "ready" notification the page shows for `did` (toasts close by themselves). */
async function countReady(page: Page, did: string): Promise<void> {
  await page.evaluate(wanted => {
    const win = window as any;
    win.datalakeReady = 0;
    new MutationObserver(records => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (!(node instanceof HTMLElement)) {
            continue;
          }
          const toasts = node.matches('.Toastify__toast')
            ? [node]
            : [...node.querySelectorAll('.Toastify__toast')];
          for (const toast of toasts) {
            if ((toast.textContent ?? '').includes(`${wanted} is ready`)) {
              win.datalakeReady += 1;
            }
          }
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  }, did);
}

function readyToast(page: Page, did: string) {
  return page.locator('.Toastify__toast', {
    hasText: `${did} is ready: its files are near the hub (FAST).`
  });
}

test.describe('events from the broker', () => {
  test.skip(!eventsOn(), 'the testbed runs without a broker (events off)');

  const made: string[] = [];
  test.afterEach(async ({ request }) => {
    fs.rmSync(PAUSE, { force: true });
    for (const id of made.splice(0)) {
      await shim(request).release(id);
    }
  });

  test('a staging made elsewhere is notified ready within 2 s of Rucio', async ({
    page,
    request,
    lake
  }) => {
    test.setTimeout(120000);
    expect(await lake.panel.isVisible()).toBe(true);
    const did = freshDataset('fast');
    await countReady(page, did);
    const release = await holdDaemons();
    const staging = await shim(request).stage(did);
    made.push(staging.id);
    await page.waitForTimeout(10000); // the transfers wait, as for a busy transfer service
    release();
    await expect(readyToast(page, did)).toBeVisible({ timeout: 60000 });
    const shown = Date.now();
    const rucioOk = rucioOkAt(staging.id);
    expect(rucioOk).not.toBeNull();
    expect(shown - (rucioOk as number)).toBeLessThanOrEqual(2000);
    expect(await page.evaluate(() => (window as any).datalakeReady)).toBe(1);
  });

  test('broker killed mid-staging and restarted: one notification, none lost', async ({
    page,
    request,
    lake
  }) => {
    test.setTimeout(180000);
    expect(await lake.panel.isVisible()).toBe(true);
    const did = freshDataset('killed');
    await countReady(page, did);
    try {
      const release = await holdDaemons();
      const staging = await shim(request).stage(did);
      made.push(staging.id);
      const broker = Number(
        fs.readFileSync(path.join(TB, 'run', 'broker.pid'), 'utf8')
      );
      process.kill(broker, 'SIGKILL');
      await page.waitForTimeout(2000);
      release(); // Rucio finishes while the broker is down: hermes keeps RULE_OK
      await expect(readyToast(page, did)).toBeVisible({ timeout: 90000 });
      const before = subscriptions();
      brokerCtl('start');
      // The shim subscribes again and hermes delivers the RULE_OK it kept: old news.
      await expect
        .poll(subscriptions, { timeout: 90000, intervals: [500] })
        .toBeGreaterThan(before);
      await page.waitForTimeout(5000);
      expect(await page.evaluate(() => (window as any).datalakeReady)).toBe(1);
    } finally {
      brokerCtl('start');
    }
  });
});
