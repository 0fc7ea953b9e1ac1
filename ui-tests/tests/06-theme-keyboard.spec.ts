/**
 * Scenario 7: at home in JupyterLab — every text readable in both themes, the keyboard
 * alone is enough, a shortcut of its own, settings as proper fields, pages restored.
 */
import type { Locator, Page } from '@playwright/test';

import { SB001, expect, shim, shot, test } from './fixtures';

test.use({ viewport: { width: 1280, height: 800 } });

interface ITextColour {
  text: string;
  fg: string;
  bg: string;
  ratio: number;
  large: boolean;
}

/**
 * Every visible text under `roots` with its colour, the background it is painted on
 * (ancestors' backgrounds composed until opaque) and the WCAG contrast ratio.
 */
async function textColours(
  page: Page,
  roots: string[]
): Promise<ITextColour[]> {
  return page.evaluate(selectors => {
    const parse = (css: string): number[] => {
      const v = (css.match(/[\d.]+/g) ?? ['0', '0', '0', '0']).map(Number);
      return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top: number[], bottom: number[]): number[] => {
      const a = top[3];
      return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
    };
    const background = (el: Element | null): number[] => {
      const layers: number[][] = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] > 0) {
          layers.push(c);
          if (c[3] >= 1) {
            break;
          }
        }
      }
      let colour = [255, 255, 255, 1];
      for (const layer of layers.reverse()) {
        colour = over(layer, colour);
      }
      return colour;
    };
    const lum = (c: number[]) => {
      const [r, g, b] = c.slice(0, 3).map(v => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const out: ITextColour[] = [];
    for (const selector of selectors) {
      for (const root of Array.from(document.querySelectorAll(selector))) {
        const elements = [root, ...Array.from(root.querySelectorAll('*'))];
        for (const el of elements) {
          const style = getComputedStyle(el);
          const box = el.getBoundingClientRect();
          if (
            box.width === 0 ||
            box.height === 0 ||
            style.visibility === 'hidden' ||
            (el as HTMLButtonElement).disabled
          ) {
            continue;
          }
          const own = Array.from(el.childNodes)
            .filter(n => n.nodeType === Node.TEXT_NODE)
            .map(n => n.textContent ?? '')
            .join('')
            .trim();
          const value =
            el instanceof HTMLInputElement || el instanceof HTMLSelectElement
              ? el.value
              : '';
          const text = own || value;
          if (!text) {
            continue;
          }
          const bg = background(el);
          const fg = over(parse(style.color), bg);
          const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
          const size = parseFloat(style.fontSize);
          const bold = Number(style.fontWeight) >= 700;
          out.push({
            text: text.slice(0, 40),
            fg: style.color,
            bg: `rgb(${bg.slice(0, 3).map(Math.round).join(',')})`,
            ratio: (hi + 0.05) / (lo + 0.05),
            large: size >= 24 || (size >= 18.66 && bold)
          });
        }
      }
    }
    return out;
  }, roots);
}

async function setTheme(page: Page, theme: string, light: boolean) {
  await page.evaluate(
    t =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', {
        theme: t
      }),
    theme
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-light',
    String(light)
  );
}

