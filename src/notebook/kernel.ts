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
 * Ask the kernel to bind attachments to their variables over the `datalake` comm.
 */
export async function bindInKernel(
  kernel: Kernel.IKernelConnection,
  attachments: IAttachment[]
): Promise<void> {
  if (attachments.length === 0) {
    return;
  }
  await loadKernelExtension(kernel);
  const comm = kernel.createComm(COMM_TARGET);
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
}
