import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { createAPI } from './api';
import { CommandIDs, registerCommands } from './commands';
import { DatalakeModel } from './model';
import { readSettings } from './settings';
import { IDatalakeModel } from './tokens';
import { DatalakePanel } from './widgets/panel';

const PLUGIN_ID = 'jupyterlab-datalake:plugin';

/**
 * The data lake state, fed by the shim and the user's settings.
 */
const modelPlugin: JupyterFrontEndPlugin<IDatalakeModel> = {
  id: PLUGIN_ID,
  description: 'Connects to the data lake shim and holds the data lake state.',
  autoStart: true,
  provides: IDatalakeModel,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null
  ): IDatalakeModel => {
    const model = new DatalakeModel(
      createAPI(app.serviceManager.serverSettings)
    );
    const settingsLoaded = registry
      ? registry
          .load(PLUGIN_ID)
          .then(settings => {
            const apply = () => {
              model.settings = readSettings(settings.composite);
            };
            apply();
            settings.changed.connect(apply);
          })
          .catch(reason => {
            console.error('jupyterlab-datalake: cannot load settings', reason);
          })
      : Promise.resolve();
    void Promise.all([app.restored, settingsLoaded]).then(() =>
      model.connect()
    );
    return model;
  }
};

/**
 * The side panel and the commands acting on it.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:panel',
  description: 'The data lake side panel: search, browse, details, stagings.',
  autoStart: true,
  requires: [IDatalakeModel],
  optional: [ITranslator, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    translator = translator ?? nullTranslator;
    const datalake = model as DatalakeModel;
    const panel = new DatalakePanel(datalake, translator);
    app.shell.add(panel, 'left', { rank: 850 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
    registerCommands(app, { model: datalake, panel, translator });
    if (palette) {
      const trans = translator.load('jupyterlab_datalake');
      const category = trans.__('Data Lake');
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category });
      }
    }
  }
};

export default [modelPlugin, panelPlugin];
