/**
 * Through JupyterHub, in Chromium: alice logs in with the hub's form, her server is spawned,
 * the panel is connected as "alice @ testbed" with the OIDC token the hub keeps (no form to
 * fill), she stages a dataset from its page, sees it ready in the Stagings view, drags it into
 * a notebook, runs the cell and reads the files at the paths it bound. Then bob logs in: his
 * Stagings view shows his own, none of alice's among them.
 */
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from '@playwright/test';
import type { APIRequestContext, BrowserContext, Page } from '@playwright/test';

const ROOT = path.resolve(__dirname, '..', '..');
const TESTBED = process.env.TESTBED_DIR || path.join(ROOT, '.testbed');
const STORAGE = path.join(TESTBED, 'storage');
const PANEL_ID = 'jp-datalake-panel';
const SB002 = 'demo:lofar-obs-sb002';
// A new notebook each run: the workspace restored at login may still be reading the last one.
const NOTEBOOK = `hub-drop-${Date.now()}.ipynb`;

function password(user: string): string {
  const file = path.join(TESTBED, 'hub-users.json');
  return JSON.parse(fs.readFileSync(file, 'utf-8'))[user];
}

/** Log in with the hub's form; the hub spawns the server and opens JupyterLab. */
async function logIn(page: Page, user: string): Promise<string[]> {
  const visited: string[] = [];
  page.on('framenavigated', frame => {
    if (frame === page.mainFrame()) {
      visited.push(new URL(frame.url()).pathname);
    }
  });
  await page.goto('/hub/login');
  await page.locator('#username_input').fill(user);
  await page.locator('#password_input').fill(password(user));
  await page.locator('#login_submit').click();
  await expect(page.locator('.jp-LabShell')).toBeVisible({ timeout: 150000 });
  expect(page.url()).toContain(`/user/${user}/lab`);
  return visited;
}

/** The user's server's REST API, with the browser's cookies and XSRF token. */
async function server(page: Page, user: string) {
  const request: APIRequestContext = page.context().request;
  const cookies = await page.context().cookies();
  const xsrf = cookies.find(
    c => c.name === '_xsrf' && c.path.startsWith(`/user/${user}`)
  )?.value;
  expect(xsrf, 'the server set its _xsrf cookie').toBeTruthy();
  const url = (route: string) => `/user/${user}/${route}`;
  const headers = { 'X-XSRFToken': xsrf! };
  return {
    async get(route: string, params?: Record<string, string>): Promise<any> {
      const response = await request.get(url(route), { params, headers });
      expect(response.ok(), await response.text()).toBeTruthy();
      return response.json();
    },
    async put(route: string, data: unknown): Promise<void> {
      const response = await request.put(url(route), { data, headers });
      expect(response.ok(), await response.text()).toBeTruthy();
    },
    async post(route: string, data: unknown): Promise<any> {
      const response = await request.post(url(route), { data, headers });
      expect(response.ok(), await response.text()).toBeTruthy();
      return response.json();
    },
    async remove(route: string): Promise<void> {
      const response = await request.delete(url(route), { headers });
      expect([204, 404], await response.text()).toContain(response.status());
    },
    async stagings(): Promise<any[]> {
      return (await this.get('datalake/stagings')).stagings;
    }
  };
}

/** Open the panel: connected as `user` at once, with nothing to fill in. */
async function openPanel(page: Page, user: string): Promise<void> {
  const panel = page.locator(`#${PANEL_ID}`);
  // A restored workspace may have it open already: a click would close it.
  if (!(await panel.isVisible())) {
    await page.locator(`.jp-SideBar [data-id="${PANEL_ID}"]`).click();
  }
  await expect(panel).toBeVisible();
  await expect(panel.locator('.jp-datalake-connection')).toHaveAttribute(
    'data-state',
    'connected',
    { timeout: 60000 }
  );
  const identity = panel.locator('.jp-datalake-identity');
  await expect(identity).toHaveText(`${user} @ testbed`);
  await expect(identity).toHaveAttribute('data-auth-type', 'oidc');
  await expect(panel.locator('.jp-datalake-token')).toHaveText(
    'signed in through JupyterHub'
  );
  await expect(panel.locator('input[type="password"]')).toHaveCount(0);
}

