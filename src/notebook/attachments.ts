import type { ISessionContext } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { variableName } from '../names';
import { isInFlight } from '../states';
import type { IDatalakeModel, IStagingEvent } from '../tokens';
import { progressPercent } from '../staging';
import {
  addAttachment,
  readAttachments,
  refusedAttachments,
  removeAttachment
} from './attach';
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

/** Tries of a bind in one kernel process, and the pause before the next (times the try). */
const BIND_ATTEMPTS = 3;
const RETRY_MS = 1000;

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
    // A kernel already running when the notebook opens is a process this view has not bound
    // yet; a starting one's first idle finds the bind under way, so it runs once.
    void session.ready.then(() => {
      this._fresh = true;
      void this._bindFresh();
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

  /** Bind every attachment in the current kernel; true once the kernel says it did. */
  bindAll(): Promise<boolean> {
    return this._bind(this.attachments);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this); // also every connection made with this as receiver
  }

  /**
   * Bind `attachments`; true when the kernel answered that it bound every one of them (a
   * variable it did not answer for, or answered with an error, is not bound).
   */
  private async _bind(attachments: IAttachment[]): Promise<boolean> {
    const kernel = this.panel.sessionContext.session?.kernel;
    if (!kernel || attachments.length === 0 || this._disposed) {
      return true;
    }
    this._state = 'binding';
    this._emit();
    let bound = false;
    try {
      const replies = await bindInKernel(kernel, attachments);
      for (const reply of replies) {
        this._replies.set(reply.name, reply);
      }
      const refused = replies.find(r => r.status === 'error');
      const answered = new Set(
        replies.filter(r => r.status === 'ok').map(r => r.name)
      );
      bound = attachments.every(a => answered.has(a.variable));
      this._state = bound ? 'bound' : 'error';
      this._error = bound
        ? null
        : (refused?.message ?? 'The kernel did not answer for every variable.');
    } catch (error) {
      this._state = 'error';
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._emit();
    return bound;
  }

  /**
   * Bind everything in a fresh kernel process until it says it did. A bind can meet another
   * restart (its messages die with the old process), or a kernel that cannot reach the data
   * lake for a moment: the new process is bound on its own, a failed bind is tried again a
   * few times (after a pause: no idle may follow). The idle that started the process may
   * come while a bind runs: then the running one goes on with it.
   */
  private async _bindFresh(): Promise<void> {
    if (this._binding) {
      return;
    }
    this._binding = true;
    let attempts = 0;
    while (this._fresh && !this._disposed && attempts < BIND_ATTEMPTS) {
      const generation = this._generation;
      const bound = await this._bind(this.attachments);
      if (generation !== this._generation) {
        attempts = 0; // another process meanwhile: it needs its own bind, once it is idle
        if (this.panel.sessionContext.session?.kernel?.status !== 'idle') {
          break;
        }
      } else if (bound || ++attempts === BIND_ATTEMPTS) {
        this._fresh = false; // bound, or the error stays shown in the toolbar
      } else {
        await new Promise(resolve => setTimeout(resolve, attempts * RETRY_MS));
      }
    }
    this._binding = false;
  }

  private _onStatus(session: ISessionContext, status: string): void {
    if (FRESH_KERNEL.includes(status)) {
      this._freshProcess();
      this._state = 'unbound';
      this._replies.clear();
      this._emit();
    } else if (status === 'idle' && this._fresh) {
      void this._bindFresh();
    }
  }

  private _onKernelChanged(): void {
    this._freshProcess();
  }

  private _freshProcess(): void {
    this._fresh = true;
    this._generation++;
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
  /** A kernel process not bound yet (set at start and restart, cleared once it is bound). */
  private _fresh = false;
  /** Counts kernel processes, so a bind knows whether its process is still the one. */
  private _generation = 0;
  private _binding = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
