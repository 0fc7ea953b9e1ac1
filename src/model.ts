import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { StaleStagingsError } from './api';
import { DidDetails } from './details';
import { secondsUntil } from './format';
import { inSequence, PagedList } from './paging';
import { toDatalakeError } from './request';
import { isInFlight, isStopped } from './states';
import { DEFAULT_SETTINGS } from './settings';
import type { IDatalakeSettings } from './settings';
import { BrowseTree } from './tree';
import type {
  IDatalakeAPI,
  IDatalakeError,
  IDatalakeModel,
  IDID,
  IInstance,
  IPageRequest,
  IProgressSample,
  IQosClass,
  ISearchQuery,
  IStagePreview,
  IStageRequest,
  IStaging,
  IStagingEvent,
  IStagingPush,
  IStagingWatch,
  IVersionMismatch,
  IWhoami,
  StagingState
} from './tokens';
import { versionMismatch } from './version';

/** A staging warns once when less than this is left before it expires... */
export const EXPIRY_WARNING_SECONDS = 3600;

/**
 * ...or less than a quarter of its lifetime, for short stagings: a 1-hour staging is not
 * "about to expire" the moment it is made.
 */
export function expiryWarningSeconds(staging: IStaging): number {
  const created = secondsUntil(staging.created_at, 0);
  const expires = secondsUntil(staging.expires_at, 0);
  if (created === null || expires === null || expires <= created) {
    return EXPIRY_WARNING_SECONDS;
  }
  return Math.min(EXPIRY_WARNING_SECONDS, (expires - created) / 4);
}

/** Samples kept per staging for its chart (older ones are thinned out). */
const HISTORY_LIMIT = 240;

/** Longest wait between polls after repeated failures. */
const MAX_POLL_MS = 5 * 60 * 1000;

/**
 * While the shim pushes every change, the list is still read again this often (seconds): it
 * costs Rucio nothing and catches up with anything a dropped connection missed.
 */
const PUSHED_POLL_SECONDS = 60;

/** Reconnecting the push after it failed to open: first and longest pause. */
const PUSH_RETRY_MS = 2000;
const PUSH_RETRY_MAX_MS = 60 * 1000;

/** An answer, or the error it failed with. */
type Settled<T> = { value: T } | { error: unknown };

/**
 * All data lake state; views render it and call its methods, never the API.
 */
