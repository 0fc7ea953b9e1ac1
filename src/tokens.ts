import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { IDatalakeSettings } from './settings';
import type { BrowseTree } from './tree';

/**
 * Shapes of the shim's JSON answers (docs/contract.md); keys match the JSON.
 */
export type DIDType = 'CONTAINER' | 'DATASET' | 'FILE';

export interface IDID {
  scope: string;
  name: string;
  did: string;
  type: DIDType;
  bytes: number | null;
  length: number | null;
  adler32?: string | null;
  md5?: string | null;
}

export type NearHubState = 'AVAILABLE' | 'PARTIAL' | 'REPLICATING' | 'NONE';

export interface IDIDInfo extends IDID {
  metadata: Record<string, unknown>;
  near_hub: { state: NearHubState; rses: string[] };
}

export interface IPage<T> {
  items: T[];
  next_cursor: string | null;
  /** Content and file listings: the row the page starts at. */
  offset?: number;
  /** Content and file listings: rows read from Rucio so far. */
  read?: number;
  /** Content and file listings: the number of rows, once the shim has read them all. */
  total?: number | null;
}

/** The orders a content or file listing can be shown in. */
export type ListSort = 'rucio' | 'name' | 'size';

export interface IInstance {
  name: string;
  display_name: string;
  site_expression: string;
  webui_url: string | null;
}

export interface IInstances {
  default: string;
  instances: IInstance[];
}

export interface IWhoami {
  instance: string;
  account: string;
  rucio_version: string;
  token_expires_at: string | null;
  auth_type: string;
  /** Where the token came from: the hub's auth_state, a file, a variable; null: Rucio issued it. */
  token_source: 'hub' | 'file' | 'env' | null;
  /** The shim gets a new token before this one expires: nothing for the user to do. */
  token_auto_renew: boolean;
}

export interface IReplica {
  rse: string;
  qos: string | null;
  site: string | null;
  near_hub: boolean;
  files: number;
  bytes: number;
}

export interface IQosClass {
  name: string;
  description: string;
  expression: string;
  rses: string[];
}

export type StagingState =
  'OK' | 'REPLICATING' | 'STUCK' | 'SUSPENDED' | 'WAITING_APPROVAL' | 'INJECT';

export interface IStaging {
  id: string;
  did: string;
  instance: string;
  qos: string;
  rse_expression: string;
  state: StagingState;
  files_ok: number;
  files_replicating: number;
  files_stuck: number;
  files_total: number;
  bytes_total: number | null;
  expires_at: string | null;
  created_at: string | null;
  error: string | null;
  /** A rule of this account made with the Rucio client or WebUI: shown, not changed here. */
  outside: boolean;
  /** When Rucio last saw a file arrive, if that is long ago (ISO 8601); else null. */
  stalled_since: string | null;
  webui_url: string | null;
  /** Bytes near the hub so far, when the shim reports them (the views then show bytes). */
  bytes_ok?: number | null;
  /** When a delayed staging (INJECT) starts, when the shim reports it. */
  starts_at?: string | null;
}

/** One storage a QoS class may use, as the stage preview sees it. */
export interface IPreviewTarget {
  rse: string;
  near_hub: boolean;
  files_present: number;
  bytes_present: number;
  /** Bytes of your Rucio quota left there; null for no limit or not known. */
  quota_left: number | null;
  /** Whether Rucio told the shim your usage there. */
  quota_known: boolean;
  fits: boolean;
}

/** Where a replica the copy may come from is. */
export interface IPreviewSource {
  rse: string;
  site: string | null;
  qos: string | null;
  near_hub: boolean;
  files: number;
  bytes: number;
}

/**
 * What staging a DID with a QoS class would do (`GET stagings/preview`): the storage Rucio
 * most likely uses, what is already there, what moves from where, the quota left.
 */
export interface IStagePreview {
  did: string;
  qos: string;
  expression: string;
  files: number;
  bytes: number;
  /** Whether every storage of the class is near the hub. */
  near_hub: boolean;
  targets: IPreviewTarget[];
  target: string | null;
  to_move: { files: number; bytes: number } | null;
  sources: IPreviewSource[];
  /** Your staging of this DID on this class's storage, if there is one. */
  existing: IStaging | null;
  fits: boolean;
  /** Why staging would be refused; null when it would go ahead. */
  message: string | null;
}

