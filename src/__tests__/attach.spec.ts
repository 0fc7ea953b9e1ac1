import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import {
  addAttachment,
  ATTACHMENTS_KEY,
  readAttachments,
  removeAttachment
} from '../notebook/attach';
import { NotebookAttachments } from '../notebook/attachments';
import { bindMessage } from '../notebook/kernel';
import type { DatalakeModel } from '../model';
import { flush } from './fakes';

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

  it('never asks a kernel to bind a name that would break it', () => {
    const nb = fakeNotebook();
    const entry = (variable: string) => ({
      did: 'demo:a',
      instance: 't',
      variable
    });
    nb.setMetadata(ATTACHMENTS_KEY, [
      entry('__builtins__'),
      entry('print'),
      entry('_1'),
      entry('Out'),
      entry('a')
    ] as any);
    expect(readAttachments(nb).map(a => a.variable)).toEqual(['a']);
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

/**
 * A kernel that loads the extension and answers on the `datalake` comm, recording the
 * variables bound through each comm it opened.
 */
function fakeKernel() {
  const comms: { target: string; bound: string[]; isDisposed: boolean }[] = [];
  const kernel = {
    requestExecute: jest.fn(() => ({
      done: Promise.resolve({ content: { status: 'ok' } })
    })),
    createComm: jest.fn((target: string) => {
      const comm = {
        target,
        bound: [] as string[],
        isDisposed: false,
        open: () => ({ done: Promise.resolve() }),
        send: (msg: { name: string }) => {
          comm.bound.push(msg.name);
          return { done: Promise.resolve() };
        },
        close: () => undefined,
        dispose: () => {
          comm.isDisposed = true;
        }
      };
      comms.push(comm);
      return comm;
    })
  };
  return { kernel, comms };
}

describe('NotebookAttachments', () => {
  function setUp() {
    const nb = fakeNotebook();
    addAttachment(nb, {
      did: 'demo:lofar-obs-sb001',
      instance: 'testbed',
      variable: 'sb001'
    });
    const { kernel, comms } = fakeKernel();
    const owner = {};
    const statusChanged = new Signal<any, string>(owner);
    const kernelChanged = new Signal<any, any>(owner);
    const sessionContext = {
      statusChanged,
      kernelChanged,
      ready: Promise.resolve(),
      session: { kernel }
    };
    const panel = { sessionContext, model: nb } as unknown as NotebookPanel;
    const model = {
      stagingEvent: new Signal<any, any>(owner),
      stateChanged: new Signal<any, void>(owner),
      instance: 'testbed',
      settings: { variableNaming: 'short' },
      stagings: []
    } as unknown as DatalakeModel;
    const attachments = new NotebookAttachments(panel, model);
    return { attachments, comms, statusChanged, kernelChanged, kernel };
  }

  it('binds the attachments again after a kernel restart, over a new comm', async () => {
    const { attachments, comms, statusChanged, kernelChanged, kernel } =
      setUp();
    await flush(20);
    expect(attachments.state).toBe('bound');
    expect(comms).toHaveLength(1);
    expect(comms[0].isDisposed).toBe(true);

    // What a restart from the notebook emits (recorded in JupyterLab 4.6): the session
    // context's 'restarting', the kernel's, 'unknown' while it reconnects, kernelChanged
    // with the same kernel connection, then the new process's statuses.
    statusChanged.emit('restarting');
    statusChanged.emit('restarting');
    expect(attachments.state).toBe('unbound');
    statusChanged.emit('unknown');
    kernelChanged.emit({ name: 'kernel', oldValue: kernel, newValue: kernel });
    statusChanged.emit('starting');
    statusChanged.emit('busy');
    statusChanged.emit('idle');
    await flush(20);

    expect(attachments.state).toBe('bound');
    expect(comms).toHaveLength(2);
    expect(comms[1].target).toBe('datalake');
    expect(comms[1].bound).toEqual(['sb001']);
    expect(kernel.requestExecute).toHaveBeenCalledTimes(2);

    // Later idles of the same process bind nothing more.
    statusChanged.emit('busy');
    statusChanged.emit('idle');
    await flush(20);
    expect(comms).toHaveLength(2);
    attachments.dispose();
  });
});

describe('what the kernel holds for an attachment', () => {
  it('is a placeholder while the copy arrives, following the staging, then the paths', async () => {
    const nb = fakeNotebook();
    addAttachment(nb, { did: 'demo:ds', instance: 'testbed', variable: 'ds' });
    let state = 'STAGING';
    const kernel = {
      requestExecute: jest.fn(() => ({
        done: Promise.resolve({ content: { status: 'ok' } })
      })),
      createComm: jest.fn(() => {
        const comm: any = {
          isDisposed: false,
          onMsg: null,
          open: () => ({ done: Promise.resolve() }),
          send: (msg: { name: string }) => {
            comm.onMsg({
              content: {
                data: { name: msg.name, status: 'ok', state, percent: 0 }
              }
            });
            return { done: Promise.resolve() };
          },
          close: () => undefined,
          dispose: () => undefined
        };
        return comm;
      })
    };
    const owner = {};
    const panel = {
      sessionContext: {
        statusChanged: new Signal<any, string>(owner),
        kernelChanged: new Signal<any, any>(owner),
        ready: Promise.resolve(),
        session: { kernel }
      },
      model: nb
    } as unknown as NotebookPanel;
    const stagingEvent = new Signal<any, any>(owner);
    const model = {
      stagingEvent,
      stateChanged: new Signal<any, void>(owner),
      instance: 'testbed',
      settings: { variableNaming: 'short' },
      stagings: [
        {
          id: 'r1',
          did: 'demo:ds',
          instance: 'testbed',
          state: 'REPLICATING',
          files_ok: 1,
          files_total: 4
        }
      ]
    } as unknown as DatalakeModel;
    const attachments = new NotebookAttachments(panel, model);
    await flush(20);
    const [attachment] = attachments.attachments;
    expect(attachments.binding(attachment)).toEqual({
      kind: 'waiting',
      percent: 25
    });
    // Completed: bound again, now to the paths.
    state = 'AVAILABLE';
    stagingEvent.emit({
      kind: 'completed',
      staging: { did: 'demo:ds', instance: 'testbed' }
    });
    await flush(20);
    expect(attachments.binding(attachment)).toEqual({
      kind: 'paths',
      percent: 100
    });
    // Detached: the notebook forgets it.
    expect(attachments.detach('ds')?.did).toBe('demo:ds');
    expect(attachments.attachments).toEqual([]);
    attachments.dispose();
  });
});

describe('a bind that fails', () => {
  it('is tried again when the kernel is next idle, a few times', async () => {
    const nb = fakeNotebook();
    addAttachment(nb, { did: 'demo:ds', instance: 'testbed', variable: 'ds' });
    let failures = 2;
    const kernel = {
      requestExecute: jest.fn(() => ({
        done: Promise.resolve({
          content: { status: failures-- > 0 ? 'error' : 'ok' }
        })
      })),
      createComm: jest.fn(() => ({
        isDisposed: false,
        open: () => ({ done: Promise.resolve() }),
        send: () => ({ done: Promise.resolve() }),
        close: () => undefined,
        dispose: () => undefined
      }))
    };
    const owner = {};
    const statusChanged = new Signal<any, string>(owner);
    const panel = {
      sessionContext: {
        statusChanged,
        kernelChanged: new Signal<any, any>(owner),
        ready: Promise.resolve(),
        session: { kernel }
      },
      model: nb
    } as unknown as NotebookPanel;
    const model = {
      stagingEvent: new Signal<any, any>(owner),
      stateChanged: new Signal<any, void>(owner),
      instance: 'testbed',
      settings: { variableNaming: 'short' },
      stagings: []
    } as unknown as DatalakeModel;
    const attachments = new NotebookAttachments(panel, model);
    await flush(20);
    expect(attachments.state).toBe('error');
    statusChanged.emit('busy');
    statusChanged.emit('idle');
    await flush(20);
    expect(attachments.state).toBe('error');
    statusChanged.emit('idle');
    await flush(20);
    expect(attachments.state).toBe('bound');
    expect(kernel.requestExecute).toHaveBeenCalledTimes(3);
    // Bound: later idles bind nothing more.
    statusChanged.emit('idle');
    await flush(20);
    expect(kernel.requestExecute).toHaveBeenCalledTimes(3);
    attachments.dispose();
  });
});
