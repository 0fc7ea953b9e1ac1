import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { CommandIDs } from '../commands';
import { formatBytes, formatDuration, secondsUntil } from '../format';
import { describeExpiry, describeStaging } from '../states';
import type { IDatalakeModel, IStaging } from '../tokens';
import { ProgressChart } from './chart';
import { ErrorBox } from './error';
import { DidName } from './name';
import {
  confirmRelease,
  ExtendControl,
  ProgressBar,
  StateLabel
} from './stagingparts';

function StagingRow(props: {
  staging: IStaging;
  model: IDatalakeModel;
  trans: TranslationBundle;
  openDid: (did: string) => void;
  commands: CommandRegistry;
  now: number;
}): JSX.Element {
  const { staging: s, model, trans, now } = props;
  const words = describeStaging(s, trans, now);
  const expiring = model.isExpiring(s, now);
  const since = secondsUntil(s.stalled_since, now);
  const stalled = since === null || s.state === 'OK' ? null : -since;
  return (
    <li
      className="jp-datalake-staging jp-datalake-didItem"
      data-staging-id={s.id}
      data-did={s.did}
      data-state={s.state}
    >
      <div className="jp-datalake-staging-main">
        <div className="jp-datalake-staging-head">
          <DidName
            text={s.did}
            trans={trans}
            copy
            className="jp-datalake-staging-did"
          />
          <StateLabel words={words} />
        </div>
        <ProgressBar staging={s} trans={trans} />
        <div className="jp-datalake-staging-facts">
          <span className="jp-datalake-staging-files">
            {typeof s.bytes_ok === 'number'
              ? trans.__(
                  '%1/%2 files · %3 of %4',
                  s.files_ok,
                  s.files_total,
                  formatBytes(s.bytes_ok),
                  formatBytes(s.bytes_total)
                )
              : trans.__(
                  '%1/%2 files · %3 in all',
                  s.files_ok,
                  s.files_total,
                  formatBytes(s.bytes_total)
                )}
          </span>
          <span>{s.qos || s.rse_expression}</span>
          <span
            className={`jp-datalake-staging-expiry${expiring ? ' jp-mod-warn' : ''}`}
          >
            {describeExpiry(s, trans, now)}
          </span>
        </div>
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
      </div>
      <ProgressChart
        samples={model.history(s.id)}
        bytesTotal={s.bytes_total}
        now={now}
        trans={trans}
      />
      <div className="jp-datalake-staging-actions">
        <button
          type="button"
          className="jp-mod-styled"
          aria-label={trans.__('Open %1', s.did)}
          onClick={() => props.openDid(s.did)}
        >
          {trans.__('Open')}
        </button>
        {!s.outside && (
          <>
            <ExtendControl staging={s} model={model} trans={trans} />
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__('Move staging of %1 to another QoS', s.did)}
              disabled={model.busy}
              onClick={() =>
                void props.commands.execute(CommandIDs.moveStaging, {
                  id: s.id
                })
              }
            >
              {trans.__('Move to…')}
            </button>
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__('Verify the local copies of %1', s.did)}
              onClick={() =>
                void props.commands.execute(CommandIDs.verifyDid, {
                  did: s.did
                })
              }
            >
              {trans.__('Verify copies')}
            </button>
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              aria-label={trans.__('Release staging of %1', s.did)}
              disabled={model.busy}
              onClick={() => void confirmRelease(model, s, trans)}
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
 * All stagings of this account in the main area: state in plain words, progress with a
 * chart of what the panel has seen arrive, expiry, and the actions.
 */
export class StagingsView extends ReactWidget {
  constructor(
    readonly model: IDatalakeModel,
    private readonly _trans: TranslationBundle,
    private readonly _commands: CommandRegistry,
    private readonly _openDid: string
  ) {
    super();
    this.addClass('jp-datalake-stagingsview');
    model.stateChanged.connect(this._onChange, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.setVisible(this, false);
    this.model.stateChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  render(): JSX.Element {
    const { model } = this;
    const trans = this._trans;
    const now = Date.now();
    const stagings = model.stagings;
    return (
      <div className="jp-datalake-stagingsview-body">
        {model.stagingsError && (
          <ErrorBox
            error={model.stagingsError}
            trans={trans}
            onRetry={() => void model.refreshStagings().catch(() => undefined)}
          />
        )}
        {model.actionError && (
          <ErrorBox
            error={model.actionError}
            trans={trans}
            onDismiss={() => model.clearActionError()}
          />
        )}
        {stagings.length === 0 && !model.stagingsError ? (
          <p className="jp-datalake-muted jp-datalake-empty">
            {trans.__(
              'No staging yet. Open a DID from the Data lake panel and stage it near the hub.'
            )}
          </p>
        ) : (
          <ul
            className="jp-datalake-staging-list"
            aria-label={trans.__('Stagings')}
          >
            {stagings.map(s => (
              <StagingRow
                key={s.id}
                staging={s}
                model={model}
                trans={trans}
                now={now}
                commands={this._commands}
                openDid={did =>
                  void this._commands.execute(this._openDid, { did })
                }
              />
            ))}
          </ul>
        )}
      </div>
    );
  }

  protected onAfterAttach(): void {
    this.model.setVisible(this, this.isVisible);
  }

  protected onBeforeDetach(): void {
    this.model.setVisible(this, false);
  }

  protected onAfterShow(): void {
    this.model.setVisible(this, true);
  }

  protected onAfterHide(): void {
    this.model.setVisible(this, false);
  }

  private _onChange(): void {
    this.update();
  }
}
