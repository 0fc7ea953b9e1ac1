/**
 * Scenario 2: open a dataset's page, stage it near the hub, watch it arrive in the Stagings
 * view, extend it, release it. The page follows the staging as it changes.
 */
import type { Locator } from '@playwright/test';

import { SB001, expect, galata, shim, shot, siSize, test } from './fixtures';

// "Extend" adds the default lifetime from now: 7 days, so the expiry visibly moves.
test.use({
  viewport: { width: 1280, height: 800 },
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { defaultLifetime: '7d', pollInterval: 1 }
  }
});

test.afterEach(async ({ request }) => {
  await shim(request).releaseAll(SB001);
});

/** Whether an element is entirely inside the window, with nothing to scroll. */
async function inView(locator: Locator): Promise<boolean> {
  return locator.evaluate(node => {
    const box = node.getBoundingClientRect();
    let scrolled = false;
    for (let p = node.parentElement; p; p = p.parentElement) {
      scrolled = scrolled || p.scrollTop > 0;
    }
    return (
      !scrolled &&
      box.top >= 0 &&
      box.left >= 0 &&
      box.bottom <= window.innerHeight &&
      box.right <= window.innerWidth
    );
  });
}

test('the Stage button and a refusal beside it are in view in a 1280×800 window', async ({
  lake
}) => {
  const page = await lake.open(SB001);
  // The page's title copies the DID and says so.
  const title = page.locator('.jp-datalake-didpage-title');
  await title.getByRole('button', { name: `Copy ${SB001}` }).click();
  await expect(title.getByRole('status')).toHaveText('Copied');
  const form = page.locator(`form.jp-datalake-stage[data-did="${SB001}"]`);
  const stage = form.getByRole('button', { name: 'Stage near the hub' });
  await expect(stage).toBeEnabled();
  expect(await inView(stage)).toBe(true);
  // Longer than the deployment allows: the shim refuses with a sentence, shown at the button.
  await form.getByRole('textbox', { name: 'Lifetime' }).fill('400d');
  await stage.click();
  const refusal = form.locator('.jp-datalake-stage-actions').getByRole('alert');
  await expect(refusal).toBeVisible();
  await expect(refusal).toHaveAttribute('data-status', '400');
  expect(await inView(refusal)).toBe(true);
  expect(await inView(stage)).toBe(true);
});

