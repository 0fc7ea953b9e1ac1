import type { CommandRegistry } from '@lumino/commands';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { formatBytes, formatDuration, secondsUntil } from '../format';
import type { DatalakeModel, IDetails } from '../model';
import { ErrorBox } from './error';
import { StageForm } from './stageform';
import { ModelView } from './view';

function Metadata(props: {
  details: IDetails;
  trans: TranslationBundle;
}): JSX.Element | null {
  const info = props.details.info;
  if (!info) {
    return null;
  }
  const entries = Object.entries(info.metadata ?? {}).filter(
    ([, v]) => v !== null && v !== undefined && v !== ''
  );
  if (entries.length === 0) {
    return null;
  }
  return (
    <details className="jp-datalake-metadata">
      <summary>{props.trans.__('Metadata (%1)', entries.length)}</summary>
      <dl>
        {entries.map(([key, value]) => (
          <React.Fragment key={key}>
            <dt>{key}</dt>
            <dd>
              {typeof value === 'object'
                ? JSON.stringify(value)
                : String(value)}
            </dd>
          </React.Fragment>
        ))}
      </dl>
    </details>
  );
}

/**
 * The "Details" section: what the selected DID is, where its replicas are, its rules,
 * whether it is already near the hub, and the stage form.
 */
export class DetailsSection extends ModelView {
  constructor(
    model: DatalakeModel,
    trans: TranslationBundle,
    private readonly _commands: CommandRegistry,
    private readonly _commandIds: { copy: string; attach: string }
  ) {
    super(model, trans);
    this.addClass('jp-datalake-details');
    this.title.label = trans.__('Details');
  }

  render(): JSX.Element {
    const { model, trans } = this;
    const details = model.details;
    if (!details) {
      return (
        <p className="jp-datalake-muted jp-datalake-empty">
          {trans.__('Select a DID to see its details and stage it.')}
        </p>
      );
    }
    const { info, replicas, rules } = details;
    return (
      <div className="jp-datalake-details-body" data-did={details.did}>
        <div className="jp-datalake-details-title">
          <span className="jp-datalake-details-did">{details.did}</span>
          <button
            type="button"
            className="jp-datalake-link"
            aria-label={trans.__('Copy DID')}
            onClick={() =>
              void this._commands.execute(this._commandIds.copy, {
                did: details.did
              })
            }
          >
            {trans.__('Copy')}
          </button>
          <button
            type="button"
            className="jp-datalake-link"
            aria-label={trans.__('Attach to notebook')}
            disabled={
              !this._commands.isEnabled(this._commandIds.attach, {
                did: details.did
              })
            }
            onClick={() =>
              void this._commands.execute(this._commandIds.attach, {
                did: details.did
              })
            }
          >
            {trans.__('Attach')}
          </button>
        </div>
        {details.infoError && (
          <ErrorBox
            error={details.infoError}
            trans={trans}
            onRetry={() => void model.loadDetails(details.did)}
          />
        )}
        {!info && !details.infoError && (
          <p className="jp-datalake-muted">{trans.__('Loading…')}</p>
        )}
        {info && (
          <dl className="jp-datalake-facts">
            <dt>{trans.__('Type')}</dt>
            <dd data-type={info.type}>{info.type}</dd>
            <dt>{trans.__('Size')}</dt>
            <dd className="jp-datalake-size">{formatBytes(info.bytes)}</dd>
            {info.type !== 'FILE' && (
              <>
                <dt>{trans.__('Files')}</dt>
                <dd className="jp-datalake-length">{info.length ?? '–'}</dd>
              </>
            )}
            <dt>{trans.__('Near the hub')}</dt>
            <dd
              className="jp-datalake-near-hub"
              data-near-hub={info.near_hub.state}
            >
              {info.near_hub.state === 'AVAILABLE'
                ? trans.__('available on %1', info.near_hub.rses.join(', '))
                : info.near_hub.state === 'PARTIAL'
                  ? trans.__('partly on %1', info.near_hub.rses.join(', '))
                  : info.near_hub.state === 'REPLICATING'
                    ? trans.__('arriving on %1', info.near_hub.rses.join(', '))
                    : trans.__('not near the hub: stage it below')}
            </dd>
          </dl>
        )}
        <Metadata details={details} trans={trans} />
        <h3 className="jp-datalake-subtitle">{trans.__('Replicas')}</h3>
        {details.replicasError && (
          <ErrorBox error={details.replicasError} trans={trans} />
        )}
        {replicas && replicas.length === 0 && (
          <p className="jp-datalake-muted">{trans.__('No replica.')}</p>
        )}
        {replicas && replicas.length > 0 && (
          <table className="jp-datalake-replicas">
            <thead>
              <tr>
                <th scope="col">{trans.__('RSE')}</th>
                <th scope="col">{trans.__('QoS')}</th>
                <th scope="col">{trans.__('Site')}</th>
                <th scope="col">{trans.__('Files')}</th>
                <th scope="col">{trans.__('Size')}</th>
              </tr>
            </thead>
            <tbody>
              {replicas.map(r => (
                <tr
                  key={r.rse}
                  data-rse={r.rse}
                  className={r.near_hub ? 'jp-mod-near-hub' : undefined}
                  title={r.near_hub ? trans.__('Near the hub') : undefined}
                >
                  <td>{r.rse}</td>
                  <td>{r.qos ?? '–'}</td>
                  <td>{r.site ?? '–'}</td>
                  <td>{r.files}</td>
                  <td>{formatBytes(r.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h3 className="jp-datalake-subtitle">{trans.__('Rules')}</h3>
        {details.rulesError && (
          <ErrorBox error={details.rulesError} trans={trans} />
        )}
        {rules && rules.length === 0 && (
          <p className="jp-datalake-muted">{trans.__('No rule.')}</p>
        )}
        {rules && rules.length > 0 && (
          <ul className="jp-datalake-rules">
            {rules.map(rule => {
              const left = secondsUntil(rule.expires_at);
              return (
                <li
                  key={rule.id}
                  data-rule-id={rule.id}
                  data-state={rule.state}
                >
                  {`${rule.qos || rule.rse_expression} · ${rule.state}`}
                  {left !== null &&
                    ` · ${trans.__('expires in %1', formatDuration(left))}`}
                </li>
              );
            })}
          </ul>
        )}
        <h3 className="jp-datalake-subtitle">
          {trans.__('Stage near the hub')}
        </h3>
        {model.actionError && (
          <ErrorBox
            error={model.actionError}
            trans={trans}
            onDismiss={() => model.clearActionError()}
          />
        )}
        <StageForm
          key={`${model.instance}/${details.did}`}
          model={model}
          trans={trans}
          did={details.did}
        />
      </div>
    );
  }
}
