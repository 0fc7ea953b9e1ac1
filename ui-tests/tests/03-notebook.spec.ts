/**
 * Scenarios 3 and 4: drag a staged dataset into a notebook and use its local paths;
 * attach a DID to a notebook, find the variable bound again after a kernel restart, detach
 * it; a placeholder is shown as "waiting for data", never as "attached".
 */
import * as fs from 'fs';
import * as path from 'path';

import { SB001, STORAGE, expect, shim, shot, test } from './fixtures';

/** Staged in the test below with a delayed start: its copy stays queued. */
const SB002 = 'demo:lofar-obs-sb002';

let stagingId: string | null = null;

test.beforeAll(async ({ request }) => {
  // Both scenarios need the dataset near the hub, on HUB-FAST.
  const api = shim(request);
  const staging = await api.stage(SB001, 'FAST', 3600);
  stagingId = staging.id;
  await api.waitStaged(staging.id);
});

test.afterAll(async ({ request }) => {
  if (stagingId) {
    await shim(request).release(stagingId);
  }
});

test.describe.configure({ timeout: 180000 });

test('drag a dataset into a notebook: a cell with its local paths', async ({
  page,
  request,
  lake
}) => {
  await page.notebook.createNew('drop.ipynb');
  await lake.search(SB001);
  const source = lake.row(SB001);
  await expect(source).toBeVisible();

  const cells = page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell');
  await expect(cells).toHaveCount(1);
  await source.dragTo(cells.first());
  await expect(cells).toHaveCount(2);
  const dropped = cells.filter({ hasText: '%datalake paths' });
  await expect(dropped).toHaveCount(1);
  // The variable is named after the DID (the rule lives in src/names.ts).
  const variable = 'lofar_obs_sb001';
  await expect(dropped.locator('.jp-InputArea-editor')).toHaveText(
    `${variable} = %datalake paths ${SB001}`
  );

  // Run the dropped cell, then list the paths and read the files' sizes.
  const index = await cells.evaluateAll(all =>
    all.findIndex(c => c.textContent?.includes('%datalake paths'))
  );
  await page.notebook.runCell(index, true);
  await page.notebook.addCell(
    'code',
    `import os\nfor p in ${variable}:\n    print(p, os.path.getsize(p))`
  );
  const last = (await page.notebook.getCellCount()) - 1;
  await page.notebook.runCell(last, true);
  const output = (await page.notebook.getCellTextOutput(last))?.join('') ?? '';
  const lines = output.trim().split('\n');
  expect(lines).toHaveLength(4);

  const files = (await shim(request).json('did/files', { did: SB001 }))
    .items as { name: string; bytes: number }[];
  const fast = path.join(STORAGE, 'HUB-FAST') + path.sep;
  for (const line of lines) {
    const [file, size] = line.split(' ');
    expect(file.startsWith(fast)).toBeTruthy();
    expect(fs.existsSync(file)).toBeTruthy();
    const known = files.find(f => path.basename(file) === f.name);
    expect(known, `${file} is a file of ${SB001}`).toBeTruthy();
    // The kernel reads the size Rucio (and the panel) shows, and the disk agrees.
    expect(Number(size)).toBe(known!.bytes);
    expect(fs.statSync(file).size).toBe(known!.bytes);
  }
  await shot(page.locator('.jp-NotebookPanel'), 'notebook-paths.png');
});

test('the progress line in a notebook has its own readable style', async ({
  page
}) => {
  await page.notebook.createNew('progress.ipynb');
  await page.notebook.setCell(
    0,
    'code',
    `from jupyterlab_datalake import datalake\ndatalake.status("${SB001}").progress()`
  );
  await page.notebook.runCell(0, true);
  const line = page.locator('.jp-OutputArea-output .jp-datalake-progress');
  await expect(line).toBeVisible();
  await expect(line).toContainText('100%');
  const style = await line.evaluate(node => {
    const box = node.getBoundingClientRect();
    const bar = node.querySelector('progress')!.getBoundingClientRect();
    const text = getComputedStyle(node);
    return {
      height: box.height,
      bar: bar.width,
      overflow: node.scrollHeight > box.height + 1,
      fontSize: parseFloat(text.fontSize)
    };
  });
  // A line of text, not the panel's 4 px bar: the text fits and the bar is visible.
  expect(style.height).toBeGreaterThanOrEqual(style.fontSize);
  expect(style.overflow).toBe(false);
  expect(style.bar).toBeGreaterThanOrEqual(100);
});