/** The versions of this frontend and the server extension, when they differ. */
export interface IVersionMismatch {
  frontend: string;
  /** null when the server extension is too old to say. */
  server: string | null;
}

export interface IStageRequest {
  dids: string[];
  qos: string;
  lifetime: number;
  source_qos?: string | null;
  start_in?: number | null;
  comment?: string | null;
}

/** `collection` is containers and datasets together (Rucio's own type filter). */
export type SearchType =
  'all' | 'collection' | 'container' | 'dataset' | 'file';

/**
 * A metadata filter row: `key` `op` `value`, sent as `{"key.op": value}`.
 */
export interface IMetadataFilter {
  key: string;
  op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';
  value: string;
}

export interface ISearchQuery {
  did: string;
  type: SearchType;
  filters: IMetadataFilter[];
}

/**
 * An error the user must act on: the shim's `{message, reason}` plus the HTTP status
 * (0 when the shim could not be reached at all).
 */
export interface IDatalakeError {
  status: number;
  reason: string;
  message: string;
}

/**
 * The typed REST surface of the shim; `instance` is added by the model.
 */
export interface IDatalakeAPI {
  version(): Promise<{ version: string }>;
  instances(): Promise<IInstances>;
  whoami(instance?: string): Promise<IWhoami>;
  scopes(instance?: string): Promise<string[]>;
  search(
    query: ISearchQuery,
    page: IPageRequest,
    instance?: string
  ): Promise<IPage<IDID>>;
  did(did: string, instance?: string): Promise<IDIDInfo>;
  children(
    did: string,
    page: IPageRequest,
    instance?: string
  ): Promise<IPage<IDID>>;
  files(
    did: string,
    page: IPageRequest,
    instance?: string
  ): Promise<IPage<IDID>>;
  replicas(did: string, instance?: string): Promise<IReplica[]>;
  rules(did: string, instance?: string): Promise<IStaging[]>;
  qos(instance?: string): Promise<IQosClass[]>;
  /** `fresh`: read from Rucio now, not the shim's cache (the user's Refresh). */
  stagings(instance?: string, fresh?: boolean): Promise<IStaging[]>;
  stage(request: IStageRequest, instance?: string): Promise<IStaging[]>;
  preview(did: string, qos: string, instance?: string): Promise<IStagePreview>;
  extend(id: string, lifetime: number, instance?: string): Promise<IStaging>;
  release(id: string, instance?: string): Promise<void>;
  /** Hear every change of this instance's stagings as the shim learns it (a WebSocket). */
  watchStagings(
    instance: string,
    onPush: (push: IStagingPush) => void,
    onOpen: () => void
  ): IStagingWatch;
}

/** What the shim pushes on `stagings/events`: a staging that changed, or one that is gone. */
export type IStagingPush = { staging: IStaging } | { removed: string };

/** An open `watchStagings`: `closed` settles when the connection ends, for whatever reason. */
export interface IStagingWatch {
  readonly closed: Promise<void>;
  close(): void;
}

export interface IPageRequest {
  limit: number;
  cursor: string | null;
  /** Start at this row instead of the cursor's (negative: from the end). */
  position?: number;
  /** Content and file listings only. */
  sort?: ListSort;
}

/**
 * A change of a staging the user should hear about.
 */
export interface IStagingEvent {
  kind: 'completed' | 'stuck' | 'expiring';
  staging: IStaging;
}

/**
 * One observation of a staging's progress, as the panel saw it through its polls.
 */
export interface IProgressSample {
  /** Milliseconds since the epoch. */
  at: number;
  state: StagingState;
  files_ok: number;
  files_total: number;
  /** Present only when the shim reports bytes arrived. */
  bytes_ok: number | null;
}

/**
 * What is known of one DID for its page: each part loads and fails on its own, and the
 * whole follows the stagings (reloads when one of its stagings changes, and after an outage).
 */
