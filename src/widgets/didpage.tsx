import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { formatBytes } from '../format';
import { describeExpiry, describeStaging } from '../states';
import type {
  IDatalakeModel,
  IDidDetails,
  IDIDInfo,
  IStaging
} from '../tokens';
import { ErrorBox } from './error';
import { DidName } from './name';
import { StageForm } from './stageform';
import { ProgressBar, StateLabel } from './stagingparts';

/** The commands the page offers as buttons (ids from commands.ts). */
export interface IDidPageCommands {
  attach: string;
  openWebui: string;
}

function nearHubWords(info: IDIDInfo, trans: TranslationBundle): string {
  const rses = info.near_hub.rses.join(', ');
  switch (info.near_hub.state) {
    case 'AVAILABLE':
      return trans.__('Yes, on %1', rses);
    case 'PARTIAL':
      return trans.__('Partly, on %1', rses);
    case 'REPLICATING':
      return trans.__('Arriving on %1', rses);
    default:
      return trans.__('No: stage it to use it here');
  }
}

function Summary(props: {
  info: IDIDInfo;
  trans: TranslationBundle;
}): JSX.Element {
  const { info, trans } = props;
  return (
    <dl className="jp-datalake-facts">
      <dt>{trans.__('Type')}</dt>
      <dd data-type={info.type}>{info.type.toLowerCase()}</dd>
      <dt>{trans.__('Size')}</dt>
      <dd className="jp-datalake-size">{formatBytes(info.bytes)}</dd>
      {info.type !== 'FILE' && (
        <>
          <dt>{trans.__('Files')}</dt>
          <dd className="jp-datalake-length">
            {typeof info.length === 'number'
              ? info.length.toLocaleString()
              : '–'}
          </dd>
        </>
      )}
      <dt>{trans.__('Near the hub')}</dt>
      <dd className="jp-datalake-near-hub" data-near-hub={info.near_hub.state}>
        {nearHubWords(info, trans)}
      </dd>
    </dl>
  );
}

