import type { INotebookModel } from '@jupyterlab/notebook';

import {
  addAttachment,
  ATTACHMENTS_KEY,
  readAttachments,
  removeAttachment
} from '../notebook/attach';
import { bindMessage } from '../notebook/kernel';

function fakeNotebook(): INotebookModel {
  const metadata: Record<string, any> = {};
  return {
    getMetadata: (key: string) => metadata[key],
    setMetadata: (key: string, value: any) => {
      metadata[key] = JSON.parse(JSON.stringify(value));
    },
    deleteMetadata: (key: string) => {
      delete metadata[key];
    }
  } as unknown as INotebookModel;
}

describe('notebook attachments', () => {
  it('records {did, instance, variable} once per DID and keeps names unique', () => {
    const nb = fakeNotebook();
    const a = addAttachment(nb, {
      did: 'demo:lofar-obs-sb001',
      instance: 'testbed',
      variable: 'sb001'
    });
    addAttachment(nb, { ...a });
    const b = addAttachment(nb, {
      did: 'other:x-sb001',
      instance: 'testbed',
      variable: 'sb001'
    });
    expect(b.variable).toBe('sb001_2');
    expect(nb.getMetadata(ATTACHMENTS_KEY)).toEqual([
      { did: 'demo:lofar-obs-sb001', instance: 'testbed', variable: 'sb001' },
      { did: 'other:x-sb001', instance: 'testbed', variable: 'sb001_2' }
    ]);
    removeAttachment(nb, 'sb001');
    removeAttachment(nb, 'sb001_2');
    expect(nb.getMetadata(ATTACHMENTS_KEY)).toBeUndefined();
  });

  it('ignores malformed metadata', () => {
    const nb = fakeNotebook();
    nb.setMetadata(ATTACHMENTS_KEY, [
      { did: 1 },
      'x',
      {
        did: 'demo:a',
        instance: 'testbed',
        variable: 'a'
      }
    ] as any);
    expect(readAttachments(nb)).toEqual([
      { did: 'demo:a', instance: 'testbed', variable: 'a' }
    ]);
  });

  it('sends values, never code, to the kernel', () => {
    expect(
      bindMessage({ did: 'demo:a', instance: 'testbed', variable: 'a' })
    ).toEqual({
      action: 'bind',
      name: 'a',
      did: 'demo:a',
      instance: 'testbed'
    });
  });
});
