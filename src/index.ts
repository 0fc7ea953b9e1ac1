import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { createAPI } from './api';
import { CommandIDs, registerCommands } from './commands';
import { DatalakeModel } from './model';
import { NotebookAttachments } from './notebook/attachments';
import { AttachmentsItem } from './notebook/toolbar';
import { readSettings } from './settings';
import { IDatalakeModel } from './tokens';
import { notifyStagingEvent } from './widgets/notifications';
import { DatalakePanel, PANEL_ID } from './widgets/panel';
import { StagingStatus } from './widgets/statusbar';

const PLUGIN_ID = 'jupyterlab-datalake:plugin';
const DOMAIN = 'jupyterlab_datalake';

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
 * The side panel, its commands, and notebook attachments.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:panel',
  description:
    'The data lake side panel (search, browse, details, stagings), its commands and notebook attachments.',
  autoStart: true,
  requires: [IDatalakeModel],
  optional: [ITranslator, ILayoutRestorer, ICommandPalette, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load(DOMAIN);
    const datalake = model as DatalakeModel;
    const panel = new DatalakePanel({
      model: datalake,
      translator,
      commands: app.commands,
      commandIds: { copy: CommandIDs.copyDid, attach: CommandIDs.attachDid }
    });
    app.shell.add(panel, 'left', { rank: 850 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    const managers = new Map<NotebookPanel, NotebookAttachments>();
    if (notebooks) {
      notebooks.widgetAdded.connect((_, notebook) => {
        const attachments = new NotebookAttachments(notebook, datalake);
        managers.set(notebook, attachments);
        notebook.toolbar.insertItem(
          10,
          'datalake-attachments',
          new AttachmentsItem(attachments, trans)
        );
        notebook.disposed.connect(() => {
          attachments.dispose();
          managers.delete(notebook);
        });
      });
    }

    registerCommands(app, {
      model: datalake,
      panel,
      translator,
      notebooks,
      attachments: notebook => managers.get(notebook)
    });
    if (palette) {
      const category = trans.__('Data Lake');
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category });
      }
    }
  }
};

/**
 * Notifications when a staging completes, gets stuck or is about to expire.
 */
const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:notifications',
  description: 'Notifies staging completion, failure and coming expiry.',
  autoStart: true,
  requires: [IDatalakeModel],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const datalake = model as DatalakeModel;
    datalake.stagingEvent.connect((_, event) => {
      notifyStagingEvent(datalake, event, trans, () =>
        app.shell.activateById(PANEL_ID)
      );
    });
  }
};

/**
 * Status bar item with the stagings in flight.
 */
const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:status-bar',
  description: 'Shows the data lake stagings in flight in the status bar.',
  autoStart: true,
  requires: [IDatalakeModel],
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ): void => {
    if (!statusBar) {
      return;
    }
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const datalake = model as DatalakeModel;
    statusBar.registerStatusItem('jupyterlab-datalake:stagings', {
      item: new StagingStatus(datalake, trans, () =>
        app.shell.activateById(PANEL_ID)
      ),
      align: 'left',
      rank: 50,
      isActive: () => datalake.inFlight.length > 0,
      activeStateChanged: datalake.stateChanged
    });
  }
};

export default [modelPlugin, panelPlugin, notificationsPlugin, statusPlugin];
