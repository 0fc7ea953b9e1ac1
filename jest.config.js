const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

// ES modules that jest must transform (the JupyterLab stack ships ESM).
const esModules = [
  '@codemirror',
  '@jupyter/ydoc',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyterlab/',
  '@lumino/',
  '@marijn',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  reporters: ['default'],
  modulePathIgnorePatterns: [
    '<rootDir>/python-shim/jupyterlab_datalake/labextension',
    '<rootDir>/ui-tests',
    '<rootDir>/.testbed',
    '<rootDir>/.venv'
  ],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
