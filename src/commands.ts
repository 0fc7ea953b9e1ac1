import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ITranslator } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';

import type { DatalakeModel } from './model';
import type { DatalakePanel } from './widgets/panel';

/**
 * Command ids, `datalake:verb-noun`.
 */
export const CommandIDs = {
  openPanel: 'datalake:open-panel',
  refresh: 'datalake:refresh'
} as const;

export interface ICommandContext {
  model: DatalakeModel;
  panel: DatalakePanel;
  translator: ITranslator;
}

export function registerCommands(
  app: JupyterFrontEnd,
  context: ICommandContext
): void {
  const { model, panel } = context;
  const trans = context.translator.load('jupyterlab_datalake');
  const { commands, shell } = app;

  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open the Data Lake Panel'),
    caption: trans.__('Show the data lake side panel'),
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => {
      shell.activateById(panel.id);
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh the Data Lake'),
    caption: trans.__('Reconnect and reload stagings and details'),
    icon: refreshIcon,
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => model.refresh()
  });
}
