/**
 * DID grammar (`scope:name`), shared with python-shim did.py through the test vectors in
 * python-shim/jupyterlab_datalake/tests/did_vectors.json.
 */

export const SCOPE_MAX = 25;
export const NAME_MAX = 250;

const SCOPE_RE = /^[a-zA-Z_\-.0-9]+$/;
const NAME_RE = /^[/A-Za-z0-9][/A-Za-z0-9.\-_]*$/;
const PATTERN_RE = /^[/A-Za-z0-9.\-_*]+$/;

export interface IParsedDID {
  scope: string;
  name: string;
  did: string;
}

function splitOnce(text: string): [string, string] | null {
  const at = text.indexOf(':');
  return at < 0 ? null : [text.slice(0, at), text.slice(at + 1)];
}

function validScope(scope: string): boolean {
  return scope.length <= SCOPE_MAX && SCOPE_RE.test(scope);
}

/**
 * Parse a DID; `null` when it is not a valid `scope:name` (blanks around it are ignored).
 */
export function parseDID(text: string): IParsedDID | null {
  const parts = splitOnce(text.trim());
  if (!parts) {
    return null;
  }
  const [scope, name] = parts;
  if (!validScope(scope) || name.length > NAME_MAX || !NAME_RE.test(name)) {
    return null;
  }
  return { scope, name, did: `${scope}:${name}` };
}

export function isValidDID(text: string): boolean {
  return parseDID(text) !== null;
}

/**
 * Normalize a search expression: `scope:pattern` with `*` wildcards, or a bare scope
 * (meaning everything in it). `null` when it cannot be searched.
 */
export function parseSearchPattern(text: string): string | null {
  const trimmed = text.trim();
  const parts = splitOnce(trimmed) ?? [trimmed, '*'];
  const [scope, pattern] = parts;
  if (!validScope(scope) || pattern.length > NAME_MAX) {
    return null;
  }
  const name = pattern === '' ? '*' : pattern;
  return PATTERN_RE.test(name) ? `${scope}:${name}` : null;
}

/**
 * How a notebook variable is named after a DID (setting `variableNaming`).
 */
export type VariableNaming = 'short' | 'name' | 'scope_name';

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else ' +
    'except finally for from global if import in is lambda nonlocal not or pass raise ' +
    'return try while with yield'
  ).split(' ')
);

function identifier(text: string): string {
  let name = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (name === '') {
    name = 'data';
  }
  if (/^[0-9]/.test(name)) {
    name = `d_${name}`;
  }
  return PYTHON_KEYWORDS.has(name) ? `${name}_` : name;
}

/**
 * A valid Python identifier for a DID, e.g. `demo:lofar-obs-sb001` → `sb001` (short),
 * `lofar_obs_sb001` (name) or `demo_lofar_obs_sb001` (scope_name).
 */
export function variableName(
  did: string,
  naming: VariableNaming = 'short'
): string {
  const parsed = parseDID(did);
  const scope = parsed?.scope ?? '';
  const name = (parsed?.name ?? did).replace(/^\/+/, '');
  if (naming === 'scope_name') {
    return identifier(`${scope}_${name}`);
  }
  if (naming === 'name') {
    return identifier(name);
  }
  // Short: the last word of the name, without a file extension; purely numeric words
  // are kept with the word before them so `run-2` stays meaningful (`run_2`).
  const stem = name.replace(/\.[A-Za-z][A-Za-z0-9]{0,5}$/, '');
  const words = stem.split(/[-./]+/).filter(w => w !== '');
  if (words.length === 0) {
    return identifier(name);
  }
  let short = words[words.length - 1];
  if (/^[0-9]+$/.test(short) && words.length > 1) {
    short = `${words[words.length - 2]}_${short}`;
  }
  return identifier(short);
}
