/**
 * Scenario 1: open the panel, search, browse a container down to a dataset's files; a scope
 * lists its collections before its files; a dataset says how many files it has.
 */
import { expect, shim, shot, siSize, test } from './fixtures';

test('the panel connects, finds demo:lofar* and browses down to file sizes', async ({
  page,
  request,
  lake
}) => {
  await shot(lake.panel, 'panel-connected.png');

  const tree = await lake.search('demo:lofar*');
  const container = lake.row('demo:lofar-obs');
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
  await shot(lake.panel, 'browse.png');
});

test('a scope lists its containers and datasets first, then its files, with counts', async ({
  lake
}) => {
  const tree = await lake.search('demo');
  const topLevel = tree.locator('.jp-datalake-row[aria-level="1"][data-did]');
  await expect(lake.row('demo:big-100k')).toBeVisible();
  // The first rows are collections: the containers and datasets of the scope, however many
  // files the scope has (demo:big-100k alone has 100,000).
  const types = await topLevel.evaluateAll(rows =>
    rows.map(r => r.getAttribute('data-type'))
  );
  const collections = await (
    await tree.page().request.get('/datalake/search', {
      params: { did: 'demo:*', type: 'collection', limit: '1000' }
    })
  ).json();
  const count = collections.items.length as number;
  expect(count).toBeGreaterThanOrEqual(5);
  expect(types.slice(0, count).every(t => t !== 'FILE')).toBeTruthy();
  // The dataset's row says how many files it holds, as people write numbers.
  await expect(
    lake.row('demo:big-100k').locator('.jp-datalake-row-size')
  ).toHaveText('100,000 files');
  // Then the files, once the list is scrolled to them.
  await tree.press('End');
  await expect
    .poll(
      async () =>
        (
          await topLevel.evaluateAll(rows =>
            rows.map(r => r.getAttribute('data-type'))
          )
        ).includes('FILE'),
      { timeout: 20000 }
    )
    .toBe(true);
});

test('names are cut in the middle, keeping the end that tells them apart', async ({
  lake
}) => {
  await lake.panel
    .getByRole('combobox', { name: 'DID type' })
    .selectOption('file');
  const tree = await lake.search('demo:lofar-obs-sb00*');
  const did = 'demo:lofar-obs-sb000.f0.h5';
  const name = lake.row(did).locator('.jp-datalake-row-name');
  await expect(name).toBeVisible();
  // The whole name is in the tooltip and in the DOM (screen readers read it whole).
  await expect(name).toHaveAttribute('title', did);
  await expect(name).toHaveText(did);
  // In the 250 px side panel the head gives way and the tail stays whole.
  const tail = name.locator('.jp-datalake-name-tail');
  await expect(tail).toHaveText('sb000.f0.h5');
  const head = name.locator('.jp-datalake-name-head');
  expect(
    await head.evaluate(h => (h as HTMLElement).scrollWidth > h.clientWidth)
  ).toBe(true);
  expect(
    await tail.evaluate(t => (t as HTMLElement).scrollWidth <= t.clientWidth)
  ).toBe(true);
  // Rows of the other files end differently, and each still shows its own end.
  const tails = await tree
    .locator('.jp-datalake-row[data-did] .jp-datalake-name-tail')
    .allTextContents();
  expect(new Set(tails).size).toBe(tails.length);
});
