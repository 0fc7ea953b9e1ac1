import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { secondsUntil } from './format';
import { DEFAULT_NAMING } from './names';
import type { VariableNaming } from './names';
import { PagedList } from './paging';
import { toDatalakeError } from './request';
import { BrowseTree } from './tree';
import type {
  IDatalakeAPI,
  IDatalakeError,
  IDatalakeModel,
  IDID,
  IDIDInfo,
  IInstance,
  IQosClass,
  IReplica,
  ISearchQuery,
  IStageRequest,
  IStaging,
  IStagingEvent,
  IWhoami,
  StagingState
} from './tokens';

/**
 * User settings (schema/plugin.json), already validated and in seconds.
 */
export interface IDatalakeSettings {
  defaultQos: string;
  defaultLifetime: number;
  pageSize: number;
  variableNaming: VariableNaming;
  pollInterval: number;
}

export const DEFAULT_SETTINGS: IDatalakeSettings = {
  defaultQos: '',
  defaultLifetime: 86400,
  pageSize: 100,
  variableNaming: DEFAULT_NAMING,
  pollInterval: 5
};

/** A staging warns once when less than this is left before it expires. */
export const EXPIRY_WARNING_SECONDS = 3600;

/** Longest wait between polls after repeated failures. */
const MAX_POLL_MS = 5 * 60 * 1000;

const IN_FLIGHT: ReadonlyArray<StagingState> = [
  'REPLICATING',
  'INJECT',
  'WAITING_APPROVAL'
];

export function isInFlight(staging: IStaging): boolean {
  return IN_FLIGHT.includes(staging.state);
}

/**
 * The details shown for the selected DID; each part fails on its own.
 */
