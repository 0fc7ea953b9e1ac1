import * as fs from 'fs';
import * as path from 'path';

import { isValidDID, parseDID, parseSearchPattern, variableName } from '../did';

interface IVectors {
  valid: { did: string; scope: string; name: string }[];
  invalid: { did: string; why: string }[];
  long_name: { scope: string; valid_length: number; invalid_length: number };
}

// Shared with the Python side (python-shim did.py).
const vectors: IVectors = JSON.parse(
  fs.readFileSync(
    path.join(
      __dirname,
      '../../python-shim/jupyterlab_datalake/tests/did_vectors.json'
    ),
    'utf-8'
  )
);

describe('parseDID against the shared vectors', () => {
  it.each(vectors.valid.map(v => [v.did, v]))('accepts %j', (_, v) => {
    expect(parseDID(v.did)).toEqual({
      scope: v.scope,
      name: v.name,
      did: `${v.scope}:${v.name}`
    });
  });

  it.each(vectors.invalid.map(v => [v.did, v.why]))('rejects %j (%s)', text => {
    expect(parseDID(text)).toBeNull();
    expect(isValidDID(text)).toBe(false);
  });

  it('enforces the name length limit', () => {
    const { scope, valid_length, invalid_length } = vectors.long_name;
    expect(isValidDID(`${scope}:${'a'.repeat(valid_length)}`)).toBe(true);
    expect(isValidDID(`${scope}:${'a'.repeat(invalid_length)}`)).toBe(false);
  });
});

describe('parseSearchPattern', () => {
  it('keeps wildcards in the name', () => {
    expect(parseSearchPattern(' demo:lofar-* ')).toBe('demo:lofar-*');
  });
  it('reads a bare scope as everything in it', () => {
    expect(parseSearchPattern('demo')).toBe('demo:*');
    expect(parseSearchPattern('demo:')).toBe('demo:*');
  });
  it('rejects blanks and bad scopes', () => {
    expect(parseSearchPattern('demo:a b')).toBeNull();
    expect(parseSearchPattern('de$mo:*')).toBeNull();
  });
});

describe('variableName', () => {
  it('uses the last word of the name by default', () => {
    expect(variableName('demo:lofar-obs-sb001')).toBe('sb001');
  });
  it('keeps a numeric last word with the word before it', () => {
    expect(variableName('demo:run-2')).toBe('run_2');
  });
  it('drops a file extension', () => {
    expect(variableName('user.alice:file_1.h5')).toBe('file_1');
    expect(variableName('user.alice:file_1.h5', 'name')).toBe('file_1_h5');
  });
  it('offers whole-name and scope+name styles', () => {
    expect(variableName('demo:lofar-obs-sb001', 'name')).toBe(
      'lofar_obs_sb001'
    );
    expect(variableName('demo:lofar-obs-sb001', 'scope_name')).toBe(
      'demo_lofar_obs_sb001'
    );
  });
  it('always returns a valid, non-keyword Python identifier', () => {
    for (const d of ['demo:2020', 'demo:/path/like/name.fits', 'demo:class']) {
      const name = variableName(d);
      expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(['class', 'None']).not.toContain(name);
    }
    expect(variableName('demo:2020')).toBe('d_2020');
    expect(variableName('demo:class')).toBe('class_');
  });
});