function Metadata(props: {
  info: IDIDInfo;
  trans: TranslationBundle;
}): JSX.Element {
  const entries = Object.entries(props.info.metadata ?? {}).filter(
    ([, v]) => v !== null && v !== undefined && v !== ''
  );
  if (entries.length === 0) {
    return (
      <p className="jp-datalake-muted">{props.trans.__('No metadata.')}</p>
    );
  }
  return (
    <dl className="jp-datalake-metadata">
      {entries.map(([key, value]) => (
        <React.Fragment key={key}>
          <dt>{key}</dt>
          <dd>
            {typeof value === 'object' ? JSON.stringify(value) : String(value)}
          </dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

/** One rule or staging of this DID: where, its state in words, progress, expiry. */
function RuleItem(props: {
  rule: IStaging;
  trans: TranslationBundle;
}): JSX.Element {
  const { rule, trans } = props;
  const words = describeStaging(rule, trans);
  return (
    <li
      className="jp-datalake-rule"
      data-rule-id={rule.id}
      data-state={rule.state}
    >
      <span className="jp-datalake-rule-target">
        {rule.qos || rule.rse_expression}
      </span>
      <StateLabel words={words} />
      <ProgressBar staging={rule} trans={trans} />
      <span className="jp-datalake-muted">{describeExpiry(rule, trans)}</span>
    </li>
  );
}

/**
 * The page of one DID in the main area: what it is, where its copies are (per site and
 * QoS, near the hub or not), its rules, and the stage form with its errors beside the
 * button. It follows the stagings: a staging of this DID that moves reloads the page.
 */
export class DidPage extends ReactWidget {
  constructor(
    readonly model: IDatalakeModel,
    readonly details: IDidDetails,
    private readonly _trans: TranslationBundle,
    private readonly _commands: CommandRegistry,
    private readonly _ids: IDidPageCommands
  ) {
    super();
    this.addClass('jp-datalake-didpage');
    model.stateChanged.connect(this._onChange, this);
    details.changed.connect(this._onChange, this);
  }

  get did(): string {
    return this.details.did;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.stateChanged.disconnect(this._onChange, this);
    this.details.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    const { model, details } = this;
    const trans = this._trans;
    const did = details.did;
    const info = details.info;
    const args = { did };
    // This account's stagings of the DID, live from the model's polls.
    const mine = model.stagings.filter(s => s.did === did);
    const loading =
      !info && !details.infoError && !details.replicas && !details.rules;
    return (
      <div className="jp-datalake-didpage-body" data-did={did}>
        <header className="jp-datalake-didpage-head">
          <h2 className="jp-datalake-didpage-title">
            <DidName text={did} trans={trans} copy />
          </h2>
          <div className="jp-datalake-didpage-actions">
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__('Attach to notebook')}
              disabled={!this._commands.isEnabled(this._ids.attach, args)}
              onClick={() =>
                void this._commands.execute(this._ids.attach, args)
              }
            >
              {trans.__('Attach to notebook')}
            </button>
            {this._commands.isVisible(this._ids.openWebui, args) && (
              <button
                type="button"
                className="jp-mod-styled"
                onClick={() =>
                  void this._commands.execute(this._ids.openWebui, args)
                }
              >
                {trans.__('Rucio WebUI')}
              </button>
            )}
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__('Reload %1', did)}
              onClick={() => void details.reload()}
            >
              {trans.__('Reload')}
            </button>
          </div>
        </header>
        {loading && <p className="jp-datalake-muted">{trans.__('Loading…')}</p>}
        <div className="jp-datalake-didpage-top">
          <section
            className="jp-datalake-didpage-summary"
            aria-label={trans.__('Summary')}
          >
            {details.infoError && (
              <ErrorBox
                error={details.infoError}
                trans={trans}
                onRetry={() => void details.reload()}
              />
            )}
            {info && <Summary info={info} trans={trans} />}
            {mine.length > 0 && (
              <ul
                className="jp-datalake-rules jp-datalake-my-stagings"
                aria-label={trans.__('Your stagings of %1', did)}
              >
                {mine.map(s => (
                  <RuleItem key={s.id} rule={s} trans={trans} />
                ))}
              </ul>
            )}
          </section>
          <section
            className="jp-datalake-didpage-stage"
            aria-label={trans.__('Stage near the hub')}
          >
            <h3 className="jp-datalake-subtitle">
              {trans.__('Stage near the hub')}
            </h3>
            <StageForm
              key={`${model.instance}/${did}`}
              model={model}
              trans={trans}
              did={did}
            />
          </section>
        </div>
        <section aria-label={trans.__('Replicas')}>
          <h3 className="jp-datalake-subtitle">{trans.__('Replicas')}</h3>
          {details.replicasError && (
            <ErrorBox
              error={details.replicasError}
              trans={trans}
              onRetry={() => void details.reload()}
            />
          )}
          {details.replicas && details.replicas.length === 0 && (
            <p className="jp-datalake-muted">{trans.__('No replica.')}</p>
          )}
          {details.replicas && details.replicas.length > 0 && (
            <table className="jp-datalake-replicas">
              <thead>
                <tr>
                  <th scope="col">{trans.__('Storage (RSE)')}</th>
                  <th scope="col">{trans.__('Site')}</th>
                  <th scope="col">{trans.__('QoS')}</th>
                  <th scope="col">{trans.__('Near the hub')}</th>
                  <th scope="col">{trans.__('Files')}</th>
                  <th scope="col">{trans.__('Size')}</th>
                </tr>
              </thead>
              <tbody>
                {details.replicas.map(r => (
                  <tr
                    key={r.rse}
                    data-rse={r.rse}
                    className={r.near_hub ? 'jp-mod-near-hub' : undefined}
                  >
                    <td>{r.rse}</td>
                    <td>{r.site ?? '–'}</td>
                    <td>{r.qos ?? '–'}</td>
                    <td>{r.near_hub ? trans.__('yes') : trans.__('no')}</td>
                    <td>{r.files.toLocaleString()}</td>
                    <td>{formatBytes(r.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section aria-label={trans.__('Rules')}>
          <h3 className="jp-datalake-subtitle">{trans.__('Rules')}</h3>
          {details.rulesError && (
            <ErrorBox
              error={details.rulesError}
              trans={trans}
              onRetry={() => void details.reload()}
            />
          )}
          {details.rules && details.rules.length === 0 && (
            <p className="jp-datalake-muted">{trans.__('No rule.')}</p>
          )}
          {details.rules && details.rules.length > 0 && (
            <ul className="jp-datalake-rules">
              {details.rules.map(rule => (
                <RuleItem key={rule.id} rule={rule} trans={trans} />
              ))}
            </ul>
          )}
        </section>
        {info && (
          <section aria-label={trans.__('Metadata')}>
            <h3 className="jp-datalake-subtitle">{trans.__('Metadata')}</h3>
            <Metadata info={info} trans={trans} />
          </section>
        )}
      </div>
    );
  }

  private _onChange(): void {
    this.update();
  }
}