async function search(page: Page, pattern: string): Promise<void> {
  const input = page
    .locator(`#${PANEL_ID}`)
    .getByRole('searchbox', { name: 'DID pattern' });
  await input.fill(pattern);
  await input.press('Enter');
}

/** The Stagings view's body in the main area. */
const STAGINGS_VIEW = '#jp-main-dock-panel .jp-datalake-stagingsview-body';

/** Open the Stagings view from the panel's "My stagings" section. */
async function openStagings(page: Page): Promise<void> {
  await page
    .locator(`#${PANEL_ID}`)
    .getByRole('button', { name: 'Open the Stagings view' })
    .click();
  await expect(page.locator(STAGINGS_VIEW)).toBeVisible();
}

/** Run a notebook cell with Shift+Enter. */
async function runCell(page: Page, index: number): Promise<void> {
  const cell = page.locator('.jp-NotebookPanel .jp-Cell').nth(index);
  await cell.locator('.jp-InputArea-editor').click();
  await page.keyboard.press('Shift+Enter');
}

let aliceContext: BrowserContext;
let aliceStaging: string | null = null;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  aliceContext = await browser.newContext();
});

test.afterAll(async () => {
  const page = aliceContext.pages()[0];
  if (page) {
    const alice = await server(page, 'alice');
    if (aliceStaging) {
      await alice.remove(`datalake/stagings/${aliceStaging}`);
    }
    await alice.remove(`api/contents/${NOTEBOOK}`);
  }
  await aliceContext.close();
});

test('alice: log in, spawn, the panel is hers, stage, drag into a notebook, read the files', async () => {
  const page = await aliceContext.newPage();
  const visited = await logIn(page, 'alice');
  // Her server was started for this login.
  expect(visited.some(p => p.startsWith('/hub/spawn'))).toBeTruthy();

  const alice = await server(page, 'alice');
  // A notebook whose one cell reads the files at the paths the dropped cell will bind.
  await alice.put(`api/contents/${NOTEBOOK}`, {
    type: 'notebook',
    format: 'json',
    content: {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3',
          language: 'python'
        }
      },
      cells: [
        {
          cell_type: 'code',
          id: 'reader',
          metadata: {},
          outputs: [],
          execution_count: null,
          source:
            'import os\nfor p in lofar_obs_sb002:\n    print(p, os.path.getsize(p))'
        }
      ]
    }
  });
  // A clean start: no staging of sb002 in FAST left by an earlier run.
  for (const s of await alice.stagings()) {
    if (s.did === SB002 && s.qos === 'FAST') {
      await alice.remove(`datalake/stagings/${s.id}`);
    }
  }
  await page.goto(`/user/alice/lab/tree/${NOTEBOOK}?reset`);
  await expect(page.locator('.jp-NotebookPanel .jp-Cell')).toHaveCount(1, {
    timeout: 60000
  });
  await expect(
    page.locator(`.jp-SideBar [data-id="${PANEL_ID}"]`)
  ).toBeVisible();

  await openPanel(page, 'alice');
  await search(page, SB002);
  const row = page.locator(
    `#${PANEL_ID} .jp-datalake-row[data-did="${SB002}"]`
  );
  await expect(row).toBeVisible();

  // Open its page (double click) and stage it near the hub from the stage form there.
  await row.dblclick();
  const didPage = page.locator(
    `#jp-main-dock-panel .jp-datalake-didpage-body[data-did="${SB002}"]`
  );
  await expect(didPage).toBeVisible();
  const form = didPage.locator(`form.jp-datalake-stage[data-did="${SB002}"]`);
  await form.getByRole('combobox', { name: 'QoS class' }).selectOption('FAST');
  await form.getByRole('textbox', { name: 'Lifetime' }).fill('1d');
  const posted = page.waitForResponse(
    r =>
      r.url().includes('/user/alice/datalake/stagings') &&
      r.request().method() === 'POST'
  );
  await form.getByRole('button', { name: 'Stage near the hub' }).click();
  const response = await posted;
  expect([200, 201]).toContain(response.status());
  aliceStaging = (await response.json()).stagings[0].id as string;

  // The Stagings view shows it arriving, until it is ready.
  await openStagings(page);
  const staging = page.locator(
    `${STAGINGS_VIEW} li.jp-datalake-staging[data-staging-id="${aliceStaging}"]`
  );
  await expect(staging).toHaveAttribute('data-did', SB002);
  await expect(staging).toHaveAttribute('data-state', 'OK', {
    timeout: 120000
  });

  // Back to the notebook.
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: NOTEBOOK })
    .click();
  // Drag it into the notebook: a cell binding its local paths.
  const cells = page.locator('.jp-NotebookPanel .jp-Cell');
  await row.dragTo(cells.first());
  await expect(cells).toHaveCount(2);
  const dropped = cells.filter({ hasText: '%datalake paths' });
  await expect(dropped.locator('.jp-InputArea-editor')).toHaveText(
    `lofar_obs_sb002 = %datalake paths ${SB002}`
  );
  const droppedAt = await cells.evaluateAll(all =>
    all.findIndex(c => c.textContent?.includes('%datalake paths'))
  );
  const readerAt = 1 - droppedAt;
  await runCell(page, droppedAt);
  await expect(cells.nth(droppedAt).locator('.jp-InputPrompt')).toHaveText(
    /\[\d+\]:/,
    { timeout: 120000 }
  );
  await runCell(page, readerAt);
  const output = cells.nth(readerAt).locator('.jp-OutputArea-output');
  await expect(output).toContainText('HUB-FAST', { timeout: 60000 });

  // The kernel read the files Rucio knows, at the paths the shim gave, of the sizes on disk.
  const lines = (await output.innerText()).trim().split('\n');
  expect(lines).toHaveLength(4);
  const files = (await alice.get('datalake/did/files', { did: SB002 }))
    .items as { name: string; bytes: number }[];
  for (const line of lines) {
    const [file, size] = line.split(' ');
    expect(file.startsWith(path.join(STORAGE, 'HUB-FAST') + path.sep)).toBe(
      true
    );
    const known = files.find(f => path.basename(file) === f.name);
    expect(known, `${file} is a file of ${SB002}`).toBeTruthy();
    expect(Number(size)).toBe(known!.bytes);
    expect(fs.statSync(file).size).toBe(known!.bytes);
  }
});

