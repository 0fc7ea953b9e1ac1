import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { formatDuration, secondsUntil } from '../format';
import type { DatalakeModel } from '../model';
import type { IStagingEvent } from '../tokens';

/**
 * Turn staging transitions into JupyterLab notifications (completed, stuck, expiring).
 */
export function notifyStagingEvent(
  model: DatalakeModel,
  event: IStagingEvent,
  trans: TranslationBundle,
  showPanel: () => void
): string {
  const { staging } = event;
  const show = { label: trans.__('Show'), callback: showPanel };
  switch (event.kind) {
    case 'completed':
      return Notification.success(
        trans.__('%1 is staged near the hub (%2).', staging.did, staging.qos),
        { autoClose: 8000, actions: [show] }
      );
    case 'stuck':
      return Notification.error(
        trans.__(
          'Staging of %1 is stuck: %2',
          staging.did,
          staging.error ??
            trans.__(
              'some files cannot be copied; release it or ask your data manager.'
            )
        ),
        { autoClose: false, actions: [show] }
      );
    case 'expiring': {
      const left = secondsUntil(staging.expires_at) ?? 0;
      return Notification.warning(
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
              callback: () => void model.extend(staging.id)
            },
            show
          ]
        }
      );
    }
  }
}
