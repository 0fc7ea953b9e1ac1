/**
 * Scenario 7: the panel in the dark theme stays readable; the panel works from the keyboard.
 */
import type { Locator } from '@playwright/test';

import { expect, openPanel, panel, shot, test } from './fixtures';

/** WCAG contrast ratio of an element's text against the panel background. */
async function colours(text: Locator, background: Locator) {
  const fg = await text.evaluate(e => getComputedStyle(e).color);
  const bg = await background.evaluate(
    e => getComputedStyle(e).backgroundColor
  );
  const rgb = (css: string) =>
    css
      .match(/[\d.]+/g)!
      .slice(0, 3)
      .map(Number);
  const lum = (css: string) => {
    const [r, g, b] = rgb(css).map(v => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return { fg, bg, contrast: (l1 + 0.05) / (l2 + 0.05), bgLum: lum(bg) };
}

test('the dark theme changes the panel colours and keeps them readable', async ({
  page
}) => {
  await openPanel(page);
  const root = panel(page);
  const identity = root.locator('.jp-datalake-identity');
  const light = await colours(identity, root);
  expect(light.contrast).toBeGreaterThanOrEqual(4.5);

  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Dark'
    })
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-light',
    'false'
  );
  await expect
    .poll(async () => (await colours(identity, root)).bg)
    .not.toBe(light.bg);
  const dark = await colours(identity, root);
  expect(dark.fg).not.toBe(light.fg);
  expect(dark.bgLum).toBeLessThan(light.bgLum);
  expect(dark.contrast).toBeGreaterThanOrEqual(4.5);

  // The search field and the stage form controls too.
  const input = root.getByRole('searchbox', { name: 'DID pattern' });
  expect((await colours(input, input)).contrast).toBeGreaterThanOrEqual(4.5);
  await input.fill('demo:lofar*');
  await input.press('Enter');
  await expect(
    root.locator('.jp-datalake-row[data-did="demo:lofar-obs"]')
  ).toBeVisible();
  const name = root.locator('.jp-datalake-row-name').first();
  expect((await colours(name, root)).contrast).toBeGreaterThanOrEqual(4.5);
  await shot(root, 'dark-theme.png');

  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('apputils:change-theme', {
      theme: 'JupyterLab Light'
    })
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-light',
    'true'
  );
});

test('the panel works from the keyboard alone', async ({ page }) => {
  await openPanel(page);
  const root = panel(page);
  const input = root.getByRole('searchbox', { name: 'DID pattern' });
  await input.click();
  await expect(input).toBeFocused();
  await page.keyboard.type('demo:lofar-obs');
  await page.keyboard.press('Enter');

  const tree = root.getByRole('tree', { name: 'Search results' });
  const container = tree.locator('.jp-datalake-row[data-did="demo:lofar-obs"]');
  await expect(container).toBeVisible();

  // Tab through the form until the tree has the focus.
  for (let i = 0; i < 12; i++) {
    if (await tree.evaluate(t => t === document.activeElement)) {
      break;
    }
    await page.keyboard.press('Tab');
  }
  await expect(tree).toBeFocused();
  const activeDid = () =>
    tree.evaluate(t => {
      const id = t.getAttribute('aria-activedescendant');
      return id ? document.getElementById(id)?.getAttribute('data-did') : null;
    });
  expect(await activeDid()).toBe('demo:lofar-obs');

  // Right expands the container: its datasets appear.
  await expect(container).toHaveAttribute('aria-expanded', 'false');
  await page.keyboard.press('ArrowRight');
  await expect(container).toHaveAttribute('aria-expanded', 'true');
  await expect(tree.locator('.jp-datalake-row[aria-level="2"]')).toHaveCount(3);

  // Down moves to the first dataset, Enter shows its details.
  await page.keyboard.press('ArrowDown');
  await expect.poll(activeDid).toBe('demo:lofar-obs-sb000');
  await expect(tree.locator('.jp-datalake-row.jp-mod-active')).toHaveAttribute(
    'data-did',
    'demo:lofar-obs-sb000'
  );
  await page.keyboard.press('Enter');
  await expect(
    root.locator('.jp-datalake-details-body[data-did="demo:lofar-obs-sb000"]')
  ).toBeVisible();
  await expect(tree).toBeFocused();

  // Right expands the dataset: its four files.
  await page.keyboard.press('ArrowRight');
  await expect(tree.locator('.jp-datalake-row[aria-level="3"]')).toHaveCount(4);
  await page.keyboard.press('ArrowDown');
  await expect.poll(activeDid).toBe('demo:lofar-obs-sb000.f0.h5');
  // Left goes back to the parent, and Left again collapses it.
  await page.keyboard.press('ArrowLeft');
  await expect.poll(activeDid).toBe('demo:lofar-obs-sb000');
  await page.keyboard.press('ArrowLeft');
  await expect(tree.locator('.jp-datalake-row[aria-level="3"]')).toHaveCount(0);
});