export interface IDidDetails {
  readonly did: string;
  readonly changed: ISignal<IDidDetails, void>;
  readonly info: IDIDInfo | null;
  readonly infoError: IDatalakeError | null;
  readonly replicas: ReadonlyArray<IReplica> | null;
  readonly replicasError: IDatalakeError | null;
  readonly rules: ReadonlyArray<IStaging> | null;
  readonly rulesError: IDatalakeError | null;
  readonly isDisposed: boolean;
  /** Read everything again. */
  reload(): Promise<void>;
  dispose(): void;
}

/**
 * The data lake state shared by the panel, the DID pages, the stagings view, the status bar,
 * commands and notebooks. Views render it and call its methods, never the API.
 */
export interface IDatalakeModel {
  /** Emitted whenever any part of the state changes. */
  readonly stateChanged: ISignal<IDatalakeModel, void>;
  /** Emitted once per staging transition (completed, stuck, expiring soon). */
  readonly stagingEvent: ISignal<IDatalakeModel, IStagingEvent>;
  readonly settings: IDatalakeSettings;

  // connection
  readonly instances: ReadonlyArray<IInstance>;
  /** The selected Rucio instance name (empty until instances are known). */
  readonly instance: string;
  /** The instance the server uses when a request names none (its kernels too). */
  readonly defaultInstance: string;
  readonly instanceInfo: IInstance | null;
  readonly whoami: IWhoami | null;
  readonly connecting: boolean;
  /** Why the data lake cannot be used at all (shim missing, Rucio down, bad credentials). */
  readonly connectionError: IDatalakeError | null;
  /** Set when the server extension's version is not this frontend's. */
  readonly versionMismatch: IVersionMismatch | null;
  readonly scopes: ReadonlyArray<string>;
  readonly scopesError: IDatalakeError | null;
  readonly qosClasses: ReadonlyArray<IQosClass>;
  readonly qosError: IDatalakeError | null;
  connect(): Promise<void>;
  setInstance(name: string): Promise<void>;

  // finding
  readonly query: ISearchQuery;
  readonly searchError: IDatalakeError | null;
  readonly tree: BrowseTree | null;
  search(query: ISearchQuery): void;
  browseScope(scope: string): void;
  setSearchError(error: IDatalakeError | null): void;
  /** The DID selected in the tree (the default target of commands). */
  readonly selectedDid: string | null;
  selectDid(did: string | null): void;
  /** Details of a DID for its page; the caller disposes them when the page closes. */
  openDetails(did: string): IDidDetails;

  // stagings
  readonly stagings: ReadonlyArray<IStaging>;
  /** Stagings that are neither done nor failed. */
  readonly inFlight: ReadonlyArray<IStaging>;
  readonly stagingsError: IDatalakeError | null;
  /** The last failed stage/extend/release, shown next to the button that caused it. */
  readonly actionError: IDatalakeError | null;
  readonly busy: boolean;
  /** Whether a view that shows stagings is visible (polling rests otherwise). */
  readonly watched: boolean;
  /** Views say when they show or hide; polling rests when nobody looks and nothing moves. */
  setVisible(view: object, visible: boolean): void;
  /** Progress of a staging over time, as observed by this model (oldest first). */
  history(id: string): ReadonlyArray<IProgressSample>;
  /** Whether a staging is close enough to its expiry to warn (see `expiryWarningSeconds`). */
  isExpiring(staging: IStaging, now?: number): boolean;
  stage(
    request: Omit<IStageRequest, 'lifetime'> & { lifetime?: number }
  ): Promise<IStaging[] | null>;
  /** What staging `did` with `qos` would do; rejects with the shim's error. */
  preview(did: string, qos: string): Promise<IStagePreview>;
  extend(id: string, lifetime?: number): Promise<IStaging | null>;
  release(id: string): Promise<boolean>;
  clearActionError(): void;
  /** Re-read the stagings; `fresh`: from Rucio now, not the shim's cache. */
  refreshStagings(fresh?: boolean): Promise<void>;
  refresh(): Promise<void>;
}

export const IDatalakeModel = new Token<IDatalakeModel>(
  'jupyterlab-datalake:IDatalakeModel',
  'The data lake state: connection, search, details and stagings.'
);
