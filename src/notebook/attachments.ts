import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { variableName } from '../names';
import { isInFlight } from '../states';
import type { IDatalakeModel, IStagingEvent } from '../tokens';
import { progressPercent } from '../staging';
import { addAttachment, readAttachments, removeAttachment } from './attach';
import type { IAttachment } from './attach';
import { bindInKernel } from './kernel';
import type { IBindReply } from './kernel';

export type AttachmentState = 'unbound' | 'binding' | 'bound' | 'error';

/**
 * What the kernel holds for one attachment: its paths (`paths`), a placeholder while the
 * copy arrives (`waiting`, with how far it is), or a placeholder because nothing near the
 * hub is staged (`not-staged`).
 */
export interface IBinding {
  kind: 'paths' | 'waiting' | 'not-staged';
  percent: number | null;
}

/** Binds that failed are tried again at the kernel's next idle, this many times. */
const MAX_BIND_RETRIES = 3;

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
    private readonly _model: IDatalakeModel
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

  /**
   * What the kernel holds for an attachment, as it answered the last bind; how far a copy
   * on its way is follows the model's stagings. `null` before the kernel answered.
   */
  binding(attachment: IAttachment): IBinding | null {
    const reply = this._replies.get(attachment.variable);
    if (!reply || reply.status !== 'ok') {
      return null;
    }
    if (reply.state === 'AVAILABLE') {
      return { kind: 'paths', percent: 100 };
    }
    const moving = this._model.stagings.find(
      s =>
        s.did === attachment.did &&
        s.instance === attachment.instance &&
        isInFlight(s)
    );
    if (reply.state === 'STAGING' || moving) {
      return {
        kind: 'waiting',
        percent: moving ? progressPercent(moving) : (reply.percent ?? null)
      };
    }
    return { kind: 'not-staged', percent: null };
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

  /**
   * Forget an attachment. The kernel keeps the variable until it restarts (there is no
   * unbind: a running notebook may still use it).
   */
  detach(variable: string): IAttachment | null {
    const model = this.panel.model;
    const attachment = this.attachments.find(a => a.variable === variable);
    if (!model || !attachment) {
      return null;
    }
    removeAttachment(model, variable);
    this._replies.delete(variable);
    this._emit();
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
      const replies = await bindInKernel(kernel, attachments);
      for (const reply of replies) {
        this._replies.set(reply.name, reply);
      }
      const refused = replies.find(r => r.status === 'error');
      this._state = refused ? 'error' : 'bound';
      this._error = refused ? (refused.message ?? null) : null;
    } catch (error) {
      this._state = 'error';
      this._error = error instanceof Error ? error.message : String(error);
    }
    // A kernel that just (re)started may not answer the first time: try again when it is
    // next idle, a few times, before leaving the error to the user.
    this._retries = this._state === 'error' ? this._retries + 1 : 0;
    this._retryOnIdle =
      this._state === 'error' && this._retries <= MAX_BIND_RETRIES;
    this._emit();
  }

  private _onStatus(session: ISessionContext, status: string): void {
    if (FRESH_KERNEL.includes(status)) {
      this._fresh = true;
      this._state = 'unbound';
      this._replies.clear();
      this._emit();
    } else if (status === 'idle' && (this._fresh || this._retryOnIdle)) {
      this._fresh = false;
      this._retryOnIdle = false;
      void this.bindAll();
    }
  }

  private _onKernelChanged(): void {
    this._fresh = true;
  }

  private _onStagingEvent(_: IDatalakeModel, event: IStagingEvent): void {
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
  private _replies = new Map<string, IBindReply>();
  private _error: string | null = null;
  private _fresh = false;
  private _retryOnIdle = false;
  private _retries = 0;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
