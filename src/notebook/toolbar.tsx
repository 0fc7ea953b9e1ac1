import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { Menu } from '@lumino/widgets';
import React from 'react';

import { datalakeIcon } from '../icons';
import type { IAttachment } from './attach';
import type { NotebookAttachments } from './attachments';

/** The attachments' state in a word, for styles and tests. */
type LabelState = 'error' | 'binding' | 'waiting' | 'not-staged' | 'bound';

/**
 * Notebook toolbar item: the attached DIDs and what the kernel holds for them — their
 * paths ("1 DID attached"), a placeholder while the copy arrives ("sb001: waiting for data
 * (40%)"), or an error. A click opens a menu to detach them.
 */
export class AttachmentsItem extends ReactWidget {
  constructor(
    private readonly _attachments: NotebookAttachments,
    private readonly _trans: TranslationBundle,
    private readonly _commands: CommandRegistry,
    private readonly _detachCommand: string
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
    const [state, label] = this._label(list, refused);
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
      <button
        type="button"
        className="jp-datalake-attachments-label"
        data-state={state}
        data-count={list.length}
        aria-haspopup="menu"
        aria-label={this._trans.__('Data lake attachments: %1', label)}
        title={
          this._attachments.error
            ? `${this._attachments.error}\n${details}`
            : details
        }
        onClick={event => this._openMenu(event.currentTarget)}
      >
        <datalakeIcon.react
          tag="span"
          className="jp-datalake-attachments-icon"
        />
        <span role="status">{label}</span>
      </button>
    );
  }

  private _label(
    list: IAttachment[],
    refused: IAttachment[]
  ): [LabelState, string] {
    const trans = this._trans;
    const attachments = this._attachments;
    if (refused.length > 0) {
      // Variables from a shared notebook a kernel may not bind: never sent, said here.
      return [
        'error',
        trans._n(
          '%1 attachment refused: bad variable name',
          '%1 attachments refused: bad variable names',
          refused.length
        )
      ];
    }
    if (attachments.state === 'error') {
      return ['error', trans.__('%1 attached, not bound', list.length)];
    }
    if (attachments.state === 'binding') {
      return ['binding', trans.__('binding %1…', list.length)];
    }
    const bindings = list.map(a => ({ a, b: attachments.binding(a) }));
    const waiting = bindings.filter(x => x.b?.kind === 'waiting');
    if (waiting.length > 0) {
      const percents = waiting.map(x => x.b!.percent ?? 0);
      const percent = Math.min(...percents);
      return [
        'waiting',
        waiting.length === 1
          ? trans.__(
              '%1: waiting for data (%2%)',
              waiting[0].a.variable,
              percent
            )
          : trans.__('%1 waiting for data (%2%)', waiting.length, percent)
      ];
    }
    const absent = bindings.filter(x => x.b?.kind === 'not-staged');
    if (absent.length > 0) {
      return [
        'not-staged',
        absent.length === 1
          ? trans.__('%1: not near the hub', absent[0].a.variable)
          : trans.__('%1 not near the hub', absent.length)
      ];
    }
    if (bindings.every(x => x.b?.kind === 'paths')) {
      return [
        'bound',
        trans._n('%1 DID attached', '%1 DIDs attached', list.length)
      ];
    }
    return ['binding', trans.__('binding %1…', list.length)];
  }

  private _openMenu(anchor: HTMLElement): void {
    const menu = new Menu({ commands: this._commands });
    menu.addClass('jp-datalake-attachments-menu');
    for (const a of this._attachments.attachments) {
      menu.addItem({
        command: this._detachCommand,
        args: { variable: a.variable }
      });
    }
    menu.aboutToClose.connect(() =>
      requestAnimationFrame(() => menu.dispose())
    );
    const box = anchor.getBoundingClientRect();
    menu.open(box.left, box.bottom);
  }

  private _onChange(): void {
    this.update();
  }
}
