import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ILayoutRestorer } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { FileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';

import { createAPI, createLifecycleAPI } from './api';
import {
  addAttachmentCommands,
  addDidCommands,
  addLifecycleCommands,
  addPanelCommands,
  addStagingsCommands,
  CommandIDs
} from './commands';
import { datalakeIcon } from './icons';
import { Lifecycle } from './lifecycle';
import { DatalakeModel } from './model';
import { NotebookAttachments } from './notebook/attachments';
import { AttachmentsItem } from './notebook/toolbar';
import { readSettings, SETTINGS_PLUGIN_ID, withQosChoices } from './settings';
import { IDatalakeModel } from './tokens';
import { DidPage } from './widgets/didpage';
import { UploadsSection } from './widgets/lifecycle';
import { middleTruncate } from './widgets/name';
import { StagingNotifier } from './widgets/notifications';
import { DatalakePanel, PANEL_ID } from './widgets/panel';
import { StagingStatus } from './widgets/statusbar';
import { StagingsView } from './widgets/stagingsview';

const DOMAIN = 'jupyterlab_datalake';
/** Longest DID in a tab title (the full DID is in the tab's tooltip). */
const TAB_TITLE_MAX = 32;

function bundle(translator: ITranslator | null): TranslationBundle {
  return (translator ?? nullTranslator).load(DOMAIN);
}

function addToPalette(
  palette: ICommandPalette | null,
  trans: TranslationBundle,
  commands: string[]
): void {
  const category = trans.__('Data Lake');
  for (const command of commands) {
    palette?.addItem({ command, category });
  }
}

/**
 * The data lake state, fed by the shim and the user's settings. The Settings Editor offers
 * the server's QoS classes for `defaultQos`.
 */
const modelPlugin: JupyterFrontEndPlugin<IDatalakeModel> = {
  id: SETTINGS_PLUGIN_ID,
  description: 'Connects to the data lake shim and holds the data lake state.',
  autoStart: true,
  provides: IDatalakeModel,
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    translator: ITranslator | null
  ): IDatalakeModel => {
    const trans = bundle(translator);
    const model = new DatalakeModel(
      createAPI(app.serviceManager.serverSettings)
    );
    let settingsLoaded: Promise<void> = Promise.resolve();
    if (registry) {
      const firstClass = trans.__('The first class the server offers');
      registry.transform(SETTINGS_PLUGIN_ID, {
        fetch: plugin => withQosChoices(plugin, model.qosClasses, firstClass)
      });
      let offered = '';
      model.stateChanged.connect(() => {
        const names = model.qosClasses.map(c => c.name).join(',');
        if (names !== offered) {
          offered = names;
          void registry.load(SETTINGS_PLUGIN_ID, true);
        }
      });
      settingsLoaded = registry
        .load(SETTINGS_PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            model.settings = readSettings(settings.composite);
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('jupyterlab-datalake: cannot load settings', reason);
        });
    }
    void Promise.all([app.restored, settingsLoaded]).then(() =>
      model.connect()
    );
    return model;
  }
};

/**
 * The side panel for finding data: search, browse tree, compact stagings list.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:panel',
  description: 'The data lake side panel: search, browse and a stagings list.',
  autoStart: true,
  requires: [IDatalakeModel],
  optional: [
    ITranslator,
    ILayoutRestorer,
    ICommandPalette,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    fileBrowser: FileBrowser | null
  ): void => {
    const trans = bundle(translator);
    const panel = new DatalakePanel({
      model,
      translator: translator ?? nullTranslator,
      openDid: did => void app.commands.execute(CommandIDs.openDid, { did }),
      openStagings: () => void app.commands.execute(CommandIDs.openStagings)
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, PANEL_ID);
    addPanelCommands(app, {
      model,
      trans,
      panelId: PANEL_ID,
      focusSearch: () => panel.focusSearch()
    });
    addToPalette(palette, trans, [
      CommandIDs.openPanel,
      CommandIDs.search,
      CommandIDs.refresh
    ]);
    // The other half of the lifecycle: uploads show their progress in the panel.
    const lifecycle = new Lifecycle(
      createLifecycleAPI(
        app.serviceManager.serverSettings,
        () => model.instance
      )
    );
    panel.addWidget(new UploadsSection(lifecycle, trans));
    addLifecycleCommands(app, {
      model,
      lifecycle,
      trans,
      selectedPaths: () =>
        fileBrowser
          ? [...fileBrowser.selectedItems()].map(item => item.path)
          : [],
      showPanel: () => app.shell.activateById(PANEL_ID)
    });
  }
};

/**
 * A DID opens in the main area as its own page, one per DID, restored with the layout.
 */
const didPagePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:did-page',
  description:
    'DID pages in the main area: summary, replicas, rules and the stage form.',
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
    const trans = bundle(translator);
    const tracker = new WidgetTracker<MainAreaWidget<DidPage>>({
      namespace: 'datalake-did'
    });
    const open = (did: string) => {
      const existing = tracker.find(w => w.content.did === did);
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      const content = new DidPage(
        model,
        model.openDetails(did),
        trans,
        app.commands,
        { attach: CommandIDs.attachDid, openWebui: CommandIDs.openWebui }
      );
      const widget = new MainAreaWidget({ content });
      widget.id = `jp-datalake-did-${encodeURIComponent(did)}`;
      widget.addClass('jp-datalake-main');
      widget.title.label = middleTruncate(did, TAB_TITLE_MAX);
      widget.title.caption = did;
      widget.title.icon = datalakeIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };
    addDidCommands(app, { model, trans, open });
    restorer?.restore(tracker, {
      command: CommandIDs.openDid,
      args: widget => ({ did: widget.content.did }),
      name: widget => widget.content.did
    });
    addToPalette(palette, trans, [CommandIDs.openDid]);
  }
};

/**
 * The Stagings view in the main area: every staging with progress, chart, expiry, actions.
 */
const stagingsViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:stagings-view',
  description: 'The Stagings view in the main area.',
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
    const trans = bundle(translator);
    const tracker = new WidgetTracker<MainAreaWidget<StagingsView>>({
      namespace: 'datalake-stagings'
    });
    const open = () => {
      const existing = tracker.currentWidget;
      if (existing) {
        app.shell.activateById(existing.id);
        return;
      }
      const widget = new MainAreaWidget({
        content: new StagingsView(
          model,
          trans,
          app.commands,
          CommandIDs.openDid
        )
      });
      widget.id = 'jp-datalake-stagings-view';
      widget.addClass('jp-datalake-main');
      widget.title.label = trans.__('Stagings');
      widget.title.caption = trans.__('Data lake stagings');
      widget.title.icon = datalakeIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
    };
    addStagingsCommands(app, { trans, open });
    restorer?.restore(tracker, {
      command: CommandIDs.openStagings,
      name: () => 'stagings'
    });
    addToPalette(palette, trans, [CommandIDs.openStagings]);
  }
};

/**
 * DIDs attached to notebooks: recorded in the notebook, bound in its kernel, shown in its
 * toolbar; attach and detach commands.
 */
const attachmentsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-datalake:attachments',
  description:
    'Attach DIDs to notebooks: their paths are bound to kernel variables.',
  autoStart: true,
  requires: [IDatalakeModel, INotebookTracker],
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: IDatalakeModel,
    notebooks: INotebookTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): void => {
    const trans = bundle(translator);
    const managers = new Map<NotebookPanel, NotebookAttachments>();
    notebooks.widgetAdded.connect((_, notebook) => {
      const attachments = new NotebookAttachments(notebook, model);
      managers.set(notebook, attachments);
      notebook.toolbar.insertItem(
        10,
        'datalake-attachments',
        new AttachmentsItem(
          attachments,
          trans,
          app.commands,
          CommandIDs.detachDid
        )
      );
      notebook.disposed.connect(() => {
        attachments.dispose();
        managers.delete(notebook);
      });
    });
    addAttachmentCommands(app, {
      model,
      trans,
      notebooks,
      attachments: notebook => managers.get(notebook)
    });
    addToPalette(palette, trans, [CommandIDs.attachDid]);
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
    new StagingNotifier(model, bundle(translator), staging =>
      app.commands.execute(CommandIDs.openDid, { did: staging.did })
    );
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
    statusBar?.registerStatusItem('jupyterlab-datalake:stagings', {
      item: new StagingStatus(
        model,
        bundle(translator),
        () => void app.commands.execute(CommandIDs.openStagings)
      ),
      align: 'left',
      rank: 50,
      isActive: () => model.inFlight.length > 0,
      activeStateChanged: model.stateChanged
    });
  }
};

export default [
  modelPlugin,
  panelPlugin,
  didPagePlugin,
  stagingsViewPlugin,
  attachmentsPlugin,
  notificationsPlugin,
  statusPlugin
];
