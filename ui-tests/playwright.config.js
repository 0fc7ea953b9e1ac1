/**
 * Playwright + galata against a real JupyterLab with the extension and the Rucio testbed,
 * in Debian's Chromium (never a Playwright browser download).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.UI_TESTS_PORT || '8899';
// The shim reaches Rucio through a forwarder the tests open and close (tests/fixtures.ts).
const proxyPort = process.env.UI_TESTS_PROXY_PORT || '8483';

module.exports = {
  ...baseConfig,
  retries: 0,
  workers: 1,
  timeout: 120000,
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage'
      ]
    }
  },
  webServer: {
    command:
      'exec jupyter lab --config jupyter_server_test_config.py > jupyter-server.log 2>&1',
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120000,
    env: {
      ...process.env,
      UI_TESTS_RUCIO_PROXY: `http://127.0.0.1:${proxyPort}`
    },
    reuseExistingServer: !process.env.CI
  }
};
