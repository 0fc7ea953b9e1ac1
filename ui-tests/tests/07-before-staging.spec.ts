/**
 * Scenario 7: before you stage, the DID page says what will happen (storage near the hub or
 * not, what moves, your quota); a staging over the quota is refused beside the button and
 * creates nothing; a staging Rucio stopped says why, in the view and as a notification; the
 * panel says when the server extension is another version.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { APIRequestContext } from '@playwright/test';

import {
  ROOT,
  SB001,
  expect,
  galata,
  shim,
  shot,
  siSize,
  test
} from './fixtures';

const BIG = 'demo:big-100k';
// Staged with CHEAP-ANALYSIS by no other UI test (03 needs sb002 away from the hub), so its
// copy travels.
const SB000 = 'demo:lofar-obs-sb000';

test.use({
  viewport: { width: 1280, height: 800 },
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { pollInterval: 1 }
  }
});

/** alice's own Rucio client, straight to the testbed (not through the shim). */
async function rucioAsAlice(request: APIRequestContext) {
  const cfg = fs.readFileSync(path.join(ROOT, '.testbed', 'rucio.cfg'), 'utf8');
  const value = (key: string) =>
    cfg.match(new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm'))![1].trim();
  const url = value('rucio_host');
  const auth = await request.get(`${url}/auth/userpass`, {
    headers: {
      'X-Rucio-Account': 'alice',
      'X-Rucio-Username': value('username'),
      'X-Rucio-Password': value('password')
    }
  });
  expect(auth.ok()).toBeTruthy();
  const headers = {
    'X-Rucio-Auth-Token': auth.headers()['x-rucio-auth-token']
  };
  return { url, headers };
}

test('the stage form says where the copy goes, what moves and the quota left', async ({
  request,
  lake
}) => {
  const bytes = (await shim(request).json('did', { did: SB001 })).bytes;
  const page = await lake.open(SB001);
  const form = page.locator(`form.jp-datalake-stage[data-did="${SB001}"]`);
  const qos = form.getByRole('combobox', { name: 'QoS class' });
  const preview = form.locator('.jp-datalake-preview');

  await qos.selectOption('FAST');
  await expect(preview).toHaveAttribute('data-target', 'HUB-FAST');
  await expect(preview.locator('.jp-datalake-preview-storage')).toHaveText(
    'Storage: HUB-FAST, near the hub'
  );
  await expect(preview.locator('.jp-datalake-preview-move')).toHaveText(
    /^(Copies \d of 4 files \(.+\) from LAKE-SAFE|Already there: all 4 files, nothing to copy)$/
  );
  await expect(preview.locator('.jp-datalake-preview-quota')).toHaveText(
    `Your quota on HUB-FAST: 10.0 TB left (this needs ${siSize(bytes)})`
  );

  // SAFE's storage is elsewhere: said plainly, and the data is already there.
  await qos.selectOption('SAFE');
  await expect(preview).toHaveAttribute('data-target', 'LAKE-SAFE');
  await expect(preview.locator('.jp-datalake-preview-storage')).toHaveText(
    'Storage: LAKE-SAFE, not near the hub'
  );
  await expect(preview.locator('.jp-datalake-preview-move')).toHaveText(
    'Already there: all 4 files, nothing to copy'
  );
  await expect(form).not.toContainText('Near-hub storage');
});

test('staging demo:big-100k is refused beside the button and creates nothing', async ({
  page,
  request,
  lake
}) => {
  const before = (await shim(request).stagings()).filter(s => s.did === BIG);
  const didPage = await lake.open(BIG);
  const form = didPage.locator(`form.jp-datalake-stage[data-did="${BIG}"]`);
  await form.getByRole('combobox', { name: 'QoS class' }).selectOption('FAST');
  // Said before the click...
  const warning = form.locator('.jp-datalake-preview-warning');
  await expect(warning).toHaveText(
    /^Over your Rucio quota: this needs 21\.0 TB and your quota for FAST has 10\.0 TB left\./
  );
  // ...and refused by the shim if asked anyway, beside the button.
  const stage = form.getByRole('button', { name: 'Stage near the hub' });
  await stage.click();
  const refusal = form.locator('.jp-datalake-stage-actions').getByRole('alert');
  await expect(refusal).toHaveAttribute('data-status', '409');
  await expect(refusal).toContainText('Over your Rucio quota');
  await expect(refusal).toContainText('Nothing was staged');
  await expect(stage).toBeInViewport();
  await expect(refusal).toBeInViewport();
  await shot(page, 'stage-refused.png');
  const after = (await shim(request).stagings()).filter(s => s.did === BIG);
  expect(after).toEqual(before);
});

test('a staging in flight shows files and bytes arrived, and charts the bytes', async ({
  page,
  request,
  lake
}) => {
  test.setTimeout(180000);
  const api = shim(request);
  await api.releaseAll(SB000, 'CHEAP-ANALYSIS');
  const size = siSize((await api.json('did', { did: SB000 })).bytes);
  // Watched from the start, so the chart has the whole copy.
  const view = await lake.openStagings();
  const made = await api.stage(SB000, 'CHEAP-ANALYSIS', 3600);
  try {
    const staging = view.locator(
      `li.jp-datalake-staging[data-staging-id="${made.id}"]`
    );
    const state = staging.locator('.jp-datalake-state');
    const progress = staging.getByRole('progressbar');
    const words: string[] = [];
    let shotTaken = false;
    await expect
      .poll(
        async () => {
          words.push((await state.textContent()) ?? '');
          const percent = Number(await progress.getAttribute('aria-valuenow'));
          const chart = staging.locator('.jp-datalake-chart');
          const samples = (await chart.count())
            ? Number(await chart.getAttribute('data-samples'))
            : 0;
          if (!shotTaken && percent >= 50 && percent < 100 && samples >= 3) {
            // Half there (scripts/screenshots.sh slows the testbed's copies for this).
            await shot(page, 'stagings-view.png');
            shotTaken = true;
          }
          return staging.getAttribute('data-state');
        },
        { timeout: 120000, intervals: [250] }
      )
      .toBe('OK');
    // While copying, the words say the bytes too; at the end every byte is there.
    for (const w of words.filter(w => w.startsWith('Copying'))) {
      expect(w).toMatch(
        new RegExp(`^Copying \\d of 4 files \\(.+ of ${size}\\)`)
      );
    }
    await expect(staging.locator('.jp-datalake-staging-files')).toHaveText(
      `4/4 files · ${size} of ${size}`
    );
    const chart = staging.locator('.jp-datalake-chart');
    await expect(chart).toHaveAttribute('data-unit', 'bytes');
    await expect(chart.getByRole('img')).toHaveAttribute(
      'aria-label',
      new RegExp(`${size} of ${size} at`)
    );
  } finally {
    await api.release(made.id);
    // A released staging keeps its copies up to an hour in Rucio, and staging it again
    // would take it back with nothing to copy: expire it now (test clean-up, as alice).
    const rucio = await rucioAsAlice(request);
    await request.put(`${rucio.url}/rules/${made.id}`, {
      headers: rucio.headers,
      data: { options: { lifetime: 1 } }
    });
  }
});

test('a staging Rucio stopped says why, in the view and as a notification', async ({
  page,
  request,
  lake
}) => {
  // Made outside the shim's check (as an older shim or the CLI would): Rucio suspends it.
  const rucio = await rucioAsAlice(request);
  const body = {
    dids: [{ scope: 'demo', name: 'big-100k' }],
    account: 'alice',
    copies: 1,
    rse_expression: 'QOS=FAST&site=HUB',
    grouping: 'DATASET',
    lifetime: 3600,
    comment: 'jupyterlab-datalake FAST'
  };
  let made = await request.post(`${rucio.url}/rules/`, {
    headers: rucio.headers,
    data: body
  });
  let id: string;
  if (made.status() === 409) {
    // An earlier run's rule, released and lingering in Rucio: take it back.
    const rules = (
      await (
        await request.get(`${rucio.url}/dids/demo/big-100k/rules`, {
          headers: rucio.headers
        })
      ).text()
    )
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line));
    id = rules.find(
      r => r.account === 'alice' && r.rse_expression === body.rse_expression
    ).id;
    made = await request.put(`${rucio.url}/rules/${id}`, {
      headers: rucio.headers,
      data: { options: { comment: body.comment, lifetime: 3600 } }
    });
    expect(made.ok()).toBeTruthy();
  } else {
    expect(made.ok(), await made.text()).toBeTruthy();
    id = (await made.json())[0];
  }
  try {
    const reason = 'over your quota on HUB-FAST (needs 21.0 TB, 10.0 TB left)';
    const view = await lake.openStagings();
    // Made outside JupyterLab: it shows once the user refreshes (with broker events the shim
    // reads the whole list again only every few minutes).
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('datalake:refresh')
    );
    const staging = view.locator(
      `li.jp-datalake-staging[data-staging-id="${id}"]`
    );
    await expect(staging).toHaveAttribute('data-state', 'SUSPENDED', {
      timeout: 90000
    });
    await expect(staging.locator('.jp-datalake-state')).toHaveText(
      `Stopped: ${reason}`
    );
    await expect(
      page.locator('.Toastify__toast', {
        hasText: `${BIG}: Stopped: ${reason}. Release it or ask your data manager.`
      })
    ).toBeVisible({ timeout: 15000 });
  } finally {
    await shim(request).release(id);
  }
});

test('the panel says when the server extension is another version', async ({
  page,
  lake
}) => {
  // The real server is this build: nothing to say.
  await expect(lake.panel.locator('.jp-datalake-version-mismatch')).toHaveCount(
    0
  );
  // A server extension left at another version (an upgrade of one side only).
  await page.route('**/datalake/version*', route =>
    route.fulfill({ json: { version: '9.9.9' } })
  );
  await page.reload();
  await page.sidebar.openTab('jp-datalake-panel');
  await expect(lake.panel.locator('.jp-datalake-version-mismatch')).toHaveText(
    /^The data lake server extension \(9\.9\.9\) and this frontend \(\d+\.\d+\.\d+\S*\) are different versions\. Install the same version/
  );
});
