/**
 * Rucio's rule states in plain words: the one place that says what a staging's state means,
 * used by the panel, the DID page, the stagings view, the status bar and notifications.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import { formatBytes, formatDuration, secondsUntil } from './format';
import type { IStaging, StagingState } from './tokens';

const IN_FLIGHT: ReadonlyArray<StagingState> = [
  'REPLICATING',
  'INJECT',
  'WAITING_APPROVAL'
];

/** A staging that is neither done nor failed. */
export function isInFlight(staging: IStaging): boolean {
  return IN_FLIGHT.includes(staging.state);
}

/** A staging Rucio will not finish without someone acting (stuck or suspended). */
export function isStopped(staging: IStaging): boolean {
  return staging.state === 'STUCK' || staging.state === 'SUSPENDED';
}

/** How a state looks: done, moving, waiting for something, or needing the user. */
export type StateTone = 'ok' | 'active' | 'waiting' | 'problem';

export interface IStateWords {
  /** What the user reads, e.g. "Copying 3 of 4 files", "Stuck: no source replica". */
  label: string;
  tone: StateTone;
  /** Rucio's own state name (INJECT, REPLICATING ...), for the tooltip. */
  raw: string;
  /** Rucio's state and what it means, for a tooltip. */
  tooltip: string;
  /** Files still copying and stuck, when there are any ("1 copying · 2 stuck"). */
  counts: string | null;
}

/**
 * Describe a staging's state. "starts in …" and bytes arrived are said only when the shim
 * reports them (`starts_at`, `bytes_ok`): nothing is guessed.
 */
export function describeStaging(
  staging: IStaging,
  trans: TranslationBundle,
  now: number = Date.now()
): IStateWords {
  const raw = staging.state;
  const reason = staging.error?.trim() || null;
  let label: string;
  let tone: StateTone;
  let meaning: string;
  switch (staging.state) {
    case 'OK':
      label = trans.__('Ready');
      tone = 'ok';
      meaning = trans.__('every file is near the hub');
      break;
    case 'REPLICATING': {
      label =
        typeof staging.bytes_ok === 'number' && staging.bytes_total !== null
          ? trans.__(
              'Copying %1 of %2 files (%3 of %4)',
              staging.files_ok,
              staging.files_total,
              formatBytes(staging.bytes_ok),
              formatBytes(staging.bytes_total)
            )
          : trans.__(
              'Copying %1 of %2 files',
              staging.files_ok,
              staging.files_total
            );
      tone = 'active';
      meaning = trans.__('Rucio is copying files near the hub');
      break;
    }
    case 'STUCK':
      label = reason
        ? trans.__('Stuck: %1', reason)
        : trans._n(
            'Stuck: %1 file cannot be copied',
            'Stuck: %1 files cannot be copied',
            staging.files_stuck
          );
      tone = 'problem';
      meaning = trans.__(
        'some files cannot be copied; Rucio retries them for a while'
      );
      break;
    case 'SUSPENDED':
      label = reason
        ? trans.__('Stopped: %1', reason)
        : trans.__('Stopped by Rucio (no reason given)');
      tone = 'problem';
      meaning = trans.__('Rucio stopped the copy');
      break;
    case 'WAITING_APPROVAL':
      label = trans.__('Waiting for approval');
      tone = 'waiting';
      meaning = trans.__('a data manager must approve the request');
      break;
    case 'INJECT': {
      const startsIn = secondsUntil(staging.starts_at, now);
      label =
        startsIn !== null && startsIn > 0
          ? trans.__('Queued, starts in %1', formatDuration(startsIn))
          : trans.__('Queued');
      tone = 'waiting';
      meaning = trans.__('accepted; Rucio has not started the copy yet');
      break;
    }
    default:
      label = raw;
      tone = 'waiting';
      meaning = '';
  }
  const counts: string[] = [];
  if (staging.state !== 'OK' && staging.files_replicating > 0) {
    counts.push(trans.__('%1 copying', staging.files_replicating));
  }
  if (staging.files_stuck > 0) {
    counts.push(trans.__('%1 stuck', staging.files_stuck));
  }
  return {
    label,
    tone,
    raw,
    tooltip: meaning
      ? trans.__('Rucio state %1: %2', raw, meaning)
      : trans.__('Rucio state %1', raw),
    counts: counts.length > 0 ? counts.join(' · ') : null
  };
}

/**
 * When a staging expires, in words: "expires in 2d 3h", "expired", "no expiry".
 */
export function describeExpiry(
  staging: IStaging,
  trans: TranslationBundle,
  now: number = Date.now()
): string {
  const left = secondsUntil(staging.expires_at, now);
  if (left === null) {
    return trans.__('no expiry');
  }
  return left > 0
    ? trans.__('expires in %1', formatDuration(left))
    : trans.__('expired');
}
