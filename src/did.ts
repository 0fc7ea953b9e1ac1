/**
 * DID grammar (`scope:name`), the same as python-shim core/did.py: both are tested against
 * spec/vectors/did.json.
 */

export const SCOPE_MAX = 25;
export const NAME_MAX = 250;

const SCOPE_RE = /^[a-zA-Z_\-.0-9]+$/;
const NAME_RE = /^[/A-Za-z0-9][/A-Za-z0-9.\-_]*$/;
// Search patterns may also use Rucio's wildcards.
const PATTERN_RE = /^[/A-Za-z0-9*%][/A-Za-z0-9.\-_*%]*$/;
// Rucio's REST server decodes %2F: a name ending in one of its DID sub-resources
// (`dids/s/x/meta` is the metadata of s:x) would reach another endpoint, so it is refused.
const RUCIO_SUBRESOURCES = new Set([
  'status',
  'meta',
  'dids',
  'files',
  'rules',
  'parents',
  'associated_rules',
  'follow',
  'guid',
  'sample'
]);
const RUCIO_SUBRESOURCE_PAIRS = new Set(['dids/search', 'dids/history']);

function routedElsewhere(name: string): boolean {
  const segments = name.split('/');
  const last = segments[segments.length - 1];
  return (
    RUCIO_SUBRESOURCES.has(last) ||
    segments[segments.length - 2] === 'meta' ||
    RUCIO_SUBRESOURCE_PAIRS.has(segments.slice(-2).join('/'))
  );
}

export interface IParsedDID {
  scope: string;
  name: string;
  did: string;
}

function parse(text: string, nameRe: RegExp): IParsedDID | null {
  const trimmed = text.trim();
  const at = trimmed.indexOf(':');
  if (at < 0) {
    return null;
  }
  const scope = trimmed.slice(0, at);
  const name = trimmed.slice(at + 1);
  // A scope of dots only would walk up a URL path: Rucio refuses it too.
  const scopeOk =
    scope.length <= SCOPE_MAX && SCOPE_RE.test(scope) && /[^.]/.test(scope);
  if (!scopeOk || name.length > NAME_MAX || !nameRe.test(name)) {
    return null;
  }
  return { scope, name, did: `${scope}:${name}` };
}

/**
 * Parse a DID; `null` when it is not a valid `scope:name` (blanks around it are ignored).
 */
export function parseDID(text: string): IParsedDID | null {
  const did = parse(text, NAME_RE);
  return did && !routedElsewhere(did.name) ? did : null;
}

export function isValidDID(text: string): boolean {
  return parseDID(text) !== null;
}

/**
 * Normalize a search expression: `scope:pattern` with `*` and `%` wildcards, or a bare
 * scope (meaning everything in it). `null` when it cannot be searched.
 */
export function parseSearchPattern(text: string): string | null {
  const trimmed = text.trim();
  const at = trimmed.indexOf(':');
  const scope = at < 0 ? trimmed : trimmed.slice(0, at);
  const pattern = at < 0 ? '' : trimmed.slice(at + 1);
  return parse(`${scope}:${pattern || '*'}`, PATTERN_RE)?.did ?? null;
}
