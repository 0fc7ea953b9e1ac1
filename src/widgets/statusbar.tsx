import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { datalakeIcon } from '../icons';
import type { DatalakeModel } from '../model';

/**
 * Status bar item: the number of stagings in flight; a click opens the panel.
 */
export class StagingStatus extends ReactWidget {
  constructor(
    private readonly _model: DatalakeModel,
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
    const count = this._model.inFlight.length;
    const trans = this._trans;
    const label = trans._n('%1 staging', '%1 stagings', count);
    return (
      <button
        type="button"
        className="jp-datalake-status-button"
        data-count={count}
        aria-label={trans.__('Data lake: %1 in flight', label)}
        title={trans.__('Data lake stagings in flight: open the panel')}
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