export class DatalakeModel implements IDatalakeModel {
  constructor(
    private readonly _api: IDatalakeAPI,
    settings: Partial<IDatalakeSettings> = {}
  ) {
    this._settings = { ...DEFAULT_SETTINGS, ...settings };
    this._poll = new Poll({
      factory: () => this._pollStagings(),
      frequency: this._frequency(),
      standby: () => this._standby(),
      name: 'jupyterlab-datalake:stagings'
    });
    // Standby ticks make no request, but expiry is still checked on the cached list.
    this._poll.ticked.connect(this._onTick, this);
    this._push = new Poll({
      factory: () => this._watchPushes(),
      frequency: {
        interval: PUSH_RETRY_MS,
        backoff: true,
        max: PUSH_RETRY_MAX_MS
      },
      standby: () => !this._whoami,
      name: 'jupyterlab-datalake:staging-push'
    });
  }

  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get stagingEvent(): ISignal<this, IStagingEvent> {
    return this._stagingEvent;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  get settings(): IDatalakeSettings {
    return this._settings;
  }

  /** Apply new settings; the poll interval takes effect at the next tick. */
  set settings(settings: IDatalakeSettings) {
    this._settings = settings;
    this._poll.frequency = this._frequency();
    this._emit();
  }

  // ---- connection ----

  get instances(): ReadonlyArray<IInstance> {
    return this._instances;
  }

  get instance(): string {
    return this._instance;
  }

  /** The instance the server uses when a request names none (its kernels too). */
  get defaultInstance(): string {
    return this._defaultInstance;
  }

  get instanceInfo(): IInstance | null {
    return this._instances.find(i => i.name === this._instance) ?? null;
  }

  get whoami(): IWhoami | null {
    return this._whoami;
  }

  get connecting(): boolean {
    return this._connecting;
  }

  get connectionError(): IDatalakeError | null {
    return this._connectionError;
  }

  get versionMismatch(): IVersionMismatch | null {
    return this._versionMismatch;
  }

  get scopes(): ReadonlyArray<string> {
    return this._scopes;
  }

  get scopesError(): IDatalakeError | null {
    return this._scopesError;
  }

  get qosClasses(): ReadonlyArray<IQosClass> {
    return this._qos;
  }

  get qosError(): IDatalakeError | null {
    return this._qosError;
  }

  /**
   * Load instances, then connect to the default (or the current) instance.
   */
  async connect(): Promise<void> {
    this._connecting = true;
    this._connectionError = null;
    this._emit();
    void this._checkVersion();
    try {
      const answer = await this._api.instances();
      this._instances = answer.instances;
      this._defaultInstance = answer.default;
      if (!answer.instances.some(i => i.name === this._instance)) {
        this._instance = answer.default;
      }
    } catch (error) {
      this._connecting = false;
      this._connectionError = toDatalakeError(error);
      this._emit();
      return;
    }
    await this._connectInstance();
  }

  /** The version handshake: say when the server extension is not this frontend's version. */
  private async _checkVersion(): Promise<void> {
    let server: string | null;
    try {
      server = (await this._api.version()).version;
    } catch (error) {
      const status = toDatalakeError(error).status;
      if (status !== 404) {
        return; // the shim is unreachable: the connection error says so
      }
      server = null; // a server extension older than the handshake
    }
    this._versionMismatch = versionMismatch(server);
    this._emit();
  }

  /** Switch to another configured Rucio instance; everything instance-bound is reset. */
  async setInstance(name: string): Promise<void> {
    if (
      name === this._instance ||
      !this._instances.some(i => i.name === name)
    ) {
      return;
    }
    this._instance = name;
    this._whoami = null;
    this._watch?.close(); // the next push connection is for the new instance
    this._resetBrowse();
    this._selectedDid = null;
    this._stagings = [];
    this._known.clear();
    this._expiryWarned.clear();
    this._history.clear();
    for (const details of this._details) {
      details.reset();
    }
    await this._connectInstance();
  }

  private async _connectInstance(): Promise<void> {
    this._connecting = true;
    this._connectionError = null;
    this._emit();
    const whoami = await this._settle(instance => this._api.whoami(instance));
    if (!whoami) {
      return;
    }
    this._connecting = false;
    if ('error' in whoami) {
      this._whoami = null;
      this._connectionError = toDatalakeError(whoami.error);
      this._emit();
      return;
    }
    this._whoami = whoami.value;
    this._emit();
    this._recovered();
    // A failed first read is shown as state; polling must start anyway, to recover.
    await Promise.all([
      this._loadScopes(),
      this._loadQos(),
      this.refreshStagings().catch(() => undefined)
    ]);
    void this._poll.start();
    void this._push.start();
    void this._push.refresh();
  }

  private async _loadScopes(): Promise<void> {
    const scopes = await this._settle(instance => this._api.scopes(instance));
    if (!scopes) {
      return;
    }
    this._scopes = 'value' in scopes ? scopes.value : [];
    this._scopesError =
      'error' in scopes ? toDatalakeError(scopes.error) : null;
    this._emit();
  }

  private async _loadQos(): Promise<void> {
    const qos = await this._settle(instance => this._api.qos(instance));
    if (!qos) {
      return;
    }
    this._qos = 'value' in qos ? qos.value : [];
    this._qosError = 'error' in qos ? toDatalakeError(qos.error) : null;
    this._emit();
  }

  // ---- search and browse ----

  get query(): ISearchQuery {
    return this._query;
  }

  /** Errors of the search itself (bad pattern, Rucio refused); rows carry their own. */
  get searchError(): IDatalakeError | null {
    return this._searchError;
  }

  get tree(): BrowseTree | null {
    return this._tree;
  }

  /**
   * Run a search; its results become the root of the browse tree, fetched page by page.
   * "All types" lists containers and datasets first, then files.
   */
  search(query: ISearchQuery): void {
    this._query = query;
    this._searchError = null;
    this._resetBrowse();
    const instance = this._instance;
    const fetch =
      query.type === 'all'
        ? inSequence<IDID>([
            page =>
              this._api.search(
                { ...query, type: 'collection' },
                page,
                instance
              ),
            page => this._api.search({ ...query, type: 'file' }, page, instance)
          ])
        : (page: IPageRequest) => this._api.search(query, page, instance);
    const root = new PagedList<IDID>(fetch, this._settings.pageSize);
    this._tree = new BrowseTree(
      root,
      (did, page) =>
        did.type === 'DATASET'
          ? this._api.files(did.did, page, instance)
          : this._api.children(did.did, page, instance),
      this._settings.pageSize
    );
    this._tree.changed.connect(this._emit, this);
    this._emit();
    void root.loadMore();
  }

  /** Browse a whole scope (the scope browser). */
  browseScope(scope: string): void {
    this.search({ did: `${scope}:*`, type: 'all', filters: [] });
  }

  /** Show a search error that was found before asking the shim (e.g. a bad pattern). */
  setSearchError(error: IDatalakeError | null): void {
    this._searchError = error;
    this._emit();
  }

  private _resetBrowse(): void {
    if (this._tree) {
      this._tree.changed.disconnect(this._emit, this);
      this._tree.dispose();
      this._tree = null;
    }
  }

  // ---- selection and details ----

  get selectedDid(): string | null {
    return this._selectedDid;
  }

  selectDid(did: string | null): void {
    if (did === this._selectedDid) {
      return;
    }
    this._selectedDid = did;
    this._emit();
  }

  /**
   * Details of a DID that follow its stagings; the caller disposes them when done.
   */
  openDetails(did: string): DidDetails {
    const details = new DidDetails(
      did,
      () => {
        const instance = this._instance;
        return {
          did: d => this._api.did(d, instance),
          replicas: d => this._api.replicas(d, instance),
          rules: d => this._api.rules(d, instance)
        };
      },
      closed => this._details.delete(closed)
    );
    this._details.add(details);
    return details;
  }

  // ---- stagings ----

  get stagings(): ReadonlyArray<IStaging> {
    return this._stagings;
  }

  get inFlight(): ReadonlyArray<IStaging> {
    return this._stagings.filter(isInFlight);
  }

  get stagingsError(): IDatalakeError | null {
    return this._stagingsError;
  }

  get actionError(): IDatalakeError | null {
    return this._actionError;
  }

  get busy(): boolean {
    return this._busy > 0;
  }

  get watched(): boolean {
    return this._viewers.size > 0;
  }

  /** Whether the shim pushes staging changes to this tab right now. */
  get pushed(): boolean {
    return this._pushOpen;
  }

  setVisible(view: object, visible: boolean): void {
    const before = this.watched;
    if (visible) {
      this._viewers.add(view);
    } else {
      this._viewers.delete(view);
    }
    if (!before && this.watched && this._whoami) {
      void this._poll.refresh();
    }
  }

  history(id: string): ReadonlyArray<IProgressSample> {
    return this._history.get(id) ?? [];
  }

  isExpiring(staging: IStaging, now: number = Date.now()): boolean {
    const left = secondsUntil(staging.expires_at, now);
    return left !== null && left > 0 && left <= expiryWarningSeconds(staging);
  }

  /** Re-read this account's stagings (the shim's aggregated view). */
  async refreshStagings(fresh = false): Promise<void> {
    const pushesBefore = this._pushes;
    const answer = await this._settle(instance =>
      this._api.stagings(instance, fresh)
    );
    if (!answer) {
      return; // a late answer for the instance the user left
    }
    if ('error' in answer) {
      if (answer.error instanceof StaleStagingsError) {
        this._applyStagings(answer.error.stagings); // the last list, shown with the error
      }
      this._stagingsError = toDatalakeError(answer.error);
      this._emit();
      throw answer.error;
    }
    const recovering = this._stagingsError !== null;
    this._stagingsError = null;
    // A push that came while the list was on its way is newer than the list's copy: an older
    // answer must neither take a staging back (announcing its completion a second time) nor
    // bring back one removed meanwhile, nor drop one made meanwhile.
    const pushedSince = (id: string) =>
      (this._pushedAt.get(id) ?? 0) > pushesBefore;
    const current = new Map(this._stagings.map(s => [s.id, s]));
    const listed = new Set(answer.value.map(s => s.id));
    this._applyStagings([
      ...answer.value
        .map(s => (pushedSince(s.id) ? current.get(s.id) : s))
        .filter(isStaging),
      ...[...current.values()].filter(
        s => pushedSince(s.id) && !listed.has(s.id)
      )
    ]);
    if (recovering) {
      this._recovered();
    }
  }

  /** Everything: connection, stagings and the open details. */
  async refresh(): Promise<void> {
    if (!this._whoami) {
      await this.connect();
      return;
    }
    await Promise.all([
      // Asked for by the user: also stagings made elsewhere (the Rucio client) show now.
      this.refreshStagings(true).catch(() => undefined),
      ...[...this._details].map(details => details.reload())
    ]);
  }

  /**
   * Stage DIDs with a QoS class; lifetime defaults to the setting.
   * Returns the stagings, or null after an error (then in `actionError`).
   */
  async stage(
    request: Omit<IStageRequest, 'lifetime'> & { lifetime?: number }
  ): Promise<IStaging[] | null> {
    const full: IStageRequest = {
      ...request,
      lifetime: request.lifetime ?? this._settings.defaultLifetime
    };
    const result = await this._action(instance =>
      this._api.stage(full, instance)
    );
    if (result) {
      this._merge(result);
      void this._poll.refresh();
    }
    return result;
  }

  async preview(did: string, qos: string): Promise<IStagePreview> {
    return this._api.preview(did, qos, this._instance);
  }

  /** Give a staging `lifetime` more seconds from now (default: the setting). */
  async extend(id: string, lifetime?: number): Promise<IStaging | null> {
    const result = await this._action(instance =>
      this._api.extend(id, lifetime ?? this._settings.defaultLifetime, instance)
    );
    if (result) {
      this._expiryWarned.delete(id);
      this._merge([result]);
    }
    return result;
  }

  /** Release a staging: Rucio may delete the copy near the hub. */
  async release(id: string): Promise<boolean> {
    const done = await this._action(async instance => {
      await this._api.release(id, instance);
      return true;
    });
    if (done) {
      this._stagings = this._stagings.filter(s => s.id !== id);
      this._known.delete(id);
      this._history.delete(id);
      this._emit();
      for (const details of this._details) {
        details.follow({ id } as IStaging);
      }
    }
    return done === true;
  }

  clearActionError(): void {
    this._actionError = null;
    this._emit();
  }

  /** Look for stagings close to expiry without asking the server. */
  checkExpiry(now: number = Date.now()): void {
    for (const staging of this._stagings) {
      this._checkExpiry(staging, now);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._poll.dispose();
    this._push.dispose();
    this._watch?.close();
    this._resetBrowse();
    for (const details of [...this._details]) {
      details.dispose();
    }
    Signal.clearData(this);
  }

  /**
   * Call the API for the current instance. `null` when the user switched instance while it
   * ran: the answer (or error) belongs to an instance no view shows any more.
   */
  private async _settle<T>(
    call: (instance: string) => Promise<T>
  ): Promise<Settled<T> | null> {
    const instance = this._instance;
    let result: Settled<T>;
    try {
      result = { value: await call(instance) };
    } catch (error) {
      result = { error };
    }
    return instance === this._instance && !this._disposed ? result : null;
  }

  /** A user action: busy while it runs, its failure kept in `actionError`. */
  private async _action<T>(
    work: (instance: string) => Promise<T>
  ): Promise<T | null> {
    this._busy += 1;
    this._actionError = null;
    this._emit();
    const result = await this._settle(work);
    this._busy -= 1;
    if (result && 'error' in result) {
      this._actionError = toDatalakeError(result.error);
    }
    this._emit();
    return result && 'value' in result ? result.value : null;
  }

  /**
   * One push connection, for as long as it lasts. A connection that was open ends the tick
   * normally (reconnect soon); one that never opened rejects, so the poll backs off.
   */
  private async _watchPushes(): Promise<void> {
    const instance = this._instance;
    let opened = false;
    const watch = this._api.watchStagings(
      instance,
      push => {
        if (instance === this._instance && !this._disposed) {
          this._onPush(push);
        }
      },
      () => {
        opened = true;
        this._setPushOpen(true);
        // Catch up with what changed while no connection was open (the shim's cache).
        void this.refreshStagings().catch(() => undefined);
      }
    );
    this._watch = watch;
    try {
      await watch.closed;
    } finally {
      if (this._watch === watch) {
        this._watch = null;
      }
      this._setPushOpen(false);
    }
    if (!opened) {
      throw new Error('The staging push did not open.');
    }
  }

  private _onPush(push: IStagingPush): void {
    this._pushes += 1;
    this._pushedAt.set(
      'staging' in push ? push.staging.id : push.removed,
      this._pushes
    );
    if ('staging' in push) {
      this._merge([push.staging]);
      return;
    }
    if (!this._stagings.some(s => s.id === push.removed)) {
      return;
    }
    this._stagings = this._stagings.filter(s => s.id !== push.removed);
    this._known.delete(push.removed);
    this._history.delete(push.removed);
    this._emit();
  }

  private _setPushOpen(open: boolean): void {
    if (open !== this._pushOpen) {
      this._pushOpen = open;
      this._poll.frequency = this._frequency();
    }
  }

  private async _pollStagings(): Promise<void> {
    // Rejecting makes the poll back off; the error is already model state.
    await this.refreshStagings();
  }

  private _onTick(): void {
    this.checkExpiry();
  }

  private _standby(): boolean | Poll.Standby {
    if (!this._whoami) {
      return true;
    }
    if (!this.watched && this.inFlight.length === 0) {
      return true;
    }
    return 'when-hidden';
  }

  private _frequency() {
    const seconds = Math.max(1, this._settings.pollInterval);
    const interval =
      (this._pushOpen ? Math.max(seconds, PUSHED_POLL_SECONDS) : seconds) *
      1000;
    return { interval, backoff: true, max: Math.max(interval, MAX_POLL_MS) };
  }

  /** The data lake answers again: views that show an error of the outage read again. */
  private _recovered(): void {
    for (const details of this._details) {
      details.recover();
    }
  }

  private _merge(stagings: IStaging[]): void {
    const byId = new Map(this._stagings.map(s => [s.id, s]));
    for (const staging of stagings) {
      byId.set(staging.id, staging);
    }
    this._applyStagings([...byId.values()]);
  }

  private _applyStagings(stagings: IStaging[]): void {
    const now = Date.now();
    const before = new Map(this._stagings.map(s => [s.id, s]));
    for (const staging of stagings) {
      const state = this._known.get(staging.id);
      if (state !== staging.state) {
        if (state && staging.state === 'OK') {
          this._stagingEvent.emit({ kind: 'completed', staging });
        } else if (isStopped(staging)) {
          // Also at first sight: a staging that cannot proceed says why at once.
          this._stagingEvent.emit({ kind: 'stuck', staging });
        }
      }
      this._known.set(staging.id, staging.state);
      this._record(staging, now);
      this._checkExpiry(staging, now);
    }
    for (const id of this._history.keys()) {
      if (!stagings.some(s => s.id === id)) {
        this._history.delete(id);
      }
    }
    this._stagings = stagings;
    this._emit();
    const changed = stagings.filter(s => !sameProgress(before.get(s.id), s));
    for (const details of this._details) {
      for (const staging of changed) {
        details.follow(staging);
      }
    }
  }

  /** Add an observation to a staging's history when something moved. */
  private _record(staging: IStaging, now: number): void {
    const samples = this._history.get(staging.id) ?? [];
    const last = samples[samples.length - 1];
    const sample: IProgressSample = {
      at: now,
      state: staging.state,
      files_ok: staging.files_ok,
      files_total: staging.files_total,
      bytes_ok: staging.bytes_ok ?? null
    };
    if (
      last &&
      last.state === sample.state &&
      last.files_ok === sample.files_ok &&
      last.files_total === sample.files_total &&
      last.bytes_ok === sample.bytes_ok
    ) {
      return;
    }
    samples.push(sample);
    if (samples.length > HISTORY_LIMIT) {
      // Keep the first and last observations; drop every other one in between.
      const thinned = samples.filter(
        (_, i) => i === 0 || i === samples.length - 1 || i % 2 === 0
      );
      samples.splice(0, samples.length, ...thinned);
    }
    this._history.set(staging.id, samples);
  }

  private _checkExpiry(staging: IStaging, now: number): void {
    if (!this.isExpiring(staging, now)) {
      this._expiryWarned.delete(staging.id);
      return;
    }
    if (!this._expiryWarned.has(staging.id)) {
      this._expiryWarned.add(staging.id);
      this._stagingEvent.emit({ kind: 'expiring', staging });
    }
  }

  private _emit(): void {
    if (!this._disposed) {
      this._stateChanged.emit();
    }
  }

  private _settings: IDatalakeSettings;
  private _poll: Poll;
  private _push: Poll;
  private _watch: IStagingWatch | null = null;
  private _pushOpen = false;
  /** Pushes heard so far, and the count when each staging was last pushed. */
  private _pushes = 0;
  private _pushedAt = new Map<string, number>();
  private _disposed = false;
  private _instances: IInstance[] = [];
  private _instance = '';
  private _defaultInstance = '';
  private _whoami: IWhoami | null = null;
  private _connecting = false;
  private _connectionError: IDatalakeError | null = null;
  private _versionMismatch: IVersionMismatch | null = null;
  private _scopes: string[] = [];
  private _scopesError: IDatalakeError | null = null;
  private _qos: IQosClass[] = [];
  private _qosError: IDatalakeError | null = null;
  private _query: ISearchQuery = { did: '', type: 'all', filters: [] };
  private _searchError: IDatalakeError | null = null;
  private _tree: BrowseTree | null = null;
  private _selectedDid: string | null = null;
  private _details = new Set<DidDetails>();
  private _stagings: IStaging[] = [];
  private _stagingsError: IDatalakeError | null = null;
  private _actionError: IDatalakeError | null = null;
  private _busy = 0;
  private _viewers = new Set<object>();
  private _known = new Map<string, StagingState>();
  private _expiryWarned = new Set<string>();
  private _history = new Map<string, IProgressSample[]>();
  private _stateChanged = new Signal<this, void>(this);
  private _stagingEvent = new Signal<this, IStagingEvent>(this);
}

function isStaging(staging: IStaging | undefined): staging is IStaging {
  return staging !== undefined;
}

function sameProgress(a: IStaging | undefined, b: IStaging): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.files_ok === b.files_ok &&
    a.files_stuck === b.files_stuck &&
    a.expires_at === b.expires_at
  );
}
