import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, screen } from '@testing-library/react';

import { Lifecycle } from '../lifecycle';
import type { ILifecycleAPI, IUploadLine, IVerifyLine } from '../lifecycle';
import { DatalakeRequestError } from '../request';
import { showVerification } from '../widgets/lifecycle';

const trans = nullTranslator.load('jupyterlab_datalake');

/** An API whose upload plays the given lines, as the shim's stream would. */
function playing(lines: IUploadLine[], fail?: Error): ILifecycleAPI {
  return {
    upload: async (_, onLine) => {
      lines.forEach(onLine);
      if (fail) {
        throw fail;
      }
      return lines;
    },
    verify: async () => [],
    move: async () => {
      throw new Error('not used');
    }
  };
}

/** An API whose verify plays the given lines, as the shim's stream would. */
function verifying(lines: IVerifyLine[]): ILifecycleAPI {
  return {
    ...playing([]),
    verify: async (_, __, onLine) => {
      lines.forEach(onLine);
      return lines;
    }
  };
}

/** A copy's line in a verification's stream. */
function copy(
  name: string,
  state: IVerifyLine['state'],
  found: string | null = 'aaaa0001'
): IVerifyLine {
  return {
    state,
    did: `demo:${name}`,
    rse: 'HUB-FAST',
    path: `/lake/demo/${name}`,
    expected: state === 'NO_CHECKSUM' ? null : 'aaaa0001',
    found
  };
}

/** What the verification dialog says; closes it with its Close button. */
async function verificationText(
  lines: IVerifyLine[]
): Promise<{ text: string; offered: boolean }> {
  const result = await new Lifecycle(verifying(lines)).verify('demo:ds');
  let answer = Promise.resolve(false);
  act(() => {
    answer = showVerification(result, trans);
  });
  const summary = await screen.findByText(/local cop(y|ies) of demo:ds/);
  const body = summary.closest('.jp-datalake-verification');
  const text = [...(body?.querySelectorAll('p') ?? [])]
    .map(p => p.textContent)
    .join(' ');
  act(() => {
    fireEvent.click(screen.getByText('Close'));
  });
  return { text, offered: await answer };
}

describe('Lifecycle.upload', () => {
  it('adds up the bytes of every file and ends done', async () => {
    const seen: number[] = [];
    const lifecycle = new Lifecycle(
      playing([
        { state: 'PLANNED', files: 2, bytes: 300 },
        { state: 'UPLOADING', path: 'a', bytes_done: 50, bytes: 100 },
        { state: 'UPLOADING', path: 'b', bytes_done: 100, bytes: 200 },
        { state: 'UPLOADED', path: 'a', bytes: 100 },
        { state: 'EXISTS', path: 'b', bytes: 200 },
        { state: 'DONE' }
      ])
    );
    lifecycle.changed.connect(() =>
      seen.push(lifecycle.uploads[0]?.bytesDone ?? -1)
    );

    const upload = await lifecycle.upload({
      paths: ['a', 'b'],
      to: 'user.alice',
      qos: 'SAFE'
    });

    expect(seen).toEqual([0, 0, 50, 150, 200, 300, 300, 300]);
    expect(upload.label).toBe('2 items');
    expect(upload).toMatchObject({
      files: 2,
      bytes: 300,
      bytesDone: 300,
      uploaded: 1,
      existing: 1,
      state: 'done',
      error: null
    });
  });

  it('ends failed with the first file’s sentence', async () => {
    const error = { status: 409, reason: 'NAME_TAKEN', message: 'taken' };
    const lifecycle = new Lifecycle(
      playing([
        { state: 'PLANNED', files: 1, bytes: 10 },
        { state: 'FAILED', path: 'a', did: 'user.alice:a', error },
        { state: 'DONE' }
      ])
    );
    const upload = await lifecycle.upload({
      paths: ['a'],
      to: 'user.alice',
      qos: 'SAFE'
    });
    expect(upload.state).toBe('failed');
    expect(upload.error).toEqual(error);
  });

  it('ends failed with the refusal when the shim refuses before any byte', async () => {
    const lifecycle = new Lifecycle(
      playing(
        [],
        new DatalakeRequestError(403, 'SCOPE_NOT_YOURS', 'not your scope')
      )
    );
    const upload = await lifecycle.upload({
      paths: ['a'],
      to: 'demo',
      qos: 'SAFE'
    });
    expect(upload).toMatchObject({
      state: 'failed',
      error: { status: 403, reason: 'SCOPE_NOT_YOURS' }
    });
  });
});

describe('Verify copies', () => {
  it('says all match when every copy was checked', async () => {
    const { text } = await verificationText([
      { state: 'PLANNED', did: 'demo:ds' },
      copy('a', 'OK'),
      copy('b', 'OK'),
      { state: 'DONE', did: 'demo:ds', checked: 2, mismatches: 0, unchecked: 0 }
    ]);
    expect(text).toBe(
      '2 local copies of demo:ds checked: all match Rucio’s checksums.'
    );
  });

  it('says how many copies Rucio keeps no checksum for, never as bad ones', async () => {
    const lines: IVerifyLine[] = [
      { state: 'PLANNED', did: 'demo:ds' },
      copy('a', 'OK'),
      copy('b', 'NO_CHECKSUM', null),
      copy('c', 'NO_CHECKSUM', null),
      { state: 'DONE', did: 'demo:ds', checked: 1, mismatches: 0, unchecked: 2 }
    ];
    const result = await new Lifecycle(verifying(lines)).verify('demo:ds');
    expect(result).toMatchObject({ checked: 1, unchecked: 2, mismatches: [] });

    const { text, offered } = await verificationText(lines);
    expect(text).toBe(
      '1 local copies of demo:ds checked: all match Rucio’s checksums. ' +
        '2 copies could not be checked: Rucio keeps no checksum for them.'
    );
    expect(offered).toBe(false);
  });

  it('never says all match when no copy could be checked', async () => {
    const { text } = await verificationText([
      { state: 'PLANNED', did: 'demo:ds' },
      copy('a', 'NO_CHECKSUM', null),
      copy('b', 'NO_CHECKSUM', null),
      { state: 'DONE', did: 'demo:ds', checked: 0, mismatches: 0, unchecked: 2 }
    ]);
    expect(text).toBe(
      'No local copy of demo:ds was checked. ' +
        '2 copies could not be checked: Rucio keeps no checksum for them.'
    );
  });

  it('says it beside the mismatches, in the singular for one copy', async () => {
    const { text } = await verificationText([
      { state: 'PLANNED', did: 'demo:ds' },
      copy('a', 'MISMATCH', 'bbbb0002'),
      copy('b', 'OK'),
      copy('c', 'NO_CHECKSUM', null),
      { state: 'DONE', did: 'demo:ds', checked: 2, mismatches: 1, unchecked: 1 }
    ]);
    expect(text).toBe(
      '1 of 2 local copies of demo:ds do not match Rucio’s checksum: ' +
        '1 copy could not be checked: Rucio keeps no checksum for it.'
    );
  });
});
