import { Debouncer, Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { toDatalakeError } from './request';
import type {
  IDatalakeError,
  IDidDetails,
  IDIDInfo,
  IReplica,
  IStaging
} from './tokens';

/** Reloads asked for within this time make one round of requests. */
const RELOAD_DEBOUNCE_MS = 300;
/**
 * A part that failed because the data lake did (5xx, no answer) is read again after this
 * long, then less and less often up to the maximum. The model's own recovery signal comes
 * from the stagings poll, which with broker events may not meet the outage at all.
 */
export const RETRY_MS = 5000;
const MAX_RETRY_MS = 30000;

/**
 * The three reads a DID page needs, bound to the instance of the moment.
 */
export interface IDetailsSource {
  did(did: string): Promise<IDIDInfo>;
  replicas(did: string): Promise<IReplica[]>;
  rules(did: string): Promise<IStaging[]>;
}

/**
 * Details of one DID (info, replicas, rules), each part loading and failing on its own.
 * `follow()` is how the model keeps them true: a staging of this DID changed, or the
 * data lake is reachable again after an error.
 */
export class DidDetails implements IDidDetails {
  constructor(
    readonly did: string,
    private readonly _source: () => IDetailsSource,
    private readonly _onDispose: (details: DidDetails) => void,
    retryMs: number = RETRY_MS
  ) {
    this._reloader = new Debouncer(() => this.reload(), RELOAD_DEBOUNCE_MS);
    this._retry = new Poll({
      factory: async () => {
        await this.reload();
        if (this._upstreamFailed()) {
          throw new Error('the data lake still fails'); // backs the next try off
        }
      },
      frequency: {
        interval: retryMs,
        backoff: true,
        max: Math.max(retryMs, MAX_RETRY_MS)
      },
      standby: () => !this._upstreamFailed(),
      name: `@datalake/did-retry:${did}`
    });
    void this.reload();
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get info(): IDIDInfo | null {
    return this._info;
  }

  get infoError(): IDatalakeError | null {
    return this._infoError;
  }

  get replicas(): ReadonlyArray<IReplica> | null {
    return this._replicas;
  }

  get replicasError(): IDatalakeError | null {
    return this._replicasError;
  }

  get rules(): ReadonlyArray<IStaging> | null {
    return this._rules;
  }

  get rulesError(): IDatalakeError | null {
    return this._rulesError;
  }

  get hasError(): boolean {
    return Boolean(this._infoError || this._replicasError || this._rulesError);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Read the three parts again. What is shown stays until the new answers arrive (no
   * flicker); an answer that was overtaken by a newer reload is dropped.
   */
  async reload(): Promise<void> {
    if (this._disposed) {
      return;
    }
    const token = ++this._token;
    const source = this._source();
    const [info, replicas, rules] = await Promise.all([
      settle(source.did(this.did)),
      settle(source.replicas(this.did)),
      settle(source.rules(this.did))
    ]);
    if (this._disposed || token !== this._token) {
      return;
    }
    [this._info, this._infoError] = info;
    [this._replicas, this._replicasError] = replicas;
    [this._rules, this._rulesError] = rules;
    this._changed.emit();
  }

  /**
   * Reload soon if `staging` concerns this DID: the same DID, or one of its rules.
   * Several changes in a row make one reload.
   */
  follow(staging: IStaging): void {
    if (
      staging.did === this.did ||
      this._rules?.some(rule => rule.id === staging.id)
    ) {
      void this._reloader.invoke();
    }
  }

  /** The data lake answers again: parts that failed are read again. */
  recover(): void {
    if (this.hasError) {
      void this._reloader.invoke();
    }
  }

  /** Everything was read for another instance: read it again. */
  reset(): void {
    this._info = null;
    this._replicas = null;
    this._rules = null;
    this._infoError = this._replicasError = this._rulesError = null;
    this._changed.emit();
    void this.reload();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._reloader.dispose();
    this._retry.dispose();
    this._onDispose(this);
    Signal.clearData(this);
  }

  /** A part failed because the data lake did, not because of what was asked (a 404). */
  private _upstreamFailed(): boolean {
    return [this._infoError, this._replicasError, this._rulesError].some(
      error => error !== null && (error.status === 0 || error.status >= 500)
    );
  }

  private _info: IDIDInfo | null = null;
  private _infoError: IDatalakeError | null = null;
  private _replicas: IReplica[] | null = null;
  private _replicasError: IDatalakeError | null = null;
  private _rules: IStaging[] | null = null;
  private _rulesError: IDatalakeError | null = null;
  private _token = 0;
  private _disposed = false;
  private _reloader: Debouncer;
  private _retry: Poll;
  private _changed = new Signal<this, void>(this);
}

/** A new value clears the error; a failure replaces the value (nothing stale beside it). */
function settle<T>(
  promise: Promise<T>
): Promise<[T | null, IDatalakeError | null]> {
  return promise.then(
    value => [value, null],
    error => [null, toDatalakeError(error)]
  );
}
