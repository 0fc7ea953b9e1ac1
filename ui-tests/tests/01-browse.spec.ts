/**
 * Scenario 1: open the panel, search, browse a container down to a dataset's files.
 */
import {
  expect,
  openPanel,
  panel,
  row,
  search,
  shim,
  shot,
  siSize,
  test
} from './fixtures';

test('the panel connects, finds demo:lofar* and browses down to file sizes', async ({
  page,
  request
}) => {
  await openPanel(page);
  await shot(panel(page), 'panel-connected.png');

  await search(page, 'demo:lofar*');
  const tree = panel(page).getByRole('tree', { name: 'Search results' });
  const container = row(page, 'demo:lofar-obs');
  await expect(container).toBeVisible();
  await expect(container).toHaveAttribute('data-type', 'CONTAINER');
  // Every top-level result matches the pattern.
  const topLevel = tree.locator('.jp-datalake-row[aria-level="1"][data-did]');
  for (const did of await topLevel.evaluateAll(rows =>
    rows.map(r => r.getAttribute('data-did'))
  )) {
    expect(did).toMatch(/^demo:lofar/);
  }

  // Open the container: its three datasets, one level down.
  await expect(container).toHaveAttribute('aria-expanded', 'false');
  await container.locator('.jp-datalake-twisty').click();
  await expect(container).toHaveAttribute('aria-expanded', 'true');
  const datasets = tree.locator('.jp-datalake-row[aria-level="2"][data-did]');
  await expect(datasets).toHaveCount(3);
  expect(
    await datasets.evaluateAll(rows => rows.map(r => r.dataset.type))
  ).toEqual(['DATASET', 'DATASET', 'DATASET']);
  expect(
    await datasets.evaluateAll(rows =>
      rows.map(r => r.getAttribute('data-did'))
    )
  ).toEqual([
    'demo:lofar-obs-sb000',
    'demo:lofar-obs-sb001',
    'demo:lofar-obs-sb002'
  ]);
  // Open a dataset: its four files, each with the size Rucio knows.
  const dataset = tree.locator(
    '.jp-datalake-row[aria-level="2"][data-did="demo:lofar-obs-sb001"]'
  );
  await dataset.locator('.jp-datalake-twisty').click();
  const files = tree.locator('.jp-datalake-row[aria-level="3"][data-did]');
  await expect(files).toHaveCount(4);
  expect(
    await files.evaluateAll(rows => rows.map(r => r.dataset.type))
  ).toEqual(['FILE', 'FILE', 'FILE', 'FILE']);
  const expected = (
    await shim(request).json('did/files', { did: 'demo:lofar-obs-sb001' })
  ).items as { did: string; name: string; bytes: number }[];
  expect(expected).toHaveLength(4);
  for (const file of expected) {
    const fileRow = files.and(page.locator(`[data-did="${file.did}"]`));
    await expect(fileRow.locator('.jp-datalake-row-name')).toHaveText(
      file.name
    );
    await expect(fileRow.locator('.jp-datalake-row-size')).toHaveText(
      siSize(file.bytes)
    );
  }
  await shot(panel(page), 'browse.png');
});
