import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { formatBytes, formatDuration, secondsUntil } from '../format';
import type { DatalakeModel } from '../model';
import { progressPercent } from '../staging';
import type { IStaging } from '../tokens';
import { ErrorBox } from './error';
import { ModelView } from './view';

function StagingItem(props: {
  staging: IStaging;
  model: DatalakeModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { staging: s, model, trans } = props;
  const percent = progressPercent(s);
  const left = secondsUntil(s.expires_at);
  const since = secondsUntil(s.stalled_since);
  const stalled = since === null || s.state === 'OK' ? null : -since;
  const release = async () => {
    const answer = await showDialog({
      title: trans.__('Release staging'),
      body: trans.__(
        'Release the copy of %1 near the hub? Rucio may delete it; notebooks using its paths will stop working.',
        s.did
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Keep') }),
        Dialog.warnButton({ label: trans.__('Release') })
      ]
    });
    if (answer.button.accept) {
      await model.release(s.id);
    }
  };
  return (
    <li
      className="jp-datalake-staging"
      data-staging-id={s.id}
      data-did={s.did}
      data-state={s.state}
    >
      <div className="jp-datalake-staging-head">
        <span className="jp-datalake-staging-did" title={s.did}>
          {s.did}
        </span>
        <span
          className={`jp-datalake-badge jp-datalake-state-${s.state.toLowerCase()}`}
        >
          {s.state}
        </span>
      </div>
      <div
        className="jp-datalake-progress"
        role="progressbar"
        aria-label={trans.__('Staging progress of %1', s.did)}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={trans.__('%1 of %2 files', s.files_ok, s.files_total)}
      >
        <div
          className="jp-datalake-progress-bar"
          style={{ width: `${percent}%` }}
        />
      </div>
      <div className="jp-datalake-staging-facts">
        <span className="jp-datalake-staging-files">
          {trans.__(
            '%1/%2 files · %3',
            s.files_ok,
            s.files_total,
            formatBytes(s.bytes_total)
          )}
        </span>
        {s.files_stuck > 0 && (
          <span className="jp-datalake-staging-stuck">
            {trans.__('%1 stuck', s.files_stuck)}
          </span>
        )}
        <span>{s.qos || s.rse_expression}</span>
        <span className="jp-datalake-staging-expiry">
          {left === null
            ? trans.__('no expiry')
            : left > 0
              ? trans.__('expires in %1', formatDuration(left))
              : trans.__('expired')}
        </span>
      </div>
      {s.error && (
        <p className="jp-datalake-staging-reason" role="note">
          {s.error}
        </p>
      )}
      {stalled !== null && (
        <p className="jp-datalake-staging-reason" role="note">
          {trans.__(
            'No file arrived for %1: the transfers may be stuck.',
            formatDuration(stalled)
          )}
        </p>
      )}
      {s.outside && (
        <p
          className="jp-datalake-muted jp-datalake-staging-outside"
          role="note"
        >
          {trans.__(
            'Made outside JupyterLab (Rucio client or WebUI): extend or release it there.'
          )}
        </p>
      )}
      <div className="jp-datalake-staging-actions">
        {!s.outside && (
          <>
            <button
              type="button"
              className="jp-datalake-link"
              aria-label={trans.__('Extend staging of %1', s.did)}
              title={trans.__(
                'Keep it %1 more from now',
                formatDuration(model.settings.defaultLifetime)
              )}
              disabled={model.busy}
              onClick={() => void model.extend(s.id)}
            >
              {trans.__('Extend')}
            </button>
            <button
              type="button"
              className="jp-datalake-link"
              aria-label={trans.__('Release staging of %1', s.did)}
              disabled={model.busy}
              onClick={() => void release()}
            >
              {trans.__('Release')}
            </button>
          </>
        )}
        {s.webui_url && (
          <a
            className="jp-datalake-link"
            href={s.webui_url}
            target="_blank"
            rel="noopener noreferrer"
            aria-label={trans.__(
              'Open the rule of %1 in the Rucio WebUI',
              s.did
            )}
          >
            {trans.__('Rucio WebUI')}
          </a>
        )}
      </div>
    </li>
  );
}

/**
 * "My stagings": this account's stagings with live progress, expiry and actions.
 */
export class StagingsSection extends ModelView {
  constructor(model: DatalakeModel, trans: TranslationBundle) {
    super(model, trans);
    this.addClass('jp-datalake-stagings');
    this.title.label = trans.__('My stagings');
  }

  render(): JSX.Element {
    const { model, trans } = this;
    const stagings = model.stagings;
    return (
      <>
        {model.stagingsError && (
          <ErrorBox
            error={model.stagingsError}
            trans={trans}
            onRetry={() => void model.refreshStagings().catch(() => undefined)}
          />
        )}
        {model.actionError && !model.details && (
          <ErrorBox
            error={model.actionError}
            trans={trans}
            onDismiss={() => model.clearActionError()}
          />
        )}
        {stagings.length === 0 && !model.stagingsError ? (
          <p className="jp-datalake-muted jp-datalake-empty">
            {trans.__(
              'No staging yet. Select a DID and stage it near the hub.'
            )}
          </p>
        ) : (
          <ul
            className="jp-datalake-staging-list"
            aria-label={trans.__('My stagings')}
          >
            {stagings.map(s => (
              <StagingItem key={s.id} staging={s} model={model} trans={trans} />
            ))}
          </ul>
        )}
      </>
    );
  }
}
