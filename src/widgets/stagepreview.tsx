import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useState } from 'react';

import { formatBytes } from '../format';
import { toDatalakeError } from '../request';
import { describeStaging } from '../states';
import type { IDatalakeError, IDatalakeModel, IStagePreview } from '../tokens';

/**
 * The preview of one (DID, QoS class), read again when either changes or a staging of the
 * DID comes or goes; an answer for a choice the user has already left is dropped.
 */
export function usePreview(
  model: IDatalakeModel,
  did: string,
  qos: string
): { preview: IStagePreview | null; error: IDatalakeError | null } {
  const [state, setState] = useState<{
    key: string;
    preview: IStagePreview | null;
    error: IDatalakeError | null;
  }>({ key: '', preview: null, error: null });
  const key = `${did}\n${qos}`;
  const stagings = model.stagings
    .filter(s => s.did === did)
    .map(s => s.id)
    .join(' ');
  useEffect(() => {
    if (!qos) {
      return;
    }
    let current = true;
    model.preview(did, qos).then(
      preview => current && setState({ key, preview, error: null }),
      error =>
        current &&
        setState({ key, preview: null, error: toDatalakeError(error) })
    );
    return () => {
      current = false;
    };
  }, [model, did, qos, stagings]);
  return state.key === key
    ? { preview: state.preview, error: state.error }
    : { preview: null, error: null };
}

/**
 * Before you stage, what will happen: the storage it uses (near the hub or not), what is
 * already there, what moves from where, and your quota left there.
 */
export function StagePreview(props: {
  preview: IStagePreview | null;
  error: IDatalakeError | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { preview: p, error, trans } = props;
  if (error) {
    return (
      <p className="jp-datalake-preview jp-datalake-muted" role="status">
        {trans.__('What staging would do is not known: %1', error.message)}
      </p>
    );
  }
  if (!p) {
    return (
      <p
        className="jp-datalake-preview jp-datalake-muted"
        role="status"
        aria-busy="true"
      >
        {trans.__('Working out what staging would do…')}
      </p>
    );
  }
  const target = p.targets.find(t => t.rse === p.target) ?? null;
  const storage = p.target ?? p.targets.map(t => t.rse).join(', ');
  const lines: JSX.Element[] = [];
  lines.push(
    <li key="storage" className="jp-datalake-preview-storage">
      {p.targets.length === 0
        ? trans.__('No storage matches %1', p.expression)
        : (target ?? p.targets[0]).near_hub
          ? trans.__('Storage: %1, near the hub', storage)
          : trans.__('Storage: %1, not near the hub', storage)}
    </li>
  );
  if (p.existing) {
    lines.push(
      <li key="existing" className="jp-datalake-preview-existing">
        {trans.__(
          'You already stage it there: %1',
          describeStaging(p.existing, trans).label
        )}
      </li>
    );
  }
  if (p.to_move && target) {
    const from = p.sources.map(s => s.rse).join(', ');
    lines.push(
      <li key="move" className="jp-datalake-preview-move">
        {p.to_move.files === 0
          ? trans.__('Already there: all %1 files, nothing to copy', p.files)
          : from
            ? trans.__(
                'Copies %1 of %2 files (%3) from %4',
                p.to_move.files,
                p.files,
                formatBytes(p.to_move.bytes),
                from
              )
            : trans.__(
                'Copies %1 of %2 files (%3)',
                p.to_move.files,
                p.files,
                formatBytes(p.to_move.bytes)
              )}
      </li>
    );
    if (target.files_present > 0 && p.to_move.files > 0) {
      lines.push(
        <li key="present" className="jp-datalake-preview-present">
          {trans.__(
            'Already there: %1 files (%2)',
            target.files_present,
            formatBytes(target.bytes_present)
          )}
        </li>
      );
    }
  }
  const quotaOf = target ?? p.targets[0];
  if (quotaOf) {
    lines.push(
      <li key="quota" className="jp-datalake-preview-quota">
        {!quotaOf.quota_known
          ? trans.__('Your quota on %1: not known', quotaOf.rse)
          : quotaOf.quota_left === null
            ? trans.__('Your quota on %1: no limit', quotaOf.rse)
            : trans.__(
                'Your quota on %1: %2 left (this needs %3)',
                quotaOf.rse,
                formatBytes(quotaOf.quota_left),
                formatBytes(p.bytes)
              )}
      </li>
    );
  }
  return (
    <div
      className="jp-datalake-preview"
      data-fits={p.fits}
      data-target={p.target ?? ''}
      aria-live="polite"
    >
      <ul>{lines}</ul>
      {p.message && (
        <p className="jp-datalake-preview-warning" role="alert">
          {p.message}
        </p>
      )}
    </div>
  );
}
