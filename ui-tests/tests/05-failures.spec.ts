/**
 * Scenario 6: the stage form only offers the configured QoS classes; with Rucio down the
 * panel and the DID page say so, and recover by themselves when Rucio is back.
 */
import { QOS_CLASSES, SB001, expect, galata, shim, test } from './fixtures';

// Polls every second, so that recovery shows within seconds.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { pollInterval: 1 }
  }
});

test('the QoS choice is always one of the configured classes', async ({
  request,
  lake
}) => {
  const configured = (await shim(request).json('qos')).classes.map(
    (c: { name: string }) => c.name
  );
  expect(configured).toEqual(QOS_CLASSES);

  const page = await lake.open(SB001);
  const form = page.locator(`form.jp-datalake-stage[data-did="${SB001}"]`);
  const select = form.getByRole('combobox', { name: 'QoS class' });
  const options = await select
    .locator('option')
    .evaluateAll(all => all.map(o => (o as HTMLOptionElement).value));
  expect(options).toEqual(QOS_CLASSES);
  // Something is always chosen, and nothing else can be chosen.
  expect(QOS_CLASSES).toContain(await select.inputValue());
  await expect(select.locator('option[value=""]')).toHaveCount(0);

  const stage = form.getByRole('button', { name: 'Stage near the hub' });
  const lifetime = form.getByRole('textbox', { name: 'Lifetime' });
  await expect(stage).toBeEnabled();
  for (const bad of ['', 'soon', '0', '-1d']) {
    await lifetime.fill(bad);
    await expect(lifetime).toHaveAttribute('aria-invalid', 'true');
    await expect(stage).toBeDisabled();
  }
  await lifetime.fill('12h');
  await expect(stage).toBeEnabled();
});

test('with Rucio down the panel and the DID page say so, and recover by themselves', async ({
  rucio,
  lake
}) => {
  test.setTimeout(180000);
  const page = await lake.open(SB001);
  await expect(page.locator('.jp-datalake-near-hub')).toBeVisible();
  try {
    await rucio.close();
    await lake.search('demo:lofar*');
    // The search results say it in place of rows, announced as an alert, with Rucio's reason.
    const failed = lake.panel.locator('.jp-datalake-row-error');
    await expect(failed).toBeVisible({ timeout: 90000 });
    await expect(failed).toHaveAttribute('data-reason', /^RUCIO_\w+$/);
    await expect(failed.getByRole('alert')).toContainText(/Rucio/);
    await expect(lake.row('demo:lofar-obs')).toHaveCount(0);
    // The DID page read during the outage shows the error in place of what it cannot know.
    await page.getByRole('button', { name: `Reload ${SB001}` }).click();
    await expect(page.getByRole('alert').first()).toBeVisible({
      timeout: 90000
    });
    await expect(page.locator('.jp-datalake-near-hub')).toHaveCount(0);
  } finally {
    await rucio.open();
  }
  // Nobody clicks anything: the page reads again by itself (and the next stagings poll that
  // finds Rucio back, without broker events) and shows the details.
  await expect(page.getByRole('alert')).toHaveCount(0, { timeout: 60000 });
  await expect(page.locator('.jp-datalake-near-hub')).toBeVisible();

  await lake.search('demo:lofar*');
  await expect(lake.row('demo:lofar-obs')).toBeVisible({ timeout: 60000 });
  await expect(
    lake.panel.locator('.jp-datalake-find').getByRole('alert')
  ).toHaveCount(0);
  await expect(lake.panel.locator('.jp-datalake-identity')).toHaveText(
    'alice @ testbed'
  );
});
