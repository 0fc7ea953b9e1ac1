import { DidDetails } from '../details';
import type { IDetailsSource } from '../details';
import { DatalakeRequestError } from '../request';
import type { IDIDInfo } from '../tokens';
import { did } from './fakes';

const SB001 = 'demo:lofar-obs-sb001';

/** A source whose reads fail with `error` until `heal()`; counts the reads of the DID. */
function failingSource(error: DatalakeRequestError) {
  let healed = false;
  const reads = { count: 0 };
  const info = { ...did(SB001, 'DATASET') } as unknown as IDIDInfo;
  const source: IDetailsSource = {
    did: async () => {
      reads.count++;
      if (!healed) {
        throw error;
      }
      return info;
    },
    replicas: async () => [],
    rules: async () => []
  };
  return { source, reads, heal: () => (healed = true) };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) {
      throw new Error('timed out');
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

describe('DidDetails', () => {
  it('reads again by itself after the data lake failed, until it answers', async () => {
    const lake = failingSource(
      new DatalakeRequestError(
        502,
        'RUCIO_UNREACHABLE',
        'Rucio is unreachable.'
      )
    );
    const details = new DidDetails(
      SB001,
      () => lake.source,
      () => undefined,
      20
    );
    await until(() => details.infoError !== null);
    expect(details.infoError?.reason).toBe('RUCIO_UNREACHABLE');
    // Nobody asks for a reload: once Rucio answers, the page shows the details.
    lake.heal();
    await until(() => details.info !== null);
    expect(details.hasError).toBe(false);
    // And it stops asking.
    const after = lake.reads.count;
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(lake.reads.count).toBe(after);
    details.dispose();
  });

  it('does not read again what cannot change by itself (a DID that does not exist)', async () => {
    const lake = failingSource(
      new DatalakeRequestError(404, 'DID_NOT_FOUND', 'No such DID.')
    );
    const details = new DidDetails(
      SB001,
      () => lake.source,
      () => undefined,
      20
    );
    await until(() => details.infoError !== null);
    await new Promise(resolve => setTimeout(resolve, 150));
    expect(lake.reads.count).toBe(1);
    details.dispose();
  });
});