test('an attached DID is bound again after a kernel restart, and can be detached', async ({
  page,
  lake
}) => {
  await page.notebook.createNew('attach.ipynb');
  // The notebook stays the one to attach to while the DID page is in front.
  const didPage = await lake.open(SB001);
  const attach = didPage.getByRole('button', { name: 'Attach to notebook' });
  await expect(attach).toBeEnabled();
  await attach.click();
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'attach.ipynb' })
    .click();
  const label = page.locator(
    '.jp-NotebookPanel .jp-datalake-attachments-label'
  );
  await expect(label).toHaveAttribute('data-state', 'bound', {
    timeout: 60000
  });
  await expect(label).toHaveText('1 DID attached');
  const variable = (await label.getAttribute('title'))!.split(' = ')[0];

  await page.notebook.setCell(
    0,
    'code',
    `marker = 1\nprint(len(${variable}), ${variable}.did)`
  );
  await page.notebook.runCell(0, true);
  expect((await page.notebook.getCellTextOutput(0))?.join('').trim()).toBe(
    `4 ${SB001}`
  );

  // Restart the kernel: a fresh namespace (no marker), the variable bound again.
  // Not awaited in the page: the command waits for the dialog answered below.
  await page.evaluate(() => {
    void (window as any).jupyterapp.commands.execute('notebook:restart-kernel');
  });
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Confirm Kernel Restart' })
    .click();
  await page.notebook.setCell(
    0,
    'code',
    `print('marker' in globals(), len(${variable}), ${variable}.did)`
  );
  await expect
    .poll(
      async () => {
        await page.notebook.runCell(0, true);
        return (await page.notebook.getCellTextOutput(0))?.join('').trim();
      },
      { timeout: 60000, intervals: [2000] }
    )
    .toBe(`False 4 ${SB001}`);
  // The toolbar says so too.
  await expect(label).toHaveAttribute('data-state', 'bound');

  // Detach from the toolbar's menu: the notebook forgets it.
  await label.click();
  const item = page.locator('.jp-datalake-attachments-menu .lm-Menu-item', {
    hasText: `Detach ${variable}`
  });
  await item.click();
  await expect(label).toHaveCount(0);
  await expect(
    page.locator('.Toastify__toast', { hasText: `${SB001} is detached` })
  ).toBeVisible();
  const metadata = await page.evaluate(
    () =>
      (window as any).jupyterapp.shell.currentWidget.model.getMetadata(
        'datalake_attachments'
      ) ?? null
  );
  expect(metadata).toBeNull();
});

test('a placeholder says "waiting for data", and a delayed staging says "Queued"', async ({
  page,
  request,
  lake
}) => {
  const api = shim(request);
  for (const s of await api.stagings()) {
    if (s.did === SB002) {
      await api.release(s.id);
    }
  }
  const near = (await api.json('did', { did: SB002 })).near_hub.state;
  // A rule released by an earlier run may still be listed (REPLICATING), but no file is there.
  test.skip(
    near === 'AVAILABLE' || near === 'PARTIAL',
    `${SB002} is already near the hub (${near}) from an earlier run`
  );
  // Starts in an hour: Rucio keeps the rule in INJECT until then.
  const response = await request.post('/datalake/stagings', {
    data: {
      dids: [SB002],
      qos: 'CHEAP-ANALYSIS',
      lifetime: 7200,
      start_in: 3600
    }
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  const queued = (await response.json()).stagings[0].id as string;
  try {
    // The panel's list says "Queued", with INJECT in the tooltip.
    const item = lake.panel.locator(
      `.jp-datalake-staging[data-staging-id="${queued}"]`
    );
    await lake.panel.getByRole('button', { name: 'Refresh stagings' }).click();
    const state = item.locator('.jp-datalake-state');
    await expect(state).toHaveText(/^Queued/);
    await expect(state).toHaveAttribute('data-raw-state', 'INJECT');
    await expect(state).toHaveAttribute('title', /^Rucio state INJECT: /);

    // Attached, the kernel holds a placeholder: the toolbar does not call it attached.
    await page.notebook.createNew('placeholder.ipynb');
    await page.evaluate(
      did =>
        (window as any).jupyterapp.commands.execute('datalake:attach-did', {
          did
        }),
      SB002
    );
    const label = page.locator(
      '.jp-NotebookPanel .jp-datalake-attachments-label'
    );
    await expect(label).toHaveAttribute('data-state', 'waiting', {
      timeout: 60000
    });
    await expect(label).toHaveText(/: waiting for data \(0%\)$/);
    await expect(label).not.toContainText('attached');
  } finally {
    await api.release(queued);
  }
});
