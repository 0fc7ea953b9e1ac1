import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useState } from 'react';

import { formatDuration, secondsUntil } from '../format';
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

function TokenLeft(props: {
  expiresAt: string | null;
  trans: TranslationBundle;
}): JSX.Element | null {
  const now = useNow();
  const trans = props.trans;
  const left = secondsUntil(props.expiresAt, now);
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
          {whoami && !error && (
            <TokenLeft expiresAt={whoami.token_expires_at} trans={trans} />
          )}
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
