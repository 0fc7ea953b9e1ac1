import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import type { IDatalakeError } from '../tokens';

/**
 * An error shown in place: the shim's sentence (which says what to do), its reason code,
 * and an optional retry.
 */
export function ErrorBox(props: {
  error: IDatalakeError;
  trans: TranslationBundle;
  onRetry?: () => void;
  onDismiss?: () => void;
}): JSX.Element {
  const { error, trans } = props;
  return (
    <div
      className="jp-datalake-error"
      role="alert"
      data-reason={error.reason}
      data-status={error.status}
    >
      <p className="jp-datalake-error-message">{error.message}</p>
      <p className="jp-datalake-error-reason">
        {error.status > 0
          ? trans.__('Reason: %1 (HTTP %2)', error.reason, error.status)
          : trans.__('Reason: %1', error.reason)}
      </p>
      <div className="jp-datalake-error-actions">
        {props.onRetry && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            onClick={props.onRetry}
          >
            {trans.__('Retry')}
          </button>
        )}
        {props.onDismiss && (
          <button
            type="button"
            className="jp-mod-styled"
            onClick={props.onDismiss}
          >
            {trans.__('Dismiss')}
          </button>
        )}
      </div>
    </div>
  );
}
