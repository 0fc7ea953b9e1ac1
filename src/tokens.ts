import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

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
}

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
  webui_url: string | null;
}

export interface IStageRequest {
  dids: string[];
  qos: string;
  lifetime: number;
  source_qos?: string | null;
  start_in?: number | null;
  comment?: string | null;
}

export type SearchType = 'all' | 'container' | 'dataset' | 'file';

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
  stagings(instance?: string): Promise<IStaging[]>;
  stage(request: IStageRequest, instance?: string): Promise<IStaging[]>;
  extend(id: string, lifetime: number, instance?: string): Promise<IStaging>;
  release(id: string, instance?: string): Promise<void>;
}

export interface IPageRequest {
  limit: number;
  cursor: string | null;
}

/**
 * A change of a staging the user should hear about.
 */
export interface IStagingEvent {
  kind: 'completed' | 'stuck' | 'expiring';
  staging: IStaging;
}

/**
 * The data lake state shared by the panel, status bar, commands and notebooks.
 */
export interface IDatalakeModel {
  /** Emitted whenever any part of the state changes. */
  readonly stateChanged: ISignal<IDatalakeModel, void>;
  /** Emitted once per staging transition (completed, stuck, expiring soon). */
  readonly stagingEvent: ISignal<IDatalakeModel, IStagingEvent>;
  /** The selected Rucio instance name (empty until instances are known). */
  readonly instance: string;
  readonly instanceInfo: IInstance | null;
  readonly stagings: ReadonlyArray<IStaging>;
  /** Stagings that are neither done nor failed. */
  readonly inFlight: ReadonlyArray<IStaging>;
  /** The DID whose details are shown (and the default target of commands). */
  readonly selectedDid: string | null;
  selectDid(did: string | null): void;
  stage(
    request: Omit<IStageRequest, 'lifetime'> & { lifetime?: number }
  ): Promise<IStaging[] | null>;
  refresh(): Promise<void>;
}

export const IDatalakeModel = new Token<IDatalakeModel>(
  'jupyterlab-datalake:IDatalakeModel',
  'The data lake state: connection, search, details and stagings.'
);
