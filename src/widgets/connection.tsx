import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useState } from 'react';

import { formatDuration, secondsUntil } from '../format';
import type { IWhoami } from '../tokens';
import { ErrorBox } from './error';
import { ModelView } from './view';

/** Refresh the token countdown this often. */
const CLOCK_MS = 30_000;

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), CLOCK_MS);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * How long the token lasts, or that the shim renews it by itself.
 */
export function TokenLeft(props: {
  whoami: IWhoami;
  trans: TranslationBundle;
}): JSX.Element | null {
  const now = useNow();
  const { whoami, trans } = props;
  if (whoami.token_auto_renew) {
    // The shim gets the next token itself: a countdown would only alarm.
    return (
      <span className="jp-datalake-token" data-auto-renew="true">
        {whoami.token_source === 'hub'
          ? trans.__('signed in through JupyterHub')
          : trans.__('token renewed automatically')}
      </span>
    );
  }
  const left = secondsUntil(whoami.token_expires_at, now);
  if (left === null) {
    return null;
  }
  const expired = left <= 0;
  return (
    <span
      className={`jp-datalake-token${expired ? ' jp-mod-expired' : ''}`}
      data-seconds-left={Math.round(left)}
    >
      {expired
        ? trans.__('token expired: refresh to renew')
        : trans.__('token %1 left', formatDuration(left))}
    </span>
  );
}

/**
 * The panel header: "<account> @ <instance>", token time left, instance switch, or the
 * reason the data lake cannot be reached, with a retry.
 */
export class ConnectionHeader extends ModelView {
  render(): JSX.Element {
    const { model, trans } = this;
    const whoami = model.whoami;
    const instances = model.instances;
    const error = model.connectionError;
    const state = error
      ? 'error'
      : whoami
        ? 'connected'
        : model.connecting
          ? 'connecting'
          : 'idle';
    return (
      <div className="jp-datalake-connection" data-state={state}>
        <div className="jp-datalake-connection-line">
          {whoami && !error && (
            <span
              className="jp-datalake-identity"
              data-auth-type={whoami.auth_type}
              title={trans.__(
                'Rucio %1, %2 authentication',
                whoami.rucio_version,
                whoami.auth_type
              )}
            >
              {`${whoami.account} @ ${whoami.instance}`}
            </span>
          )}
          {state === 'connecting' && (
            <span className="jp-datalake-muted">
              {trans.__('Connecting to the data lake…')}
            </span>
          )}
          {whoami && !error && <TokenLeft whoami={whoami} trans={trans} />}
        </div>
        {instances.length > 1 && (
          <label className="jp-datalake-field">
            <span>{trans.__('Instance')}</span>
            <select
              className="jp-datalake-instance"
              aria-label={trans.__('Rucio instance')}
              value={model.instance}
              onChange={event => void model.setInstance(event.target.value)}
            >
              {instances.map(i => (
                <option key={i.name} value={i.name}>
                  {i.display_name || i.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {model.versionMismatch && (
          <p className="jp-datalake-version-mismatch" role="alert">
            {model.versionMismatch.server === null
              ? trans.__(
                  'The data lake server extension is older than this frontend (%1): they do not match. Install the same version of jupyterlab-datalake for both (pip install), then restart JupyterLab.',
                  model.versionMismatch.frontend
                )
              : trans.__(
                  'The data lake server extension (%1) and this frontend (%2) are different versions. Install the same version of jupyterlab-datalake for both (pip install), then restart JupyterLab.',
                  model.versionMismatch.server,
                  model.versionMismatch.frontend
                )}
          </p>
        )}
        {error && (
          <ErrorBox
            error={error}
            trans={trans}
            onRetry={() => void model.connect()}
          />
        )}
      </div>
    );
  }
}
