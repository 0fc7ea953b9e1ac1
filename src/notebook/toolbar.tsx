import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { datalakeIcon } from '../icons';
import type { NotebookAttachments } from './attachments';

/**
 * Notebook toolbar item: how many DIDs are attached, and whether they are bound,
 * still staging, or failed to bind.
 */
export class AttachmentsItem extends ReactWidget {
  constructor(
    private readonly _attachments: NotebookAttachments,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-datalake-attachments');
    _attachments.changed.connect(this._onChange, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._attachments.changed.disconnect(this._onChange, this);
    super.dispose();
  }

  render(): JSX.Element | null {
    const trans = this._trans;
    const list = this._attachments.attachments;
    const refused = this._attachments.refused;
    if (list.length === 0 && refused.length === 0) {
      return null;
    }
    const staging = this._attachments.staging.length;
    const state =
      this._attachments.state === 'error' || refused.length > 0
        ? 'error'
        : staging > 0
          ? 'staging'
          : this._attachments.state;
    const label =
      refused.length > 0
        ? trans._n(
            '%1 attachment refused: bad variable name',
            '%1 attachments refused: bad variable names',
            refused.length
          )
        : state === 'error'
          ? trans.__('%1 attached, not bound', list.length)
          : state === 'staging'
            ? trans.__('%1 attached, %2 staging', list.length, staging)
            : trans._n('%1 DID attached', '%1 DIDs attached', list.length);
    const details = [
      ...refused.map(a =>
        trans.__(
          '%1 = %2 is not bound: the name would shadow one Python or IPython needs (such as list, In or __builtins__). Attach %2 again to get a valid name.',
          a.variable,
          a.did
        )
      ),
      ...list.map(a => `${a.variable} = ${a.did} (${a.instance})`)
    ].join('\n');
    return (
      <span
        className="jp-datalake-attachments-label"
        data-state={state}
        data-count={list.length}
        role="status"
        aria-label={trans.__('Data lake attachments: %1', label)}
        title={
          this._attachments.error
            ? `${this._attachments.error}\n${details}`
            : details
        }
      >
        <datalakeIcon.react
          tag="span"
          className="jp-datalake-attachments-icon"
        />
        {label}
      </span>
    );
  }

  private _onChange(): void {
    this.update();
  }
}
