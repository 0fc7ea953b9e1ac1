/**
 * Scenarios 3 and 4: drag a staged dataset into a notebook and use its local paths;
 * attach a DID to a notebook and find the variable bound again after a kernel restart.
 */
import * as fs from 'fs';
import * as path from 'path';

import {
  SB001,
  STORAGE,
  expect,
  openPanel,
  panel,
  row,
  search,
  shim,
  shot,
  test
} from './fixtures';

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
  request
}) => {
  await page.notebook.createNew('drop.ipynb');
  await openPanel(page);
  await search(page, SB001);
  const source = row(page, SB001);
  await expect(source).toBeVisible();

  const cells = page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell');
  await expect(cells).toHaveCount(1);
  await source.dragTo(cells.first());
  await expect(cells).toHaveCount(2);
  const dropped = cells.filter({ hasText: '%datalake paths' });
  await expect(dropped).toHaveCount(1);
  await expect(dropped.locator('.jp-InputArea-editor')).toHaveText(
    `lofar_obs_sb001 = %datalake paths ${SB001}`
  );

  // Run the dropped cell, then list the paths and read the files' sizes.
  const index = await cells.evaluateAll(all =>
    all.findIndex(c => c.textContent?.includes('%datalake paths'))
  );
  await page.notebook.runCell(index, true);
  await page.notebook.addCell(
    'code',
    'import os\nfor p in lofar_obs_sb001:\n    print(p, os.path.getsize(p))'
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

test('an attached DID is bound again after a kernel restart', async ({
  page
}) => {
  await page.notebook.createNew('attach.ipynb');
  await openPanel(page);
  await search(page, SB001);
  await row(page, SB001).click();
  const details = panel(page).locator(
    `.jp-datalake-details-body[data-did="${SB001}"]`
  );
  const attach = details.getByRole('button', { name: 'Attach to notebook' });
  await expect(attach).toBeEnabled();
  await attach.click();
  const label = page.locator(
    '.jp-NotebookPanel .jp-datalake-attachments-label'
  );
  await expect(label).toHaveAttribute('data-state', 'bound', {
    timeout: 60000
  });
  await expect(label).toHaveText('1 DID attached');

  await page.notebook.setCell(
    0,
    'code',
    'marker = 1\nprint(len(lofar_obs_sb001), lofar_obs_sb001.did)'
  );
  await page.notebook.runCell(0, true);
  expect((await page.notebook.getCellTextOutput(0))?.join('').trim()).toBe(
    `4 ${SB001}`
  );

  // Restart the kernel: a fresh namespace (no marker), lofar_obs_sb001 bound again.
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
    "print('marker' in globals(), len(lofar_obs_sb001), lofar_obs_sb001.did)"
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
});
