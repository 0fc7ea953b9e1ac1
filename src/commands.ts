import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { ITranslator } from '@jupyterlab/translation';
import { copyIcon, refreshIcon, searchIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { isValidDID, parseDID } from './did';
import type { DatalakeModel } from './model';
import type { NotebookAttachments } from './notebook/attachments';
import { initialQos } from './widgets/stageform';
import type { DatalakePanel } from './widgets/panel';

/**
 * Command ids, `datalake:verb-noun`.
 */
export const CommandIDs = {
  openPanel: 'datalake:open-panel',
  refresh: 'datalake:refresh',
  copyDid: 'datalake:copy-did',
  stageDid: 'datalake:stage-did',
  attachDid: 'datalake:attach-did',
  openWebui: 'datalake:open-webui',
  search: 'datalake:search'
} as const;

export interface ICommandContext {
  model: DatalakeModel;
  panel: DatalakePanel;
  translator: ITranslator;
  notebooks: INotebookTracker | null;
  /** The attachment manager of a notebook panel, when notebooks are available. */
  attachments: (panel: NotebookPanel) => NotebookAttachments | undefined;
}

const DID_ARGS = {
  args: {
    type: 'object',
    properties: {
      did: {
        type: 'string',
        description:
          'The DID (scope:name); default: the row under the context menu, else the selected DID'
      }
    }
  }
};

export function registerCommands(
  app: JupyterFrontEnd,
  context: ICommandContext
): void {
  const { model, panel, notebooks } = context;
  const trans = context.translator.load('jupyterlab_datalake');
  const { commands, shell } = app;

  /** The DID a command acts on: argument, then context-menu row, then selection. */
  const targetDid = (args: ReadonlyPartialJSONObject): string | null => {
    if (typeof args.did === 'string' && isValidDID(args.did)) {
      return parseDID(args.did)!.did;
    }
    const row = app.contextMenuHitTest(node => node.dataset?.did !== undefined);
    return row?.dataset.did ?? model.selectedDid;
  };

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

  commands.addCommand(CommandIDs.copyDid, {
    label: trans.__('Copy DID'),
    caption: trans.__('Copy scope:name to the clipboard'),
    icon: copyIcon,
    describedBy: DID_ARGS,
    isEnabled: args => targetDid(args) !== null,
    execute: args => {
      const did = targetDid(args);
      if (did) {
        Clipboard.copyToSystem(did);
      }
    }
  });

  commands.addCommand(CommandIDs.stageDid, {
    label: trans.__('Stage Near the Hub'),
    caption: trans.__(
      'Stage the DID with the default QoS class and lifetime (see the Details section for options)'
    ),
    describedBy: DID_ARGS,
    isEnabled: args => targetDid(args) !== null && model.qosClasses.length > 0,
    execute: async args => {
      const did = targetDid(args);
      const qos = initialQos(model.qosClasses, model.settings.defaultQos);
      if (!did || !qos) {
        return;
      }
      const result = await model.stage({ dids: [did], qos });
      if (result === null && model.actionError) {
        Notification.error(
          trans.__('Cannot stage %1: %2', did, model.actionError.message),
          { autoClose: false }
        );
      } else {
        Notification.info(trans.__('Staging %1 with %2.', did, qos), {
          autoClose: 4000
        });
      }
    }
  });

  const currentNotebook = (): NotebookPanel | null =>
    notebooks?.currentWidget ?? null;

  commands.addCommand(CommandIDs.attachDid, {
    label: trans.__('Attach to Notebook'),
    caption: trans.__(
      'Record the DID in the current notebook and bind its paths to a variable in the kernel'
    ),
    describedBy: DID_ARGS,
    isEnabled: args => targetDid(args) !== null && currentNotebook() !== null,
    execute: async args => {
      const did = targetDid(args);
      const notebook = currentNotebook();
      const attachments = notebook ? context.attachments(notebook) : undefined;
      if (!did || !attachments) {
        return;
      }
      const attached = await attachments.attach(did);
      if (attachments.state === 'error') {
        Notification.error(attachments.error ?? '', { autoClose: false });
      } else if (attached) {
        Notification.info(
          trans.__('%1 is attached as %2.', did, attached.variable),
          { autoClose: 4000 }
        );
      }
    }
  });

  const webuiUrl = (args: ReadonlyPartialJSONObject): string | null => {
    const base = model.instanceInfo?.webui_url;
    const did = parseDID(targetDid(args) ?? '');
    if (!base || !did) {
      return null;
    }
    const query = new URLSearchParams({ scope: did.scope, name: did.name });
    return `${base.replace(/\/+$/, '')}/did?${query.toString()}`;
  };

  commands.addCommand(CommandIDs.openWebui, {
    label: trans.__('Open in the Rucio WebUI'),
    caption: trans.__('Open the DID page of the Rucio WebUI in a new tab'),
    describedBy: DID_ARGS,
    isVisible: () => Boolean(model.instanceInfo?.webui_url),
    isEnabled: args => webuiUrl(args) !== null,
    execute: args => {
      const url = webuiUrl(args);
      if (url) {
        window.open(url, '_blank', 'noopener');
      }
    }
  });

  commands.addCommand(CommandIDs.search, {
    label: trans.__('Search the Data Lake'),
    caption: trans.__('Search DIDs by scope:pattern'),
    icon: searchIcon,
    describedBy: {
      args: {
        type: 'object',
        properties: {
          query: {
            type: 'string',
            description: 'A scope:pattern to search for, e.g. demo:lofar-*'
          }
        }
      }
    },
    execute: args => {
      shell.activateById(panel.id);
      if (typeof args.query === 'string' && args.query.trim() !== '') {
        model.search({ did: args.query.trim(), type: 'all', filters: [] });
      }
      panel.node
        .querySelector<HTMLInputElement>('.jp-datalake-search-input')
        ?.focus();
    }
  });
}