export interface IDetails {
  did: string;
  info: IDIDInfo | null;
  infoError: IDatalakeError | null;
  replicas: IReplica[] | null;
  replicasError: IDatalakeError | null;
  rules: IStaging[] | null;
  rulesError: IDatalakeError | null;
}

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

  /** Why the data lake cannot be used at all (shim missing, Rucio down, bad credentials). */
  get connectionError(): IDatalakeError | null {
    return this._connectionError;
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
    this._resetBrowse();
    this._details = null;
    this._selectedDid = null;
    this._stagings = [];
    this._known.clear();
    this._expiryWarned.clear();
    await this._connectInstance();
  }

  private async _connectInstance(): Promise<void> {
    const instance = this._instance;
    this._connecting = true;
    this._connectionError = null;
    this._emit();
    try {
      this._whoami = await this._api.whoami(instance);
    } catch (error) {
      if (instance !== this._instance) {
        return;
      }
      this._whoami = null;
      this._connecting = false;
      this._connectionError = toDatalakeError(error);
      this._emit();
      return;
    }
    if (instance !== this._instance) {
      return;
    }
    this._connecting = false;
    this._emit();
    // A failed first read is shown as state; polling must start anyway, to recover.
    await Promise.all([
      this._loadScopes(),
      this._loadQos(),
      this.refreshStagings().catch(() => undefined)
    ]);
    void this._poll.start();
  }

  private async _loadScopes(): Promise<void> {
    const instance = this._instance;
    try {
      const scopes = await this._api.scopes(instance);
      if (instance !== this._instance) {
        return; // the user switched instance meanwhile
      }
      this._scopes = scopes;
      this._scopesError = null;
    } catch (error) {
      if (instance !== this._instance) {
        return;
      }
      this._scopes = [];
      this._scopesError = toDatalakeError(error);
    }
    this._emit();
  }

  private async _loadQos(): Promise<void> {
    const instance = this._instance;
    try {
      const qos = await this._api.qos(instance);
      if (instance !== this._instance) {
        return;
      }
      this._qos = qos;
      this._qosError = null;
    } catch (error) {
      if (instance !== this._instance) {
        return;
      }
      this._qos = [];
      this._qosError = toDatalakeError(error);
    }
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
   */
  search(query: ISearchQuery): void {
    this._query = query;
    this._searchError = null;
    this._resetBrowse();
    const instance = this._instance;
    const root = new PagedList<IDID>(
      page => this._api.search(query, page, instance),
      this._settings.pageSize
    );
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

  // ---- details ----

  get selectedDid(): string | null {
    return this._selectedDid;
  }

  get details(): IDetails | null {
    return this._details;
  }

  /** Select a DID and load its details, replicas and rules in parallel. */
  selectDid(did: string | null): void {
    if (did === this._selectedDid) {
      return;
    }
    this._selectedDid = did;
    this._details = null;
    ++this._detailsToken; // answers still on their way belong to the old selection
    this._emit();
    if (did !== null) {
      void this.loadDetails(did);
    }
  }

  async loadDetails(did: string): Promise<void> {
    const instance = this._instance;
    const details: IDetails = {
      did,
      info: null,
      infoError: null,
      replicas: null,
      replicasError: null,
      rules: null,
      rulesError: null
    };
    const token = ++this._detailsToken;
    this._details = details;
    this._emit();
    const current = () =>
      this._detailsToken === token && this._instance === instance;
    const settle = async <K extends 'info' | 'replicas' | 'rules'>(
      key: K,
      promise: Promise<IDetails[K]>
    ) => {
      try {
        const value = await promise;
        if (current()) {
          this._details = { ...this._details!, [key]: value };
        }
      } catch (error) {
        if (current()) {
          this._details = {
            ...this._details!,
            [`${key}Error`]: toDatalakeError(error)
          };
        }
      }
    };
    await Promise.all([
      settle('info', this._api.did(did, instance)),
      settle('replicas', this._api.replicas(did, instance)),
      settle('rules', this._api.rules(did, instance))
    ]);
    // One update for the three answers keeps the details from flickering.
    if (current()) {
      this._emit();
    }
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

  /** The last failed stage/extend/release, shown next to the form or list. */
  get actionError(): IDatalakeError | null {
    return this._actionError;
  }

  get busy(): boolean {
    return this._busy > 0;
  }

  /** The panel tells the model whether anyone looks at it (polling slows down otherwise). */
  set panelVisible(visible: boolean) {
    if (visible === this._panelVisible) {
      return;
    }
    this._panelVisible = visible;
    if (visible && this._whoami) {
      void this._poll.refresh();
    }
  }

  /** Re-read this account's stagings (the shim's aggregated view). */
  async refreshStagings(): Promise<void> {
    const instance = this._instance;
    try {
      const stagings = await this._api.stagings(instance);
      if (instance !== this._instance) {
        return; // a late answer for the instance the user left
      }
      this._applyStagings(stagings);
      this._stagingsError = null;
    } catch (error) {
      if (instance !== this._instance) {
        return;
      }
      this._stagingsError = toDatalakeError(error);
      this._emit();
      throw error;
    }
  }

  /** Everything: connection, stagings and the open details. */
  async refresh(): Promise<void> {
    if (!this._whoami) {
      await this.connect();
      return;
    }
    const work: Promise<unknown>[] = [
      this.refreshStagings().catch(() => undefined)
    ];
    if (this._selectedDid) {
      work.push(this.loadDetails(this._selectedDid));
    }
    await Promise.all(work);
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
    const instance = this._instance;
    const result = await this._action(() => this._api.stage(full, instance));
    if (result && instance === this._instance) {
      this._merge(result);
      void this._poll.refresh();
    }
    return result;
  }

  /** Give a staging `lifetime` more seconds from now (default: the setting). */
  async extend(id: string, lifetime?: number): Promise<IStaging | null> {
    const instance = this._instance;
    const result = await this._action(() =>
      this._api.extend(id, lifetime ?? this._settings.defaultLifetime, instance)
    );
    if (result && instance === this._instance) {
      this._expiryWarned.delete(id);
      this._merge([result]);
    }
    return result;
  }

  /** Release a staging: Rucio may delete the copy near the hub. */
  async release(id: string): Promise<boolean> {
    const done = await this._action(async () => {
      await this._api.release(id, this._instance);
      return true;
    });
    if (done) {
      this._stagings = this._stagings.filter(s => s.id !== id);
      this._known.delete(id);
      this._emit();
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
    this._resetBrowse();
    Signal.clearData(this);
  }

  private async _action<T>(work: () => Promise<T>): Promise<T | null> {
    this._busy += 1;
    this._actionError = null;
    this._emit();
    try {
      return await work();
    } catch (error) {
      this._actionError = toDatalakeError(error);
      return null;
    } finally {
      this._busy -= 1;
      this._emit();
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
    if (!this._panelVisible && this.inFlight.length === 0) {
      return true;
    }
    return 'when-hidden';
  }

  private _frequency() {
    const interval = Math.max(1, this._settings.pollInterval) * 1000;
    return { interval, backoff: true, max: Math.max(interval, MAX_POLL_MS) };
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
    for (const staging of stagings) {
      const before = this._known.get(staging.id);
      if (before && before !== staging.state) {
        if (staging.state === 'OK') {
          this._stagingEvent.emit({ kind: 'completed', staging });
        } else if (staging.state === 'STUCK') {
          this._stagingEvent.emit({ kind: 'stuck', staging });
        }
      }
      this._known.set(staging.id, staging.state);
      this._checkExpiry(staging, now);
    }
    this._stagings = stagings;
    this._emit();
  }

  private _checkExpiry(staging: IStaging, now: number): void {
    const left = secondsUntil(staging.expires_at, now);
    if (left === null || left > EXPIRY_WARNING_SECONDS) {
      this._expiryWarned.delete(staging.id);
      return;
    }
    if (left > 0 && !this._expiryWarned.has(staging.id)) {
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
  private _disposed = false;
  private _instances: IInstance[] = [];
  private _instance = '';
  private _defaultInstance = '';
  private _whoami: IWhoami | null = null;
  private _connecting = false;
  private _connectionError: IDatalakeError | null = null;
  private _scopes: string[] = [];
  private _scopesError: IDatalakeError | null = null;
  private _qos: IQosClass[] = [];
  private _qosError: IDatalakeError | null = null;
  private _query: ISearchQuery = { did: '', type: 'all', filters: [] };
  private _searchError: IDatalakeError | null = null;
  private _tree: BrowseTree | null = null;
  private _selectedDid: string | null = null;
  private _details: IDetails | null = null;
  private _detailsToken = 0;
  private _stagings: IStaging[] = [];
  private _stagingsError: IDatalakeError | null = null;
  private _actionError: IDatalakeError | null = null;
  private _busy = 0;
  private _panelVisible = false;
  private _known = new Map<string, StagingState>();
  private _expiryWarned = new Set<string>();
  private _stateChanged = new Signal<this, void>(this);
  private _stagingEvent = new Signal<this, IStagingEvent>(this);
}
