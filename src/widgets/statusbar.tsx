import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { datalakeIcon } from '../icons';
import { describeStaging } from '../states';
import type { IDatalakeModel } from '../tokens';
import { middleTruncate } from './name';

/** Longest DID shown in the status bar. */
const NAME_MAX = 24;

/**
 * Status bar item: the stagings in flight in plain words ("demo:x: Copying 3 of 4 files",
 * or "2 stagings: Copying 3 of 4 files, Queued"); a click opens the Stagings view.
 */
export class StagingStatus extends ReactWidget {
  constructor(
    private readonly _model: IDatalakeModel,
    private readonly _trans: TranslationBundle,
    private readonly _onClick: () => void
  ) {
    super();
    this.addClass('jp-datalake-status');
    _model.stateChanged.connect(this._onChange, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.stateChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  render(): JSX.Element {
    const trans = this._trans;
    const inFlight = this._model.inFlight;
    const words = inFlight.map(s => describeStaging(s, trans).label);
    const label =
      inFlight.length === 1
        ? trans.__(
            '%1: %2',
            middleTruncate(inFlight[0].did, NAME_MAX),
            words[0]
          )
        : trans.__(
            '%1: %2',
            trans._n('%1 staging', '%1 stagings', inFlight.length),
            [...new Set(words)].join(', ')
          );
    return (
      <button
        type="button"
        className="jp-datalake-status-button"
        data-count={inFlight.length}
        aria-label={trans.__('Data lake stagings in flight: %1', label)}
        title={inFlight
          .map((s, i) => `${s.did}: ${words[i]}`)
          .concat(trans.__('Click to open the Stagings view'))
          .join('\n')}
        onClick={this._onClick}
      >
        <datalakeIcon.react tag="span" />
        <span>{label}</span>
      </button>
    );
  }

  private _onChange(): void {
    this.update();
  }
}
