import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import {
  addAttachment,
  ATTACHMENTS_KEY,
  readAttachments,
  refusedAttachments,
  removeAttachment
} from '../notebook/attach';
import { NotebookAttachments } from '../notebook/attachments';
import { bindMessage } from '../notebook/kernel';
import type { DatalakeModel } from '../model';
import { flush } from './fakes';

/** Let promises and the retry timers run (with jest's fake timers on). */
async function flushWithTimers(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
    await jest.advanceTimersByTimeAsync(1000);
  }
}

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
    expect(refusedAttachments(nb).map(a => a.variable)).toEqual([
      '__builtins__',
      'print',
      '_1',
      'Out'
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

/**
 * A kernel that loads the extension and answers on the `datalake` comm, recording the
 * variables bound through each comm it opened.
 */
function fakeKernel(
  answer: (
    name: string,
    call: number
  ) => { status: string; [key: string]: unknown } = () => ({
    status: 'ok',
    state: 'AVAILABLE'
  })
) {
  const comms: {
    target: string;
    bound: string[];
    isDisposed: boolean;
    onMsg?: (msg: any) => void;
  }[] = [];
  let calls = 0;
  const kernel = {
    status: 'idle',
    requestExecute: jest.fn(() => ({
      done: Promise.resolve({ content: { status: 'ok' } })
    })),
    createComm: jest.fn((target: string) => {
      const comm = {
        target,
        bound: [] as string[],
        isDisposed: false,
        onMsg: undefined as ((msg: any) => void) | undefined,
        open: () => ({ done: Promise.resolve() }),
        send: (msg: { name: string }) => {
          const reply = { name: msg.name, ...answer(msg.name, ++calls) };
          if (reply.status === 'ok') {
            comm.bound.push(msg.name);
          }
          comm.onMsg?.({ content: { data: reply } });
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

/** Attachments of a notebook with one DID attached, in a kernel that binds over its comm. */
function setUpAttachments(answer?: Parameters<typeof fakeKernel>[0]) {
  const nb = fakeNotebook();
  addAttachment(nb, {
    did: 'demo:lofar-obs-sb001',
    instance: 'testbed',
    variable: 'sb001'
  });
  const { kernel, comms } = fakeKernel(answer);
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
  return { attachments, comms, statusChanged, kernelChanged, kernel, nb };
}

describe('NotebookAttachments', () => {
  function setUp() {
    return setUpAttachments();
  }

  /** What a restart emits (see the first test), up to the new process's first idle. */
  function restart(
    statusChanged: Signal<any, string>,
    kernelChanged: Signal<any, any>,
    kernel: unknown
  ) {
    statusChanged.emit('restarting');
    statusChanged.emit('unknown');
    kernelChanged.emit({ name: 'kernel', oldValue: kernel, newValue: kernel });
    statusChanged.emit('starting');
    statusChanged.emit('busy');
    statusChanged.emit('idle');
  }

  it('tries a bind again when the kernel answers it could not bind (the lake was slow)', async () => {
    // The first bind after the restart meets a data lake that did not answer in time.
    const { attachments, comms, statusChanged, kernelChanged, kernel } =
      setUpAttachments((_, call) =>
        call === 2
          ? {
              status: 'error',
              message: 'The data lake did not answer within 30 s.'
            }
          : { status: 'ok', state: 'AVAILABLE' }
      );
    await flush(20);
    expect(comms[0].bound).toEqual(['sb001']);
    jest.useFakeTimers();
    restart(statusChanged, kernelChanged, kernel);
    await flushWithTimers();
    expect(comms[1].bound).toEqual([]);
    expect(comms[2].bound).toEqual(['sb001']);
    expect(attachments.state).toBe('bound');
    jest.useRealTimers();
    attachments.dispose();
  });

  it('never says bound when the kernel did not answer for a variable', async () => {
    const { attachments, comms } = setUpAttachments(() => ({
      status: 'error',
      message: 'Rucio at http://r is unreachable (ConnectError).'
    }));
    jest.useFakeTimers();
    await flushWithTimers();
    expect(comms).toHaveLength(3); // tried three times, then the error stays shown
    expect(attachments.state).toBe('error');
    expect(attachments.error).toBe(
      'Rucio at http://r is unreachable (ConnectError).'
    );
    jest.useRealTimers();
    attachments.dispose();
  });

  it('binds the process that started while a bind for the previous one ran', async () => {
    const { attachments, comms, statusChanged, kernelChanged, kernel } =
      setUp();
    await flush(20);
    // A bind is under way when the kernel restarts again; its new process is idle before the
    // bind returns (its messages went to the old process).
    let release: () => void = () => undefined;
    kernel.requestExecute.mockImplementationOnce(() => ({
      done: new Promise(resolve => {
        release = () => resolve({ content: { status: 'ok' } });
      })
    }));
    restart(statusChanged, kernelChanged, kernel);
    await flush(5);
    restart(statusChanged, kernelChanged, kernel);
    release();
    await flush(20);
    expect(comms[comms.length - 1].bound).toEqual(['sb001']);
    expect(comms).toHaveLength(3);
    expect(attachments.state).toBe('bound');
    attachments.dispose();
  });

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
  it('is tried again after a pause (no idle may follow), a few times', async () => {
    jest.useFakeTimers();
    let failures = 2;
    const { attachments, kernel, statusChanged } = setUpAttachments();
    kernel.requestExecute.mockImplementation(() => ({
      done: Promise.resolve({
        content: { status: failures-- > 0 ? 'error' : 'ok' }
      })
    }));
    await flushWithTimers();
    expect(attachments.state).toBe('bound');
    expect(kernel.requestExecute).toHaveBeenCalledTimes(3);
    // Bound: later idles bind nothing more.
    statusChanged.emit('busy');
    statusChanged.emit('idle');
    await flushWithTimers();
    expect(kernel.requestExecute).toHaveBeenCalledTimes(3);
    jest.useRealTimers();
    attachments.dispose();
  });
});
