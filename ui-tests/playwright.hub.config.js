/**
 * Browser tests THROUGH JupyterHub (hub/*.hub.ts): the testbed hub on HUB_PORT, users log in with
 * the hub's login form, their servers are spawned, JupyterLab runs at /user/<name>/lab, in
 * Debian's Chromium. scripts/test.sh starts one hub for all hub tests (pytest and these) and this
 * reuses it; run alone, Playwright starts `testbed/hub/run.sh` and stops it (SIGTERM) after.
 */
const base = require('./playwright.config');

const hubPort = process.env.HUB_PORT || '8000';

module.exports = {
  retries: 0,
  workers: 1,
  timeout: 240000,
  testDir: 'hub',
  testMatch: '*.hub.ts',
  use: {
    baseURL: `http://127.0.0.1:${hubPort}`,
    viewport: { width: 1280, height: 800 },
    video: 'off',
    trace: 'off',
    launchOptions: base.use.launchOptions
  },
  webServer: {
    command: 'exec bash ../testbed/hub/run.sh > hub-server.log 2>&1',
    url: `http://127.0.0.1:${hubPort}/hub/health`,
    timeout: 120000,
    reuseExistingServer: true,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30000 },
    env: { ...process.env, HUB_PORT: hubPort }
  }
};
