/**
 * Scenario 6: the stage form only offers the configured QoS classes; with Rucio down the
 * panel says so, and recovers when Rucio is back.
 */
import {
  QOS_CLASSES,
  SB001,
  expect,
  openPanel,
  panel,
  row,
  search,
  shim,
  test
} from './fixtures';

test('the QoS choice is always one of the configured classes', async ({
  page,
  request
}) => {
  const configured = (await shim(request).json('qos')).classes.map(
    (c: { name: string }) => c.name
  );
  expect(configured).toEqual(QOS_CLASSES);

  await openPanel(page);
  await search(page, SB001);
  await row(page, SB001).click();
  const form = panel(page).locator(
    `form.jp-datalake-stage[data-did="${SB001}"]`
  );
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

test('with Rucio down the panel says so and recovers', async ({
  page,
  rucio
}) => {
  test.setTimeout(180000);
  await openPanel(page);
  try {
    await rucio.close();
    await search(page, 'demo:lofar*');
    const alert = panel(page).getByRole('alert').first();
    await expect(alert).toBeVisible({ timeout: 90000 });
    await expect(alert).toContainText(/Rucio/);
    await expect(alert.locator('.jp-datalake-error-reason')).toHaveText(
      /^Reason: RUCIO_\w+ \(HTTP 50\d\)$/
    );
    await expect(row(page, 'demo:lofar-obs')).toHaveCount(0);
  } finally {
    await rucio.open();
  }
  await search(page, 'demo:lofar*');
  await expect(row(page, 'demo:lofar-obs')).toBeVisible({ timeout: 60000 });
  await expect(
    panel(page).locator('.jp-datalake-find').getByRole('alert')
  ).toHaveCount(0);
  await expect(panel(page).locator('.jp-datalake-identity')).toHaveText(
    'alice @ testbed'
  );
});
