/**
 * Scenario 5: a 100,000-file dataset shows its first rows fast and scrolls to the end,
 * with only a few rows in the DOM.
 */
import { expect, galata, test } from './fixtures';

const BIG = 'demo:big-100k';
const LAST = 'big-100k.f099999';

// Pages of 1000 rows (the largest the settings allow): 100 pages to reach the end.
test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { pageSize: 1000 }
  }
});

test('scroll demo:big-100k from the first rows to the last file', async ({
  lake
}) => {
  test.setTimeout(120000);
  const tree = await lake.search(BIG);
  const big = lake.row(BIG);
  await expect(big).toBeVisible();

  const files = tree.locator('.jp-datalake-row[aria-level="2"][data-did]');
  const started = Date.now();
  await big.locator('.jp-datalake-twisty').click();
  await expect(files.first()).toBeVisible({ timeout: 10000 });
  const firstRowsMs = Date.now() - started;
  test.info().annotations.push({
    type: 'first rows',
    description: `${firstRowsMs} ms`
  });
  expect(firstRowsMs).toBeLessThan(5000);
  await expect(files.first()).toHaveAttribute(
    'data-did',
    'demo:big-100k.f000000'
  );

  // Keyboard End, page after page: End shows the "more" row, which loads the next page.
  // The tree counts its rows (the dataset, the files loaded, a "more" row while incomplete),
  // so each End must make it grow until all 100,000 files are there.
  const rowCount = async () =>
    Number(await tree.getAttribute('data-row-count'));
  await big.click();
  // The dataset's row has the focus (roving tabindex): End goes from there.
  await expect(big).toBeFocused();
  const last = tree.locator(`.jp-datalake-row[data-did="demo:${LAST}"]`);
  for (
    let loaded = await rowCount();
    loaded < 100002;
    loaded = await rowCount()
  ) {
    await tree.page().keyboard.press('End');
    await expect.poll(rowCount, { timeout: 10000 }).toBeGreaterThan(loaded);
  }
  await tree.page().keyboard.press('End');
  await expect(last).toBeVisible();
  await expect(last.locator('.jp-datalake-row-name')).toHaveText(LAST);
  await expect(tree).toHaveAttribute('data-row-count', '100002');
  await expect(tree.locator('.jp-datalake-row-more')).toHaveCount(0);
  // Virtualized: a few dozen rows in the DOM, not 100,000.
  expect(await tree.getByRole('treeitem').count()).toBeLessThan(100);
});

test('jump to the last file of demo:big-100k, back, and sort it by name', async ({
  lake
}) => {
  test.setTimeout(60000);
  const tree = await lake.search(BIG);
  const big = lake.row(BIG);
  await expect(big).toBeVisible();
  const files = tree.locator('.jp-datalake-row[aria-level="2"][data-did]');
  const bar = tree.locator('.jp-datalake-listbar');
  const last = tree.locator(`.jp-datalake-row[data-did="demo:${LAST}"]`);

  // From the click that opens the dataset to its last file on screen (how fast: the panel
  // benchmark, ui-tests/bench/).
  await big.locator('.jp-datalake-twisty').click();
  await bar.getByRole('button', { name: 'Last' }).click();
  await expect(last).toBeVisible({ timeout: 30000 });
  await expect(last).toHaveClass(/jp-mod-active/);
  await expect(last.locator('.jp-datalake-row-name')).toHaveText(LAST);
  // The count Rucio's listing gave, and the rows before the last page on demand.
  await expect(tree.locator('.jp-datalake-row-more')).toHaveCount(0);

  // Ctrl+Home: the first file again, with the bar that says how many there are.
  await last.click();
  await tree.page().keyboard.press('Control+Home');
  await expect(files.first()).toHaveAttribute(
    'data-did',
    'demo:big-100k.f000000'
  );
  await expect(bar.locator('.jp-datalake-listbar-count')).toHaveText(
    '100,000 files'
  );

  // Go to row 12,346: that file is the active row.
  const goTo = bar.getByRole('spinbutton', { name: 'Go to row' });
  await goTo.fill('12346');
  await goTo.press('Enter');
  await expect(
    tree.locator('.jp-datalake-row.jp-mod-active[data-did]')
  ).toHaveAttribute('data-did', 'demo:big-100k.f012345');

  // Sorted by name, from the end: still the last file; by size: all are 200 MiB, Rucio
  // breaks the tie in its own order, so the first row is the first file.
  await bar.getByRole('combobox', { name: 'Sort' }).selectOption('name');
  await expect(files.first()).toHaveAttribute(
    'data-did',
    'demo:big-100k.f000000'
  );
  await tree.page().keyboard.press('Control+End');
  await expect(last).toBeVisible();
});
