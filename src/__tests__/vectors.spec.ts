import * as fs from 'fs';
import * as path from 'path';

import { isValidDID, parseDID, parseSearchPattern } from '../did';
import { formatBytes, formatDuration, parseDuration } from '../format';
import {
  DEFAULT_NAMING,
  isBindableName,
  NAMINGS,
  variableName
} from '../names';
import type { VariableNaming } from '../names';
import { parseRuleId, progressPercent } from '../staging';

// The same files python-shim's tests/test_shared_vectors.py reads.
function vectors<T>(name: string): T {
  const file = path.join(__dirname, '../../spec/vectors', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf-8'));
}

/** JSON has no NaN or Infinity: the vectors write them as strings. */
function number(value: number | string | null): number | null {
  return typeof value === 'string' ? Number(value) : value;
}

interface IDidVectors {
  valid: { did: string; scope: string; name: string }[];
  invalid: { did: string; why: string }[];
  long_name: { scope: string; valid_length: number; invalid_length: number };
  searches: { text: string; search: string | null }[];
}

interface INameVectors {
  default: VariableNaming;
  cases: ({ did: string } & Record<VariableNaming, string>)[];
}

interface IBindableVectors {
  bindable: string[];
  not_bindable: string[];
  python_keywords: string[];
  python_builtins: string[];
}

interface IByteVectors {
  unknown: string;
  cases: { bytes: number | string | null; text: string }[];
}

interface IProgressVectors {
  cases: {
    files_ok: number;
    files_total: number;
    state: string;
    percent: number;
  }[];
}

interface IDurationVectors {
  parse: { text: string; seconds: number }[];
  refused: string[];
  numbers: { number: number | string; seconds: number | null }[];
  format: { seconds: number; text: string }[];
}

interface IRuleIdVectors {
  valid: { text: string; id: string }[];
  invalid: string[];
}

describe('DID grammar (spec/vectors/did.json)', () => {
  const v = vectors<IDidVectors>('did');

  it.each(v.valid)('accepts $did', c => {
    expect(parseDID(c.did)).toEqual({
      scope: c.scope,
      name: c.name,
      did: `${c.scope}:${c.name}`
    });
  });

  it.each(v.invalid)('rejects $did ($why)', c => {
    expect(parseDID(c.did)).toBeNull();
    expect(isValidDID(c.did)).toBe(false);
  });

  it('enforces the name length limit', () => {
    const { scope, valid_length, invalid_length } = v.long_name;
    expect(isValidDID(`${scope}:${'a'.repeat(valid_length)}`)).toBe(true);
    expect(isValidDID(`${scope}:${'a'.repeat(invalid_length)}`)).toBe(false);
  });

  it.each(v.searches)('reads the search $text as $search', c => {
    expect(parseSearchPattern(c.text)).toBe(c.search);
  });
});

describe('variable names (spec/vectors/variable_names.json)', () => {
  const v = vectors<INameVectors>('variable_names');

  it('defaults to the naming of the vectors', () => {
    expect(DEFAULT_NAMING).toBe(v.default);
  });

  const cases = v.cases.flatMap(c =>
    NAMINGS.map(naming => ({ did: c.did, naming, expected: c[naming] }))
  );
  it.each(cases)('names $did ($naming) $expected', c => {
    const name = variableName(c.did, c.naming);
    expect(name).toBe(c.expected);
    expect(isBindableName(name)).toBe(true);
  });
});

describe('bindable names (spec/vectors/bindable_names.json)', () => {
  const v = vectors<IBindableVectors>('bindable_names');

  it.each(v.bindable)('binds %j', name => {
    expect(isBindableName(name)).toBe(true);
  });

  const refused = [
    ...v.not_bindable,
    ...v.python_keywords,
    ...v.python_builtins
  ];
  it.each(refused)('refuses %j', name => {
    expect(isBindableName(name)).toBe(false);
  });
});

describe('byte sizes (spec/vectors/byte_sizes.json)', () => {
  const v = vectors<IByteVectors>('byte_sizes');

  it.each(v.cases)('formats $bytes as $text', c => {
    expect(formatBytes(number(c.bytes))).toBe(c.text);
  });

  it('shows unknown sizes as the vectors say', () => {
    expect(formatBytes(undefined)).toBe(v.unknown);
  });
});

describe('progress (spec/vectors/progress.json)', () => {
  const v = vectors<IProgressVectors>('progress');

  it.each(v.cases)('$files_ok of $files_total, $state: $percent%', c => {
    expect(progressPercent(c)).toBe(c.percent);
  });
});

describe('durations (spec/vectors/durations.json)', () => {
  const v = vectors<IDurationVectors>('durations');

  it.each(v.parse)('reads $text as $seconds s', c => {
    expect(parseDuration(c.text)).toBe(c.seconds);
  });

  it.each(v.refused)('refuses %j', text => {
    expect(parseDuration(text)).toBeNull();
  });

  it.each(v.numbers)('reads the number $number as $seconds s', c => {
    expect(parseDuration(number(c.number)!)).toBe(c.seconds);
  });

  it.each(v.format)('formats $seconds s as $text, which reads back', c => {
    expect(formatDuration(c.seconds)).toBe(c.text);
    if (c.text !== '0s') {
      expect(formatDuration(parseDuration(c.text)!)).toBe(c.text);
    }
  });
});

describe('rule ids (spec/vectors/rule_ids.json)', () => {
  const v = vectors<IRuleIdVectors>('rule_ids');

  it.each(v.valid)('reads $text as $id', c => {
    expect(parseRuleId(c.text)).toBe(c.id);
  });

  it.each(v.invalid)('refuses %j', text => {
    expect(parseRuleId(text)).toBeNull();
  });
});
