/**
 * The panel benchmark (bench/*.bench.ts): same server and browser as the tests.
 * `bench/run.py` runs it with BENCH_OUTPUT set.
 */
const config = require('./playwright.config');

module.exports = {
  ...config,
  testDir: 'bench',
  testMatch: '*.bench.ts',
  reporter: 'line'
};
