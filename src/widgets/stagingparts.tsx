import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useState } from 'react';

import { formatDuration } from '../format';

import { progressPercent } from '../staging';
import type { IStateWords } from '../states';
import type { IDatalakeModel, IStaging } from '../tokens';

/** A staging's state in plain words; Rucio's own state and its meaning in the tooltip. */
export function StateLabel(props: { words: IStateWords }): JSX.Element {
  const { words } = props;
  return (
    <span
      className="jp-datalake-state"
      data-tone={words.tone}
      data-raw-state={words.raw}
      title={words.tooltip}
    >
      {/* One flex item, so a long label and its counts wrap as one text in narrow lists. */}
      <span>
        {words.label}
        {words.counts && (
          <span className="jp-datalake-state-counts">{` (${words.counts})`}</span>
        )}
      </span>
    </span>
  );
}

/** Files done as a bar, with the numbers for screen readers. */
export function ProgressBar(props: {
  staging: IStaging;
  trans: TranslationBundle;
}): JSX.Element {
  const { staging: s, trans } = props;
  const percent = progressPercent(s);
  return (
    <div
      className="jp-datalake-bar"
      role="progressbar"
      data-state={s.state}
      aria-label={trans.__('Staging progress of %1', s.did)}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={trans.__('%1 of %2 files', s.files_ok, s.files_total)}
    >
      <div className="jp-datalake-bar-done" style={{ width: `${percent}%` }} />
    </div>
  );
}

/** The durations Extend offers: a day, a week, a month, and the configured default. */
export function extendChoices(defaultLifetime: number): number[] {
  return [...new Set([86400, 7 * 86400, 30 * 86400, defaultLifetime])].sort(
    (a, b) => a - b
  );
}

/** Extend a staging by a chosen duration from now (the default lifetime preselected). */
export function ExtendControl(props: {
  staging: IStaging;
  model: IDatalakeModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { staging: s, model, trans } = props;
  const [seconds, setSeconds] = useState(model.settings.defaultLifetime);
  return (
    <span className="jp-datalake-extend">
      <select
        className="jp-datalake-extend-by"
        aria-label={trans.__('Extend %1 by', s.did)}
        value={seconds}
        onChange={event => setSeconds(Number(event.target.value))}
      >
        {extendChoices(model.settings.defaultLifetime).map(choice => (
          <option key={choice} value={choice}>
            {formatDuration(choice)}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="jp-mod-styled"
        aria-label={trans.__('Extend staging of %1', s.did)}
        title={trans.__('Keep it %1 more from now', formatDuration(seconds))}
        disabled={model.busy}
        onClick={() => void model.extend(s.id, seconds)}
      >
        {trans.__('Extend')}
      </button>
    </span>
  );
}

/** Ask before releasing: notebooks using the paths stop working. */
export async function confirmRelease(
  model: IDatalakeModel,
  staging: IStaging,
  trans: TranslationBundle
): Promise<void> {
  const answer = await showDialog({
    title: trans.__('Release staging'),
    body: trans.__(
      'Release the copy of %1 near the hub? Rucio may delete it; notebooks using its paths will stop working.',
      staging.did
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Keep') }),
      Dialog.warnButton({ label: trans.__('Release') })
    ]
  });
  if (answer.button.accept) {
    await model.release(staging.id);
  }
}
