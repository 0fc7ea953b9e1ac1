import type { Kernel, KernelMessage } from '@jupyterlab/services';

import type { IAttachment } from './attach';

/** The comm target registered by the `jupyterlab_datalake` IPython extension. */
export const COMM_TARGET = 'datalake';

/**
 * What the kernel side receives to bind a variable: values only, never generated code.
 */
export interface IBindMessage {
  action: 'bind';
  name: string;
  did: string;
  instance: string;
}

export function bindMessage(attachment: IAttachment): IBindMessage {
  return {
    action: 'bind',
    name: attachment.variable,
    did: attachment.did,
    instance: attachment.instance
  };
}

/**
 * Load the IPython extension quietly (harmless when already loaded), so the comm target
 * exists even in kernels not started by this server.
 *
 * @throws Error with a sentence for the user when the extension cannot be loaded.
 */
export async function loadKernelExtension(
  kernel: Kernel.IKernelConnection
): Promise<void> {
  const reply = (await kernel.requestExecute(
    {
      code: '%load_ext jupyterlab_datalake',
      silent: true,
      store_history: false
    },
    true
  ).done) as KernelMessage.IExecuteReplyMsg;
  if (reply.content.status !== 'ok') {
    throw new Error(
      'The kernel cannot load jupyterlab_datalake: install it in the kernel environment (pip install jupyterlab-datalake), then restart the kernel.'
    );
  }
}

/**
 * The kernel's answer to one bind: the paths (`AVAILABLE`), a placeholder while the copy is
 * on its way (`STAGING`, with how far it is) or because nothing is staged (`NOT_STAGED`),
 * or an error with a sentence.
 */
export interface IBindReply {
  name: string;
  status: 'ok' | 'error';
  state?: 'AVAILABLE' | 'STAGING' | 'NOT_STAGED';
  percent?: number | null;
  message?: string;
}

/**
 * Ask the kernel to bind attachments to their variables over the `datalake` comm; returns
 * the kernel's answer for each variable it answered for.
 */
export async function bindInKernel(
  kernel: Kernel.IKernelConnection,
  attachments: IAttachment[]
): Promise<IBindReply[]> {
  if (attachments.length === 0) {
    return [];
  }
  await loadKernelExtension(kernel);
  const comm = kernel.createComm(COMM_TARGET);
  const replies: IBindReply[] = [];
  // Answers arrive on IOPub while the kernel handles each message, before it is done.
  comm.onMsg = msg => {
    const data = msg.content.data as unknown as IBindReply;
    if (data && typeof data.name === 'string') {
      replies.push(data);
    }
  };
  let failure: unknown = null;
  try {
    await comm.open({}).done;
    for (const attachment of attachments) {
      await comm.send(bindMessage(attachment) as any).done;
    }
  } catch (error) {
    failure = error;
  }
  if (!comm.isDisposed) {
    comm.close();
  }
  comm.dispose();
  if (failure !== null) {
    throw failure;
  }
  return replies;
}
