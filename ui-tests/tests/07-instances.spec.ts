/**
 * Two Rucio instances at once: `testbed` (userpass) and `testbed-x509`, the same Rucio and
 * account reached over TLS with alice's X.509 proxy. The panel switches between them, a staging
 * made in one never shows under the other, and a DID of testbed-x509 dropped into or attached to
 * a notebook carries its instance to the kernel.
 */
import type { APIRequestContext } from '@playwright/test';

import {
  expect,
  galata,
  openPanel,
  panel,
  row,
  search,
  test
} from './fixtures';

const X509 = 'testbed-x509';
// In CHEAP-ANALYSIS: no other test stages it as alice, in either instance.
const SB000 = 'demo:lofar-obs-sb000';

test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-datalake:plugin': { pollInterval: 1 }
  }
});

async function stagingsOf(
  request: APIRequestContext,
  instance: string
): Promise<any[]> {
  const response = await request.get('/datalake/stagings', {
    params: { instance }
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).stagings;
}

async function releaseAll(request: APIRequestContext): Promise<void> {
  for (const s of await stagingsOf(request, X509)) {
    if (s.did === SB000) {
      await request.delete(`/datalake/stagings/${s.id}`, {
        params: { instance: X509 }
      });
    }
  }
}

test.afterEach(async ({ request }) => {
  await releaseAll(request);
});

test('switch to testbed-x509: its own stagings, its DIDs dropped and attached with their instance', async ({
  page,
  request,
  lake
}) => {
  test.setTimeout(180000);
  await releaseAll(request);
  await page.notebook.createNew('instances.ipynb');

  const selector = panel(page).getByRole('combobox', {
    name: 'Rucio instance'
  });
  await expect(selector).toHaveValue('testbed');
  await selector.selectOption(X509);
  const identity = panel(page).locator('.jp-datalake-identity');
  await expect(identity).toHaveText(`alice @ ${X509}`);
  await expect(identity).toHaveAttribute('data-auth-type', 'x509_proxy');

  // Stage a dataset in testbed-x509, from the stage form on its page.
  const didPage = await lake.open(SB000);
  const form = didPage.locator(`form.jp-datalake-stage[data-did="${SB000}"]`);
  await form
    .getByRole('combobox', { name: 'QoS class' })
    .selectOption('CHEAP-ANALYSIS');
  const posted = page.waitForResponse(
    r =>
      r.url().includes('/datalake/stagings') &&
      r.request().method() === 'POST' &&
      r.request().postDataJSON()?.instance === X509
  );
  await form.getByRole('button', { name: 'Stage near the hub' }).click();
  const id = (await (await posted).json()).stagings[0].id as string;
  const view = await lake.openStagings();
  const staging = view.locator(
    `li.jp-datalake-staging[data-staging-id="${id}"]`
  );
  await expect(staging).toHaveAttribute('data-state', 'OK', { timeout: 90000 });

  // Under testbed it is not there, in the Stagings view nor in the shim's list; back under
  // X.509 it is.
  await selector.selectOption('testbed');
  await expect(identity).toHaveText('alice @ testbed');
  const underTestbed = (await stagingsOf(request, 'testbed')).map(s => s.id);
  expect(underTestbed).not.toContain(id);
  // The view shows testbed's list (not a blank left by the switch), without this staging.
  await expect
    .poll(async () =>
      (
        await view
          .locator('li.jp-datalake-staging')
          .evaluateAll(items => items.map(i => i.dataset.stagingId))
      ).sort()
    )
    .toEqual([...underTestbed].sort());
  await expect(staging).toHaveCount(0);
  await selector.selectOption(X509);
  await expect(identity).toHaveText(`alice @ ${X509}`);
  await expect(staging).toBeVisible();

  // Dropped into the notebook: the cell names the instance, and the kernel reads the paths.
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab', {
      hasText: 'instances.ipynb'
    })
    .click();
  await search(page, SB000);
  const cells = page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell');
  await row(page, SB000).dragTo(cells.first());
  const dropped = cells.filter({ hasText: '%datalake paths' });
  await expect(dropped.locator('.jp-InputArea-editor')).toHaveText(
    `lofar_obs_sb000 = %datalake paths ${SB000} --instance ${X509}`
  );
  const index = await cells.evaluateAll(all =>
    all.findIndex(c => c.textContent?.includes('%datalake paths'))
  );
  await page.notebook.runCell(index, true);
  await page.notebook.addCell(
    'code',
    'import os\nprint(lofar_obs_sb000.did, sum(os.path.isfile(p) for p in lofar_obs_sb000))'
  );
  const reader = (await page.notebook.getCellCount()) - 1;
  await page.notebook.runCell(reader, true);
  expect((await page.notebook.getCellTextOutput(reader))?.join('').trim()).toBe(
    `${SB000} 4`
  );

  // Attached to the notebook: recorded with its instance, bound in the kernel from it.
  // The notebook stays the one to attach to while the DID page is in front.
  await lake.open(SB000);
  await didPage.getByRole('button', { name: 'Attach to notebook' }).click();
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab', {
      hasText: 'instances.ipynb'
    })
    .click();
  const label = page.locator(
    '.jp-NotebookPanel .jp-datalake-attachments-label'
  );
  await expect(label).toHaveAttribute('data-state', 'bound', {
    timeout: 60000
  });
  const attachments = await page.evaluate(() =>
    (window as any).jupyterapp.shell.currentWidget.context.model.getMetadata(
      'datalake_attachments'
    )
  );
  expect(attachments).toEqual([
    { did: SB000, instance: X509, variable: 'lofar_obs_sb000' }
  ]);
});
