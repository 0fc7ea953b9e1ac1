/**
 * Time from the click that opens demo:big-100k to its first file row on screen,
 * measured in the page (performance.now), median of 5. Writes
 * `{"panel_first_rows_ms": <median>}` to $BENCH_OUTPUT.
 */
import * as fs from 'fs';

import { expect, openPanel, panel, row, search, test } from '../tests/fixtures';

const BIG = 'demo:big-100k';
const RUNS = 5;

test('first rows of demo:big-100k', async ({ page }) => {
  test.setTimeout(180000);
  await openPanel(page);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // A fresh search each time: the dataset's children are not cached in the panel.
    await search(page, `${BIG}${i % 2 ? '*' : ''}`);
    const big = row(page, BIG);
    await expect(big).toBeVisible();
    await expect(big).toHaveAttribute('aria-expanded', 'false');
    const twisty = big.locator('.jp-datalake-twisty');
    const elapsed = await twisty.evaluate(
      node =>
        new Promise<number>((resolve, reject) => {
          const tree = node.closest('[role="tree"]')!;
          const first = () =>
            tree.querySelector('.jp-datalake-row[aria-level="2"][data-did]');
          const start = performance.now();
          const observer = new MutationObserver(() => {
            if (first()) {
              observer.disconnect();
              // The row is in the DOM; wait for it to be painted.
              requestAnimationFrame(() => resolve(performance.now() - start));
            }
          });
          observer.observe(tree, { childList: true, subtree: true });
          setTimeout(() => reject(new Error('no rows in 30 s')), 30000);
          (node as HTMLElement).click();
        })
    );
    await expect(
      panel(page).locator('.jp-datalake-row[aria-level="2"][data-did]').first()
    ).toBeVisible();
    times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`first rows of ${BIG}: ${times.map(Math.round).join(', ')} ms`);
  const out = process.env.BENCH_OUTPUT;
  if (out) {
    fs.writeFileSync(out, JSON.stringify({ panel_first_rows_ms: median }));
  }
});