test('bob: his own stagings, none of alice’s', async ({ browser }) => {
  expect(aliceStaging, 'alice staged first').toBeTruthy();
  const context = await browser.newContext();
  const page = await context.newPage();
  await logIn(page, 'bob');
  await page.goto('/user/bob/lab?reset'); // whatever his last session left open
  await expect(page.locator(`.jp-SideBar [data-id="${PANEL_ID}"]`)).toBeVisible(
    { timeout: 60000 }
  );
  const bob = await server(page, 'bob');
  await openPanel(page, 'bob');
  // Something of his own, so the list is not empty by accident.
  const own = (
    await bob.post('datalake/stagings', {
      dids: ['demo:lofar-obs-sb000'],
      qos: 'CHEAP-ANALYSIS',
      lifetime: 3600
    })
  ).stagings[0];
  try {
    // The Stagings view follows the shim's list, which the new staging joined.
    await openStagings(page);
    const list = page.locator(`${STAGINGS_VIEW} li.jp-datalake-staging`);
    await expect(
      page.locator(
        `${STAGINGS_VIEW} li.jp-datalake-staging[data-staging-id="${own.id}"]`
      )
    ).toBeVisible({ timeout: 30000 });
    const shown = await list.evaluateAll(items =>
      items.map(i => i.getAttribute('data-staging-id'))
    );
    expect(shown).not.toContain(aliceStaging);
    const listed = (await bob.stagings()).map(s => s.id);
    expect(listed).toContain(own.id);
    expect(listed).not.toContain(aliceStaging);
    // Nor can he reach it by its id.
    const response = await page
      .context()
      .request.get(`/user/bob/datalake/stagings/${aliceStaging}`);
    expect(response.status()).toBe(404);
  } finally {
    await bob.remove(`datalake/stagings/${own.id}`);
    await context.close();
  }
});
