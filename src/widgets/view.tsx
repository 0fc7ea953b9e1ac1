import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IDatalakeModel } from '../tokens';

/**
 * A React view of the model that re-renders whenever the model changes.
 */
export abstract class ModelView extends ReactWidget {
  constructor(
    protected readonly model: IDatalakeModel,
    protected readonly trans: TranslationBundle
  ) {
    super();
    model.stateChanged.connect(this._onChange, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.stateChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  private _onChange(): void {
    this.update();
  }
}
