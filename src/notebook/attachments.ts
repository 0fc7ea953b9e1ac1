import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { variableName } from '../names';
import type { DatalakeModel } from '../model';
import { isInFlight } from '../model';
import type { IStagingEvent } from '../tokens';
import { addAttachment, readAttachments, refusedAttachments } from './attach';
import type { IAttachment } from './attach';
import { bindInKernel } from './kernel';

export type AttachmentState = 'unbound' | 'binding' | 'bound' | 'error';

/** Kernel statuses after which variables are gone and must be bound again. */
const FRESH_KERNEL: ReadonlyArray<string> = [
  'starting',
  'restarting',
  'autorestarting'
];

/**
 * The attachments of one notebook: recorded in its metadata, bound in its kernel at
 * start/restart and again when their staging completes.
 */
export class NotebookAttachments {
  constructor(
    readonly panel: NotebookPanel,
    private readonly _model: DatalakeModel
  ) {
    const session = panel.sessionContext;
    session.statusChanged.connect(this._onStatus, this);
    session.kernelChanged.connect(this._onKernelChanged, this);
    _model.stagingEvent.connect(this._onStagingEvent, this);
    _model.stateChanged.connect(this._emit, this);
    // A kernel already running when the notebook opens; a starting one binds on its first idle.
    void session.ready.then(() => {
      if (!this._fresh) {
        void this.bindAll();
      }
    });
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get attachments(): IAttachment[] {
    return this.panel.model ? readAttachments(this.panel.model) : [];
  }

  /** Attachments whose variable a kernel may not bind: shown, never bound. */
  get refused(): IAttachment[] {
    return this.panel.model ? refusedAttachments(this.panel.model) : [];
  }

  get state(): AttachmentState {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  /** Attachments whose staging is still on its way. */
  get staging(): IAttachment[] {
    return this.attachments.filter(a =>
      this._model.stagings.some(
        s => s.did === a.did && s.instance === a.instance && isInFlight(s)
      )
    );
  }

  /** Attach a DID of the current instance and bind it now if a kernel runs. */
  async attach(did: string): Promise<IAttachment | null> {
    const model = this.panel.model;
    if (!model) {
      return null;
    }
    const attachment = addAttachment(model, {
      did,
      instance: this._model.instance,
      variable: variableName(did, this._model.settings.variableNaming)
    });
    this._emit();
    await this._bind([attachment]);
    return attachment;
  }

  /** Bind every attachment in the current kernel. */
  bindAll(): Promise<void> {
    return this._bind(this.attachments);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this); // also every connection made with this as receiver
  }

  private async _bind(attachments: IAttachment[]): Promise<void> {
    const kernel = this.panel.sessionContext.session?.kernel;
    if (!kernel || attachments.length === 0 || this._disposed) {
      return;
    }
    this._state = 'binding';
    this._emit();
    try {
      await bindInKernel(kernel, attachments);
      this._state = 'bound';
      this._error = null;
    } catch (error) {
      this._state = 'error';
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._emit();
  }

  private _onStatus(session: ISessionContext, status: string): void {
    if (FRESH_KERNEL.includes(status)) {
      this._fresh = true;
      this._state = 'unbound';
      this._emit();
    } else if (status === 'idle' && this._fresh) {
      this._fresh = false;
      void this.bindAll();
    }
  }

  private _onKernelChanged(): void {
    this._fresh = true;
  }

  private _onStagingEvent(_: DatalakeModel, event: IStagingEvent): void {
    if (event.kind !== 'completed') {
      return;
    }
    const done = this.attachments.filter(
      a => a.did === event.staging.did && a.instance === event.staging.instance
    );
    void this._bind(done);
  }

  private _emit(): void {
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  private _state: AttachmentState = 'unbound';
  private _error: string | null = null;
  private _fresh = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