test('stage with FAST for 1 day, see it done, extend it, release it', async ({
  page,
  request,
  lake
}) => {
  test.setTimeout(180000);
  const api = shim(request);
  await api.releaseAll(SB001);
  // Whether the copy has to travel: then the staging must go through a transfer.
  const nearHub = (await api.json('did', { did: SB001 })).near_hub.state;

  const didPage = await lake.open(SB001);
  // One tab per DID, its name cut in the middle, the whole DID in the tooltip.
  const tab = page.locator('#jp-main-dock-panel .lm-TabBar-tab', {
    hasText: 'demo:lofar-obs-sb001'
  });
  await expect(tab).toHaveAttribute('title', SB001);

  const form = didPage.locator(`form.jp-datalake-stage[data-did="${SB001}"]`);
  await form.getByRole('combobox', { name: 'QoS class' }).selectOption('FAST');
  await expect(form.locator('.jp-datalake-qos-description')).toHaveAttribute(
    'data-qos',
    'FAST'
  );
  await expect(form.locator('.jp-datalake-preview-storage')).toHaveText(
    'Storage: HUB-FAST, near the hub'
  );
  const lifetime = form.getByRole('textbox', { name: 'Lifetime' });
  await expect(lifetime).toHaveValue('7d');
  await lifetime.fill('1d');
  await expect(didPage.locator('.jp-datalake-replicas')).toBeVisible();
  await shot(page, 'did-page.png');

  const posted = page.waitForResponse(
    r =>
      r.url().includes('/datalake/stagings') &&
      r.request().method() === 'POST' &&
      r.request().postDataJSON()?.qos === 'FAST' &&
      r.request().postDataJSON()?.lifetime === 86400 &&
      r.request().postDataJSON()?.dids?.[0] === SB001
  );
  await form.getByRole('button', { name: 'Stage near the hub' }).click();
  const response = await posted;
  expect([200, 201]).toContain(response.status());
  const id = (await response.json()).stagings[0].id as string;

  // The Stagings view: this staging, its state in plain words, its progress over time.
  const view = await lake.openStagings();
  const staging = view.locator(
    `li.jp-datalake-staging[data-staging-id="${id}"]`
  );
  await expect(staging).toHaveAttribute('data-did', SB001);
  const progress = staging.getByRole('progressbar', {
    name: `Staging progress of ${SB001}`
  });
  await expect(progress).toHaveAttribute('aria-valuetext', /of 4 files$/);
  const state = staging.locator('.jp-datalake-state');

  // Watch until it is done; the progress never goes back, and the words follow the state.
  const seen: number[] = [];
  const states = new Set<string>();
  const words = new Set<string>();
  await expect
    .poll(
      async () => {
        seen.push(Number(await progress.getAttribute('aria-valuenow')));
        states.add((await staging.getAttribute('data-state')) ?? '');
        words.add((await state.textContent()) ?? '');
        return seen[seen.length - 1];
      },
      { timeout: 90000, intervals: [250] }
    )
    .toBe(100);
  expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  await expect(staging).toHaveAttribute('data-state', 'OK');
  await expect(state).toHaveText('Ready');
  // Rucio's own word is in the tooltip.
  await expect(state).toHaveAttribute('title', /^Rucio state OK: /);
  await expect(progress).toHaveAttribute('aria-valuetext', '4 of 4 files');
  await expect(staging.locator('.jp-datalake-staging-files')).toContainText(
    '4/4 files'
  );
  // The chart draws the bytes the panel saw arrive.
  const size = siSize((await api.json('did', { did: SB001 })).bytes);
  await expect(staging.locator('.jp-datalake-staging-files')).toHaveText(
    `4/4 files · ${size} of ${size}`
  );
  const chart = staging.locator('.jp-datalake-chart');
  await expect(chart).toHaveAttribute('data-unit', 'bytes');
  await expect(chart.locator('figcaption')).toHaveText(
    /^bytes arrived, seen since \d\d:\d\d/
  );
  await expect(chart.getByRole('img')).toHaveAttribute(
    'aria-label',
    new RegExp(`${size} of ${size} at`)
  );

  if (nearHub === 'NONE') {
    // The copy had to travel: in flight first, in plain words, and its completion notified.
    expect(seen[0]).toBeLessThan(100);
    expect(states.has('REPLICATING') || states.has('INJECT')).toBeTruthy();
    expect(
      [...words].some(w => /^(Copying \d of 4 files|Queued)/.test(w))
    ).toBeTruthy();
    // While copying, the bytes arrived too.
    for (const w of [...words].filter(w => w.startsWith('Copying'))) {
      expect(w).toMatch(/^Copying \d of 4 files \(\S+ \S+ of \S+ \S+\)/);
    }
    expect(Number(await chart.getAttribute('data-samples'))).toBeGreaterThan(1);
    await expect(
      page.locator('.Toastify__toast', {
        hasText: `${SB001} is ready: its files are near the hub (FAST).`
      })
    ).toBeVisible({ timeout: 15000 });
  } else {
    test.info().annotations.push({
      type: 'note',
      description: `${SB001} was already near the hub (${nearHub}): no transfer to watch`
    });
  }

  // The DID page followed the staging without being opened again: near the hub now.
  await tab.click();
  await expect(didPage.locator('.jp-datalake-near-hub')).toHaveAttribute(
    'data-near-hub',
    'AVAILABLE',
    { timeout: 15000 }
  );
  await expect(didPage.locator('.jp-datalake-near-hub')).toContainText(
    'HUB-FAST'
  );
  await expect(
    didPage.locator(`.jp-datalake-my-stagings [data-rule-id="${id}"]`)
  ).toHaveAttribute('data-state', 'OK');

  // Its expiry: one day from now.
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Stagings' })
    .click();
  const expiry = staging.locator('.jp-datalake-staging-expiry');
  await expect(expiry).toHaveText(/^expires in (1d|23h \d+m)$/);
  const before = Date.parse((await api.json(`stagings/${id}`)).expires_at);
  expect(before - Date.now()).toBeGreaterThan(23 * 3600e3);
  expect(before - Date.now()).toBeLessThanOrEqual(24 * 3600e3);

  // Extend: 7 days from now.
  await staging
    .getByRole('button', { name: `Extend staging of ${SB001}` })
    .click();
  await expect(expiry).toHaveText(/^expires in (7d|6d 23h)$/);
  const after = Date.parse((await api.json(`stagings/${id}`)).expires_at);
  expect(after - before).toBeGreaterThan(5 * 86400e3);

  // Release, after confirming: it disappears from the view, the panel and Rucio.
  await staging
    .getByRole('button', { name: `Release staging of ${SB001}` })
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(`Release the copy of ${SB001}`);
  await dialog.getByRole('button', { name: 'Release' }).click();
  await expect(staging).toHaveCount(0);
  await expect(lake.panel.locator(`[data-staging-id="${id}"]`)).toHaveCount(0);
  expect((await api.stagings()).map(s => s.id)).not.toContain(id);
  // ...and stays gone: later polls (every second here) do not bring it back.
  await page.waitForTimeout(4000);
  await expect(staging).toHaveCount(0);
});
