import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';

import { toDatalakeError } from './request';
import type { IDatalakeError, IStaging } from './tokens';

/** What the file browser asks to upload (docs/contract.md, POST uploads). */
export interface IUploadRequest {
  /** Paths relative to the server's root directory, files or directories. */
  paths: string[];
  /** A scope (files keep their names) or scope:name for one file. */
  to: string;
  qos: string;
  dataset?: string | null;
}

/** One line of an upload's stream. */
export interface IUploadLine {
  state: 'PLANNED' | 'UPLOADING' | 'UPLOADED' | 'EXISTS' | 'FAILED' | 'DONE';
  did?: string;
  path?: string;
  files?: number;
  bytes?: number;
  bytes_done?: number;
  rse?: string;
  error?: IDatalakeError;
}

/**
 * One line of a verification's stream: a local copy checked, reported, or the end.
 * NO_CHECKSUM: Rucio keeps no adler32 for the file, so its copy could not be checked.
 */
export interface IVerifyLine {
  state:
    | 'PLANNED'
    | 'OK'
    | 'MISMATCH'
    | 'UNREADABLE'
    | 'NO_CHECKSUM'
    | 'REPORTED'
    | 'DONE';
  did?: string;
  rse?: string;
  path?: string;
  expected?: string | null;
  found?: string | null;
  checked?: number;
  mismatches?: number;
  unchecked?: number;
  reported?: number;
}

/** The lifecycle routes of the shim (api.ts builds them). */
export interface ILifecycleAPI {
  upload(
    request: IUploadRequest,
    onLine: (line: IUploadLine) => void
  ): Promise<IUploadLine[]>;
  verify(
    did: string,
    report: boolean,
    onLine: (line: IVerifyLine) => void
  ): Promise<IVerifyLine[]>;
  move(id: string, qos: string): Promise<IStaging>;
}

/** An upload the panel shows: its numbers so far and how it ended. */
export interface IUpload {
  id: number;
  label: string;
  qos: string;
  files: number;
  bytes: number;
  /** Bytes written so far, over all files. */
  bytesDone: number;
  uploaded: number;
  existing: number;
  failed: IUploadLine[];
  state: 'running' | 'done' | 'failed';
  error: IDatalakeError | null;
}

/**
 * The copies of a DID that do not match, as the verification found them; `unchecked` counts
 * the copies Rucio keeps no checksum for (not in `checked`).
 */
export interface IVerification {
  did: string;
  checked: number;
  mismatches: IVerifyLine[];
  unchecked: number;
  reported: number;
}

/**
 * Uploads in flight and done (for the panel), verifications and moves: the other half of the
 * lifecycle, over the shim's streaming routes.
 */
export class Lifecycle {
  constructor(private readonly _api: ILifecycleAPI) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Newest first. */
  get uploads(): readonly IUpload[] {
    return this._uploads;
  }

  /** Upload with a QoS; the panel follows its lines. Resolves when it has ended. */
  async upload(request: IUploadRequest): Promise<IUpload> {
    const upload: IUpload = {
      id: ++this._count,
      label:
        request.paths.length === 1
          ? request.paths[0]
          : `${request.paths.length} items`,
      qos: request.qos,
      files: 0,
      bytes: 0,
      bytesDone: 0,
      uploaded: 0,
      existing: 0,
      failed: [],
      state: 'running',
      error: null
    };
    this._uploads = [upload, ...this._uploads];
    this._changed.emit();
    const done = new Map<string, number>();
    try {
      await this._api.upload(request, line => {
        switch (line.state) {
          case 'PLANNED':
            upload.files = line.files ?? 0;
            upload.bytes = line.bytes ?? 0;
            break;
          case 'UPLOADING':
          case 'UPLOADED':
          case 'EXISTS':
            done.set(
              line.path ?? '',
              line.state === 'UPLOADING'
                ? (line.bytes_done ?? 0)
                : (line.bytes ?? 0)
            );
            upload.bytesDone = [...done.values()].reduce((a, b) => a + b, 0);
            upload.uploaded += line.state === 'UPLOADED' ? 1 : 0;
            upload.existing += line.state === 'EXISTS' ? 1 : 0;
            break;
          case 'FAILED':
            upload.failed = [...upload.failed, line];
            break;
        }
        this._changed.emit();
      });
      upload.state = upload.failed.length ? 'failed' : 'done';
      upload.error = upload.failed[0]?.error ?? null;
    } catch (error) {
      upload.state = 'failed';
      upload.error = toDatalakeError(error);
    }
    this._changed.emit();
    return upload;
  }

  /** Check every local copy of a DID; with `report`, declare the bad ones suspicious. */
  async verify(did: string, report = false): Promise<IVerification> {
    const lines = await this._api.verify(did, report, () => undefined);
    const end = lines.find(line => line.state === 'DONE');
    return {
      did,
      checked: end?.checked ?? 0,
      mismatches: lines.filter(
        line => line.state === 'MISMATCH' || line.state === 'UNREADABLE'
      ),
      unchecked: end?.unchecked ?? 0,
      reported: end?.reported ?? 0
    };
  }

  move(id: string, qos: string): Promise<IStaging> {
    return this._api.move(id, qos);
  }

  private _uploads: IUpload[] = [];
  private _count = 0;
  private _changed = new Signal<this, void>(this);
}
