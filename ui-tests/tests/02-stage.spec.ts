/**
 * Scenario 2: stage a dataset near the hub, watch it arrive, extend it, release it.
 */
import {
  SB001,
  expect,
  galata,
  openPanel,
  panel,
  row,
  search,
  shim,
  shot,
  test
} from './fixtures';

// "Extend" adds the default lifetime from now: 7 days, so the expiry visibly moves.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { defaultLifetime: '7d', pollInterval: 1 }
  }
});

test.afterEach(async ({ request }) => {
  await shim(request).releaseAll(SB001);
});

test('stage with FAST for 1 day, see it done, extend it, release it', async ({
  page,
  request
}) => {
  test.setTimeout(180000);
  const api = shim(request);
  await api.releaseAll(SB001);
  // Whether the copy has to travel: then the staging must go through a transfer.
  const nearHub = (await api.json('did', { did: SB001 })).near_hub.state;

  await openPanel(page);
  await search(page, SB001);
  await row(page, SB001).click();

  const form = panel(page).locator(
    `form.jp-datalake-stage[data-did="${SB001}"]`
  );
  await expect(form).toBeVisible();
  await form.getByRole('combobox', { name: 'QoS class' }).selectOption('FAST');
  await expect(form.locator('.jp-datalake-qos-description')).toHaveAttribute(
    'data-qos',
    'FAST'
  );
  await expect(form.locator('.jp-datalake-qos-description')).toContainText(
    'HUB-FAST'
  );
  const lifetime = form.getByRole('textbox', { name: 'Lifetime' });
  await expect(lifetime).toHaveValue('7d');
  await lifetime.fill('1d');
  await shot(panel(page), 'stage-form.png');

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

  // Other stagings of the same DID (other QoS classes) may be listed too.
  const staging = panel(page).locator(
    `li.jp-datalake-staging[data-staging-id="${id}"]`
  );
  await expect(staging).toHaveAttribute('data-did', SB001);
  await expect(staging).toBeVisible();
  const progress = staging.getByRole('progressbar', {
    name: `Staging progress of ${SB001}`
  });
  await expect(progress).toHaveAttribute('aria-valuetext', /of 4 files$/);

  // Watch the progress until it is done; it never goes back.
  const seen: number[] = [];
  const states = new Set<string>();
  await expect
    .poll(
      async () => {
        seen.push(Number(await progress.getAttribute('aria-valuenow')));
        states.add((await staging.getAttribute('data-state')) ?? '');
        if (seen.length === 2) {
          await shot(panel(page), 'staging-progress.png');
        }
        return seen[seen.length - 1];
      },
      { timeout: 90000, intervals: [500] }
    )
    .toBe(100);
  expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  await expect(staging).toHaveAttribute('data-state', 'OK');
  await expect(progress).toHaveAttribute('aria-valuetext', '4 of 4 files');
  await expect(staging.locator('.jp-datalake-staging-files')).toContainText(
    '4/4 files'
  );

  if (nearHub === 'NONE') {
    // The copy had to travel: the staging was in flight first, and its completion is notified.
    expect(seen[0]).toBeLessThan(100);
    expect(states.has('REPLICATING')).toBeTruthy();
    await expect(
      page.locator('.Toastify__toast', {
        hasText: `${SB001} is staged near the hub (FAST).`
      })
    ).toBeVisible({ timeout: 15000 });
  } else {
    test.info().annotations.push({
      type: 'note',
      description: `${SB001} was already near the hub (${nearHub}): no transfer to watch`
    });
  }

  // Its expiry: one day from now.
  const expiry = staging.locator('.jp-datalake-staging-expiry');
  await expect(expiry).toHaveText(/^expires in (1d|23h \d+m)$/);
  const before = Date.parse((await api.json(`stagings/${id}`)).expires_at);
  expect(before - Date.now()).toBeGreaterThan(23 * 3600e3);
  expect(before - Date.now()).toBeLessThanOrEqual(24 * 3600e3);
  await shot(panel(page), 'staging-done.png');

  // Extend: 7 days from now.
  await staging
    .getByRole('button', { name: `Extend staging of ${SB001}` })
    .click();
  await expect(expiry).toHaveText(/^expires in (7d|6d 23h)$/);
  const after = Date.parse((await api.json(`stagings/${id}`)).expires_at);
  expect(after - before).toBeGreaterThan(5 * 86400e3);

  // Release, after confirming: it disappears from the panel and from Rucio.
  await staging
    .getByRole('button', { name: `Release staging of ${SB001}` })
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(`Release the copy of ${SB001}`);
  await dialog.getByRole('button', { name: 'Release' }).click();
  await expect(staging).toHaveCount(0);
  expect((await api.stagings()).map(s => s.id)).not.toContain(id);
  // ...and stays gone: later polls (every second here) do not bring it back.
  await page.waitForTimeout(4000);
  await expect(staging).toHaveCount(0);
});