test.describe('with a staging to show', () => {
  let id: string | null = null;
  test.beforeAll(async ({ request }) => {
    const staging = await shim(request).stage(SB001, 'FAST', 7200);
    id = staging.id;
    await shim(request).waitStaged(staging.id);
  });
  test.afterAll(async ({ request }) => {
    if (id) {
      await shim(request).release(id);
    }
  });

  test('every text of the panel, the DID page and the Stagings view passes WCAG AA in both themes', async ({
    page,
    lake
  }) => {
    test.setTimeout(120000);
    await lake.open(SB001);
    await lake.openStagings();
    // Results with a selected row, a DID page and the Stagings view side by side.
    const tree = await lake.search('demo:lofar*');
    await lake.row('demo:lofar-obs').click();
    await expect(lake.row('demo:lofar-obs')).toHaveClass(/jp-mod-selected/);
    await page.evaluate(() => {
      const app = (window as any).jupyterapp;
      app.shell.activateById('jp-datalake-stagings-view');
    });
    await page.evaluate(() => {
      // DID page and Stagings view side by side in the main area.
      const app = (window as any).jupyterapp;
      const did = Array.from(app.shell.widgets('main')).find((w: any) =>
        w.id.startsWith('jp-datalake-did-')
      ) as any;
      app.shell.add(did, 'main', { mode: 'split-right' });
    });
    await expect(tree).toBeVisible();
    const roots = [
      '#jp-datalake-panel',
      '.jp-datalake-didpage',
      '.jp-datalake-stagingsview'
    ];
    for (const [theme, light] of [
      ['JupyterLab Light', true],
      ['JupyterLab Dark', false]
    ] as const) {
      await setTheme(page, theme, light);
      await expect(lake.didPage(SB001)).toBeVisible();
      await page.waitForTimeout(500); // the theme's stylesheet applies
      const texts = await textColours(page, roots);
      // The selected row is among them, and the didpage and view too.
      expect(texts.length).toBeGreaterThan(40);
      expect(texts.some(t => t.text === 'demo:lofar-')).toBe(true);
      const failures = texts.filter(t => t.ratio < (t.large ? 3 : 4.5));
      test.info().annotations.push({
        type: `contrast (${theme})`,
        description: `${texts.length} texts, lowest ratio ${Math.min(...texts.map(t => t.ratio)).toFixed(2)}`
      });
      expect(failures, `${theme}: ${JSON.stringify(failures)}`).toEqual([]);
      if (!light) {
        await shot(page, 'dark-theme.png');
      }
    }
    await setTheme(page, 'JupyterLab Light', true);
  });
});

