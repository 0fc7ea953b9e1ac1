import { Lifecycle } from '../lifecycle';
import type { ILifecycleAPI, IUploadLine } from '../lifecycle';
import { DatalakeRequestError } from '../request';

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
