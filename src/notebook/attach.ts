import type { INotebookModel } from '@jupyterlab/notebook';

import { isBindableName } from '../names';

/** Notebook metadata key holding the DIDs bound to kernel variables. */
export const ATTACHMENTS_KEY = 'datalake_attachments';

/**
 * A DID attached to a notebook: the kernel binds its paths to `variable`.
 */
export interface IAttachment {
  did: string;
  instance: string;
  variable: string;
}

function isAttachment(value: unknown): value is IAttachment {
  const v = value as IAttachment;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.did === 'string' &&
    typeof v.instance === 'string' &&
    typeof v.variable === 'string'
  );
}

function recorded(model: INotebookModel): IAttachment[] {
  const value = model.getMetadata(ATTACHMENTS_KEY);
  return Array.isArray(value) ? value.filter(isAttachment) : [];
}

/**
 * The notebook's attachments; malformed entries (hand-edited metadata) are skipped, and so
 * are those whose variable would break the kernel (see `refusedAttachments`).
 */
export function readAttachments(model: INotebookModel): IAttachment[] {
  return recorded(model).filter(a => isBindableName(a.variable));
}

/**
 * Attachments never sent to the kernel: their variable (say `__builtins__`, from a notebook
 * someone shared) would shadow a name Python or IPython needs.
 */
export function refusedAttachments(model: INotebookModel): IAttachment[] {
  return recorded(model).filter(a => !isBindableName(a.variable));
}

/**
 * Record an attachment; the same DID and instance is recorded once, and a variable name
 * already used by another DID gets a numeric suffix.
 */
export function addAttachment(
  model: INotebookModel,
  attachment: IAttachment
): IAttachment {
  const current = readAttachments(model);
  const existing = current.find(
    a => a.did === attachment.did && a.instance === attachment.instance
  );
  if (existing) {
    return existing;
  }
  const taken = new Set(current.map(a => a.variable));
  let variable = attachment.variable;
  for (let n = 2; taken.has(variable); n++) {
    variable = `${attachment.variable}_${n}`;
  }
  const added = { ...attachment, variable };
  model.setMetadata(ATTACHMENTS_KEY, [...current, added] as any);
  return added;
}

/** Forget an attachment (the kernel variable stays until the kernel restarts). */
export function removeAttachment(
  model: INotebookModel,
  variable: string
): void {
  const rest = readAttachments(model).filter(a => a.variable !== variable);
  if (rest.length > 0) {
    model.setMetadata(ATTACHMENTS_KEY, rest as any);
  } else {
    model.deleteMetadata(ATTACHMENTS_KEY);
  }
}
