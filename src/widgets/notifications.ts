import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { formatDuration, secondsUntil } from '../format';
import { describeStaging, isStopped } from '../states';
import type { IDatalakeModel, IStaging, IStagingEvent } from '../tokens';

/**
 * Staging transitions as JupyterLab notifications (completed, stuck, expiring). A warning
 * that no longer holds goes away: an expiry warning after Extend or Release, a "stuck"
 * error once the staging moves on.
 */
export class StagingNotifier {
  constructor(
    private readonly _model: IDatalakeModel,
    private readonly _trans: TranslationBundle,
    private readonly _show: (staging: IStaging) => void
  ) {
    _model.stagingEvent.connect(this._onEvent, this);
    _model.stateChanged.connect(this._onState, this);
  }

  private _onEvent(_: IDatalakeModel, event: IStagingEvent): void {
    const { staging } = event;
    const trans = this._trans;
    const show = {
      label: trans.__('Show'),
      callback: () => this._show(staging)
    };
    switch (event.kind) {
      case 'completed':
        Notification.success(
          trans.__(
            '%1 is ready: its files are near the hub (%2).',
            staging.did,
            staging.qos
          ),
          { autoClose: 8000, actions: [show] }
        );
        return;
      case 'stuck':
        this._keep(
          staging.id,
          'stuck',
          Notification.error(
            trans.__(
              '%1: %2. Release it or ask your data manager.',
              staging.did,
              describeStaging(staging, trans).label
            ),
            { autoClose: false, actions: [show] }
          )
        );
        return;
      case 'expiring': {
        const left = secondsUntil(staging.expires_at) ?? 0;
        this._keep(
          staging.id,
          'expiring',
          Notification.warning(
            trans.__(
              'The copy of %1 near the hub expires in %2.',
              staging.did,
              formatDuration(left)
            ),
            {
              autoClose: false,
              actions: [
                {
                  label: trans.__('Extend'),
                  callback: () => void this._model.extend(staging.id)
                },
                show
              ]
            }
          )
        );
      }
    }
  }

  private _keep(staging: string, kind: string, id: string): void {
    const previous = this._open.get(staging);
    if (previous) {
      Notification.dismiss(previous.id);
    }
    this._open.set(staging, { kind, id });
  }

  private _onState(): void {
    for (const [id, warning] of [...this._open]) {
      const staging = this._model.stagings.find(s => s.id === id);
      const holds =
        staging !== undefined &&
        (warning.kind === 'expiring'
          ? this._model.isExpiring(staging)
          : isStopped(staging));
      if (!holds) {
        Notification.dismiss(warning.id);
        this._open.delete(id);
      }
    }
  }

  /** Warnings on screen: staging id → their kind and notification id. */
  private _open = new Map<string, { kind: string; id: string }>();
}
