import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useState } from 'react';

import { formatDuration, parseDuration } from '../format';
import type { IDatalakeError, IDatalakeModel, IQosClass } from '../tokens';
import { ErrorBox } from './error';
import { StagePreview, usePreview } from './stagepreview';

/**
 * The QoS class to preselect: the setting when the server offers it, else the first.
 */
export function initialQos(
  classes: ReadonlyArray<IQosClass>,
  preferred: string
): string {
  return classes.some(c => c.name === preferred)
    ? preferred
    : (classes[0]?.name ?? '');
}

/**
 * Ask for a copy of a DID near the hub: QoS class (always one the server offers),
 * lifetime, optional source QoS and delayed start. A refusal is shown next to the button.
 */
export function StageForm(props: {
  model: IDatalakeModel;
  trans: TranslationBundle;
  did: string;
}): JSX.Element {
  const { model, trans, did } = props;
  const classes = model.qosClasses;
  const [chosen, setQos] = useState('');
  const [lifetime, setLifetime] = useState(
    formatDuration(model.settings.defaultLifetime)
  );
  const [sourceQos, setSourceQos] = useState('');
  const [startIn, setStartIn] = useState('');
  const [error, setError] = useState<IDatalakeError | null>(null);
  // A choice that vanished (instance switch, config change) falls back to a valid one.
  const qos = classes.some(c => c.name === chosen)
    ? chosen
    : initialQos(classes, model.settings.defaultQos);
  const qosClass = classes.find(c => c.name === qos);
  const preview = usePreview(model, did, qosClass ? qos : '');
  const lifetimeSeconds = parseDuration(lifetime);
  const startSeconds = startIn.trim() === '' ? null : parseDuration(startIn);
  const startInvalid = startIn.trim() !== '' && startSeconds === null;
  const valid =
    qosClass !== undefined && lifetimeSeconds !== null && !startInvalid;

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!valid) {
      return;
    }
    setError(null);
    void model
      .stage({
        dids: [did],
        qos,
        lifetime: lifetimeSeconds!,
        source_qos: sourceQos || null,
        start_in: startSeconds
      })
      .then(result => setError(result === null ? model.actionError : null));
  };

  if (model.qosError) {
    return (
      <p className="jp-datalake-muted" role="status">
        {trans.__(
          'Cannot stage: the QoS classes could not be read. %1',
          model.qosError.message
        )}
      </p>
    );
  }
  if (classes.length === 0) {
    return (
      <p className="jp-datalake-muted" role="status">
        {trans.__(
          'Cannot stage: this instance offers no QoS class. Ask your administrator to configure qos_classes.'
        )}
      </p>
    );
  }
  return (
    <form
      className="jp-datalake-stage"
      aria-label={trans.__('Stage %1', did)}
      data-did={did}
      onSubmit={submit}
    >
      <label className="jp-datalake-field">
        <span>{trans.__('QoS class')}</span>
        <select
          className="jp-datalake-qos"
          aria-label={trans.__('QoS class')}
          value={qos}
          onChange={event => setQos(event.target.value)}
        >
          {classes.map(c => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {qosClass && (
        <p className="jp-datalake-qos-description" data-qos={qosClass.name}>
          {qosClass.description}
        </p>
      )}
      <label className="jp-datalake-field">
        <span>{trans.__('Lifetime (e.g. 3600, 12h, 7d)')}</span>
        <input
          className="jp-datalake-lifetime"
          aria-label={trans.__('Lifetime')}
          aria-invalid={lifetimeSeconds === null}
          value={lifetime}
          onChange={event => setLifetime(event.target.value)}
        />
      </label>
      <details className="jp-datalake-stage-more">
        <summary>{trans.__('More options')}</summary>
        <label className="jp-datalake-field">
          <span>{trans.__('Copy from QoS class')}</span>
          <select
            aria-label={trans.__('Source QoS class')}
            value={sourceQos}
            onChange={event => setSourceQos(event.target.value)}
          >
            <option value="">{trans.__('Any source')}</option>
            {classes.map(c => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-datalake-field">
          <span>{trans.__('Start in (empty: now; e.g. 2h)')}</span>
          <input
            aria-label={trans.__('Start in')}
            aria-invalid={startInvalid}
            value={startIn}
            onChange={event => setStartIn(event.target.value)}
          />
        </label>
      </details>
      <StagePreview
        preview={preview.preview}
        error={preview.error}
        trans={trans}
      />
      <div className="jp-datalake-stage-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          aria-label={trans.__('Stage near the hub')}
          disabled={!valid || model.busy}
        >
          {trans.__('Stage')}
        </button>
        {error && (
          <ErrorBox
            error={error}
            trans={trans}
            onDismiss={() => setError(null)}
          />
        )}
      </div>
    </form>
  );
}
