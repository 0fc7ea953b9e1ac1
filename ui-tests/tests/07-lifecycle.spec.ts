/**
 * Scenario 7, the other half of the lifecycle: upload a file from JupyterLab's file browser
 * with a QoS class (progress in the panel), verify its copy and move it to another QoS class
 * from the panel, and find a corrupted copy and report it.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { APIRequestContext, Page } from '@playwright/test';

import { STORAGE, expect, test } from './fixtures';

const SCOPE = 'user.alice';

function unique(stem: string): string {
  return `${stem}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.txt`;
}

/** A text file of about 200 kB in the server's root directory. */
async function makeFile(page: { contents: any }, name: string): Promise<void> {
  const line = `${name} ${'x'.repeat(90)}\n`;
  expect(
    await page.contents.uploadContent(line.repeat(2000), 'text', name)
  ).toBe(true);
}

async function uploadedDid(request: APIRequestContext, did: string) {
  const response = await request.get('/datalake/did', { params: { did } });
  return response.ok() ? response.json() : null;
}

/** Open a staging row's context menu in the panel's "My stagings" and pick an item. */
async function stagingMenu(page: Page, did: string, item: string) {
  const row = page.locator(
    `#jp-datalake-panel .jp-datalake-staging[data-did="${did}"]`
  );
  await expect(row).toBeVisible({ timeout: 60000 });
  await row.click({ button: 'right' });
  await page.getByRole('menuitem', { name: item }).click();
}

test('upload from the file browser, verify the copy, move it to CHEAP-ANALYSIS', async ({
  page,
  request,
  lake,
  tmpPath
}) => {
  test.setTimeout(240000);
  const name = unique('result');
  const did = `${SCOPE}:${name}`;
  // galata opens the file browser in the test's own directory
  await makeFile(page, `${tmpPath}/${name}`);
  await page.sidebar.openTab('filebrowser');
  await page.filebrowser.refresh();

  // When: the file's context menu in the file browser
  const item = page.locator('.jp-DirListing-item', { hasText: name });
  await item.click();
  await item.click({ button: 'right' });
  await page
    .getByRole('menuitem', { name: 'Upload to the Data Lake…' })
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-datalake-upload-to')).toHaveValue(SCOPE);
  await dialog.locator('.jp-datalake-upload-qos').selectOption('FAST');
  await dialog.getByRole('button', { name: 'Upload' }).click();

  // Then: the panel shows the upload done, and Rucio has the file with its size
  const upload = lake.panel.locator('.jp-datalake-upload', { hasText: name });
  await expect(upload).toHaveAttribute('data-state', 'done', {
    timeout: 60000
  });
  await expect(upload).toContainText('In the data lake with QoS FAST');
  await expect(upload.getByRole('progressbar')).toHaveAttribute(
    'aria-valuenow',
    '100'
  );
  const info = await uploadedDid(request, did);
  expect(info?.type).toBe('FILE');
  expect(info?.bytes).toBe(
    fs.statSync(path.join(STORAGE, 'HUB-FAST', 'user', 'alice', name)).size
  );

  // Verify copies (the row's menu in "My stagings"): one copy, it matches
  await stagingMenu(page, did, 'Verify Copies');
  await expect(page.locator('.jp-datalake-verification-summary')).toHaveText(
    `1 local copies of ${did} checked: all match Rucio’s checksums.`
  );
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Close' })
    .click();

  // Move to… CHEAP-ANALYSIS: the staging in CHEAP-ANALYSIS arrives, the FAST one goes
  await stagingMenu(page, did, 'Move to…');
  await page.locator('.jp-datalake-move-qos').selectOption('CHEAP-ANALYSIS');
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Move' })
    .click();
  const view = await lake.openStagings();
  // The new copy arrives (Rucio then removes the FAST rule: tests/integration/test_lifecycle.py)
  const moved = view.locator(`.jp-datalake-staging[data-did="${did}"]`, {
    hasText: 'CHEAP-ANALYSIS'
  });
  await expect(moved).toHaveAttribute('data-state', 'OK', { timeout: 90000 });
  expect(
    fs.existsSync(path.join(STORAGE, 'HUB-CHEAP', 'user', 'alice', name))
  ).toBe(true);
});

test('a corrupted copy is named by Verify copies and reported as suspicious', async ({
  page,
  request,
  lake
}) => {
  test.setTimeout(120000);
  const name = unique('corrupt');
  const did = `${SCOPE}:${name}`;
  await makeFile(page, name);
  const response = await request.post('/datalake/uploads', {
    data: { paths: [name], to: SCOPE, qos: 'FAST' }
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  expect(await response.text()).toContain('"UPLOADED"');
  // One byte of the copy on HUB-FAST changes
  const copy = path.join(STORAGE, 'HUB-FAST', 'user', 'alice', name);
  const bytes = fs.readFileSync(copy);
  bytes[100] = bytes[100] ^ 0xff;
  fs.writeFileSync(copy, bytes);
  await lake.panel.getByRole('button', { name: 'Refresh stagings' }).click();

  await stagingMenu(page, did, 'Verify Copies');

  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-datalake-verification-summary')).toHaveText(
    `1 of 1 local copies of ${did} do not match Rucio’s checksum:`
  );
  const cells = dialog.locator('.jp-datalake-verification-table tbody td');
  await expect(cells.nth(0)).toHaveText(did);
  await expect(cells.nth(1)).toHaveText('HUB-FAST');
  await dialog.getByRole('button', { name: 'Report as suspicious' }).click();
  await expect(page.locator('.jp-Dialog')).toContainText(
    '1 copies were reported to Rucio as suspicious.'
  );
  await page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Close' })
    .click();
});