test('the panel works from the keyboard alone, with one tab stop in the tree', async ({
  page,
  lake
}) => {
  const root = lake.panel;
  const input = root.getByRole('searchbox', { name: 'DID pattern' });
  await input.click();
  await page.keyboard.type('demo:lofar-obs');
  await page.keyboard.press('Enter');
  const tree = root.getByRole('tree', { name: 'Search results' });
  const container = lake.row('demo:lofar-obs');
  await expect(container).toBeVisible();

  // Tab through the form until the keyboard is in the tree: on its first row.
  for (let i = 0; i < 12; i++) {
    if (await tree.evaluate(t => t.contains(document.activeElement))) {
      break;
    }
    await page.keyboard.press('Tab');
  }
  await expect(container).toBeFocused();
  // The tree is one tab stop: Tab leaves it (neither the tree nor its scroller stop it).
  await page.keyboard.press('Tab');
  expect(await tree.evaluate(t => t.contains(document.activeElement))).toBe(
    false
  );
  await page.keyboard.press('Shift+Tab');
  await expect(container).toBeFocused();

  // Right expands the container: its datasets appear.
  await expect(container).toHaveAttribute('aria-expanded', 'false');
  await page.keyboard.press('ArrowRight');
  await expect(container).toHaveAttribute('aria-expanded', 'true');
  await expect(tree.locator('.jp-datalake-row[aria-level="2"]')).toHaveCount(3);

  // Down moves the focus to the first dataset.
  await page.keyboard.press('ArrowDown');
  const sb000 = lake.row('demo:lofar-obs-sb000');
  await expect(sb000).toBeFocused();

  // Shift+F10 opens the row's full menu; Escape closes it.
  await page.keyboard.press('Shift+F10');
  const menu = page.locator('.lm-Menu.jp-ThemedContainer, .lm-Menu').last();
  await expect(menu).toBeVisible();
  for (const item of [
    'Open',
    'Copy DID',
    'Stage Near the Hub',
    'Attach to Notebook'
  ]) {
    await expect(
      menu.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${item}$`) })
    ).toHaveCount(1);
  }
  // Copy from the menu says so.
  await menu.locator('.lm-Menu-item', { hasText: 'Copy DID' }).click();
  await expect(
    page.locator('.Toastify__toast', { hasText: 'Copied demo:lofar-obs-sb000' })
  ).toBeVisible();

  // Enter opens the dataset's page in the main area.
  await sb000.focus();
  await page.keyboard.press('Enter');
  await expect(lake.didPage('demo:lofar-obs-sb000')).toBeVisible();

  // Right expands the dataset: its four files; Left back to it, Left again collapses.
  await sb000.focus();
  await page.keyboard.press('ArrowRight');
  await expect(tree.locator('.jp-datalake-row[aria-level="3"]')).toHaveCount(4);
  await page.keyboard.press('ArrowDown');
  await expect(lake.row('demo:lofar-obs-sb000.f0.h5')).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(sb000).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(tree.locator('.jp-datalake-row[aria-level="3"]')).toHaveCount(0);
});

test('a shortcut of its own; opening the panel or "Search the Data Lake" puts the keyboard in it', async ({
  page,
  lake
}) => {
  // Read every key binding of the running JupyterLab: ours collides with none.
  const bindings = await page.evaluate(() =>
    (window as any).jupyterapp.commands.keyBindings.map((b: any) => ({
      command: b.command,
      keys: b.keys.join(' ')
    }))
  );
  const ours = bindings.filter(
    (b: { command: string }) => b.command === 'datalake:open-panel'
  );
  expect(ours).toHaveLength(1);
  const same = bindings.filter(
    (b: { command: string; keys: string }) =>
      b.keys === ours[0].keys && b.command !== 'datalake:open-panel'
  );
  expect(same).toEqual([]);
  expect(bindings.length).toBeGreaterThan(100);
  // JupyterLab's New Launcher keeps Accel+Shift+L.
  expect(
    bindings.some(
      (b: { command: string; keys: string }) =>
        /^(Accel|Ctrl) Shift L$/.test(b.keys) && b.command === 'launcher:create'
    )
  ).toBe(true);

  // Close the panel, then the shortcut opens it with the keyboard in the search box.
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('application:toggle-left-area')
  );
  await expect(lake.panel).toBeHidden();
  await page.locator('#jp-main-dock-panel').click();
  await page.keyboard.press('Alt+Shift+L');
  await expect(lake.panel).toBeVisible();
  const input = lake.panel.getByRole('searchbox', { name: 'DID pattern' });
  await expect(input).toBeFocused();

  // "Search the Data Lake" from the palette-level command: the search box again.
  await page.locator('#jp-main-dock-panel').click();
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('datalake:search')
  );
  await expect(input).toBeFocused();
});

test('the Settings Editor offers durations and the server QoS classes as choices', async ({
  page,
  lake
}) => {
  await expect(lake.panel.locator('.jp-datalake-identity')).toBeVisible();
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('settingeditor:open', {
      query: 'Data lake'
    })
  );
  const editor = page.locator('.jp-SettingsPanel');
  await editor.getByText('Data lake', { exact: true }).first().click();
  // The innermost block holding the field's title holds its input.
  const field = (title: string): Locator =>
    editor
      .locator('div', {
        has: page.getByRole('heading', { name: title, exact: true, level: 3 })
      })
      .last()
      .getByRole('combobox');
  const lifetime = field('Default lifetime');
  await expect(lifetime).toBeVisible();
  const lifetimes = await lifetime
    .locator('option')
    .evaluateAll(all => all.map(o => o.textContent));
  expect(lifetimes).toEqual(
    expect.arrayContaining(['1 hour', '1 day', '1 week'])
  );
  const qos = field('Default QoS class');
  await expect(qos).toBeVisible();
  const classes = await qos
    .locator('option')
    .evaluateAll(all => all.map(o => o.textContent ?? ''));
  for (const name of ['FAST', 'CHEAP-ANALYSIS', 'SAFE', 'OPPORTUNISTIC']) {
    expect(classes.some(c => c.startsWith(name))).toBe(true);
  }
  expect(classes.some(c => /option \d/i.test(c))).toBe(false);
});

test('DID pages and the Stagings view come back after a reload', async ({
  page,
  lake
}) => {
  await lake.open(SB001);
  await lake.openStagings();
  // The layout is saved after a short debounce.
  await page.waitForTimeout(2000);
  // Load the page again, without galata's "?reset" of the workspace.
  await page.evaluate(() => window.location.assign(window.location.pathname));
  await page.waitForLoadState('load');
  const didTab = page.locator('#jp-main-dock-panel .lm-TabBar-tab', {
    hasText: 'demo:lofar-obs-sb001'
  });
  await expect(didTab).toHaveCount(1, { timeout: 60000 });
  await expect(
    page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Stagings' })
  ).toHaveCount(1);
  await didTab.click();
  await expect(
    lake.didPage(SB001).locator('.jp-datalake-near-hub')
  ).toBeVisible();
});
