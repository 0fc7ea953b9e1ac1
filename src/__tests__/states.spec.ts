import { nullTranslator } from '@jupyterlab/translation';

import { describeExpiry, describeStaging } from '../states';
import { middleTruncate, splitName } from '../widgets/name';
import { staging } from './fakes';

const trans = nullTranslator.load('jupyterlab_datalake');

describe('describeStaging: Rucio states in plain words', () => {
  it('says "Ready" for OK and keeps the raw state for the tooltip', () => {
    const words = describeStaging(
      staging({ state: 'OK', files_ok: 4, files_replicating: 0 }),
      trans
    );
    expect(words.label).toBe('Ready');
    expect(words.tone).toBe('ok');
    expect(words.raw).toBe('OK');
    expect(words.tooltip).toMatch(/^Rucio state OK: /);
    expect(words.counts).toBeNull();
  });

  it('counts files while copying, and bytes only when the shim reports them', () => {
    const copying = staging({ files_ok: 3, files_replicating: 1 });
    expect(describeStaging(copying, trans).label).toBe('Copying 3 of 4 files');
    expect(describeStaging(copying, trans).counts).toBe('1 copying');
    expect(
      describeStaging(
        { ...copying, bytes_ok: 2_100_000, bytes_total: 3_400_000 },
        trans
      ).label
    ).toBe('Copying 3 of 4 files (2.10 MB of 3.40 MB)');
  });

  it("gives Rucio's reason for STUCK and SUSPENDED, and says when there is none", () => {
    const stuck = describeStaging(
      staging({ state: 'STUCK', files_stuck: 2, error: 'no source replica' }),
      trans
    );
    expect([stuck.label, stuck.tone, stuck.counts]).toEqual([
      'Stuck: no source replica',
      'problem',
      '4 copying · 2 stuck'
    ]);
    expect(
      describeStaging(staging({ state: 'STUCK', files_stuck: 2 }), trans).label
    ).toBe('Stuck: 2 files cannot be copied');
    expect(
      describeStaging(
        staging({
          state: 'SUSPENDED',
          error: 'over your quota on HUB-FAST'
        }),
        trans
      ).label
    ).toBe('Stopped: over your quota on HUB-FAST');
    expect(
      describeStaging(staging({ state: 'WAITING_APPROVAL' }), trans).label
    ).toBe('Waiting for approval');
  });

  it('says "Queued" for INJECT, and when it starts only if the data says so', () => {
    const now = Date.parse('2026-01-01T10:00:00Z');
    expect(
      describeStaging(staging({ state: 'INJECT' }), trans, now).label
    ).toBe('Queued');
    expect(
      describeStaging(
        staging({ state: 'INJECT', starts_at: '2026-01-01T12:00:00Z' }),
        trans,
        now
      ).label
    ).toBe('Queued, starts in 2h');
  });

  it('words the expiry', () => {
    const now = Date.parse('2026-01-01T10:00:00Z');
    expect(
      describeExpiry(
        staging({ expires_at: '2026-01-03T13:00:00Z' }),
        trans,
        now
      )
    ).toBe('expires in 2d 3h');
    expect(
      describeExpiry(
        staging({ expires_at: '2026-01-01T09:00:00Z' }),
        trans,
        now
      )
    ).toBe('expired');
    expect(describeExpiry(staging({ expires_at: null }), trans, now)).toBe(
      'no expiry'
    );
  });
});

describe('names cut in the middle', () => {
  it('keeps the end that tells similar names apart', () => {
    expect(middleTruncate('demo:big-100k.f099999', 17)).toBe(
      'demo:big-…f099999'
    );
    expect(splitName('demo:big-100k.f099999')).toEqual([
      'demo:big-100k.',
      'f099999'
    ]);
    expect(splitName('demo:lofar-obs-sb000.f0.h5')[1]).toBe('sb000.f0.h5');
    // Short names are never cut; head and tail always make the whole name.
    expect(splitName('demo:sb001')).toEqual(['demo:sb001', '']);
    expect(middleTruncate('demo:sb001', 18)).toBe('demo:sb001');
    const [head, tail] = splitName('scope:a-very-long-name-without-any-end');
    expect(head + tail).toBe('scope:a-very-long-name-without-any-end');
  });
});
