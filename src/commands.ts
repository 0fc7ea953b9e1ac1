import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  copyIcon,
  launchIcon,
  refreshIcon,
  searchIcon
} from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { isValidDID, parseDID } from './did';
import type { Lifecycle } from './lifecycle';
import { toDatalakeError } from './request';
import type { NotebookAttachments } from './notebook/attachments';
import type { IDatalakeModel } from './tokens';
import { askMove, askUpload, showVerification } from './widgets/lifecycle';
import { initialQos } from './widgets/stageform';

/**
 * Command ids, `datalake:verb-noun`.
 */
export const CommandIDs = {
  openPanel: 'datalake:open-panel',
  search: 'datalake:search',
  refresh: 'datalake:refresh',
  openDid: 'datalake:open-did',
  copyDid: 'datalake:copy-did',
  stageDid: 'datalake:stage-did',
  openWebui: 'datalake:open-webui',
  openStagings: 'datalake:open-stagings',
  attachDid: 'datalake:attach-did',
  detachDid: 'datalake:detach-did',
  uploadFiles: 'datalake:upload-files',
  moveStaging: 'datalake:move-staging',
  verifyDid: 'datalake:verify-did'
} as const;

const NO_ARGS = { args: { type: 'object', properties: {} } };

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

/**
 * The DID a command acts on: its argument, then the row under the context menu, then the
 * DID selected in the panel.
 */
export function targetDid(
  app: JupyterFrontEnd,
  model: IDatalakeModel,
  args: ReadonlyPartialJSONObject
): string | null {
  if (typeof args.did === 'string' && isValidDID(args.did)) {
    return parseDID(args.did)!.did;
  }
  const row = app.contextMenuHitTest(node => node.dataset?.did !== undefined);
  return row?.dataset.did ?? model.selectedDid;
}

/** Open the side panel, search in it, refresh everything. */
export function addPanelCommands(
  app: JupyterFrontEnd,
  options: {
    model: IDatalakeModel;
    trans: TranslationBundle;
    panelId: string;
    focusSearch: () => void;
  }
): void {
  const { model, trans, panelId } = options;
  const { commands, shell } = app;

  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open the Data Lake Panel'),
    caption: trans.__('Show the data lake side panel'),
    describedBy: NO_ARGS,
    execute: () => {
      shell.activateById(panelId);
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
      shell.activateById(panelId);
      if (typeof args.query === 'string' && args.query.trim() !== '') {
        model.search({ did: args.query.trim(), type: 'all', filters: [] });
      }
      options.focusSearch();
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh the Data Lake'),
    caption: trans.__('Reconnect and reload stagings and open DID pages'),
    icon: refreshIcon,
    describedBy: NO_ARGS,
    execute: () => model.refresh()
  });
}

/** Open a DID's page, copy it, stage it, open it in the Rucio WebUI. */
export function addDidCommands(
  app: JupyterFrontEnd,
  options: {
    model: IDatalakeModel;
    trans: TranslationBundle;
    open: (did: string) => void;
  }
): void {
  const { model, trans } = options;
  const { commands } = app;
  const target = (args: ReadonlyPartialJSONObject) =>
    targetDid(app, model, args);

  commands.addCommand(CommandIDs.openDid, {
    label: trans.__('Open'),
    caption: trans.__(
      'Open the page of the DID: replicas, rules, staging near the hub'
    ),
    describedBy: DID_ARGS,
    isEnabled: args => target(args) !== null,
    execute: args => {
      const did = target(args);
      if (did) {
        options.open(did);
      }
    }
  });

  commands.addCommand(CommandIDs.copyDid, {
    label: trans.__('Copy DID'),
    caption: trans.__('Copy scope:name to the clipboard'),
    icon: copyIcon,
    describedBy: DID_ARGS,
    isEnabled: args => target(args) !== null,
    execute: args => {
      const did = target(args);
      if (did) {
        Clipboard.copyToSystem(did);
        Notification.info(trans.__('Copied %1', did), { autoClose: 2000 });
      }
    }
  });

  commands.addCommand(CommandIDs.stageDid, {
    label: trans.__('Stage Near the Hub'),
    caption: trans.__(
      'Stage the DID with the default QoS class and lifetime (open it for options)'
    ),
    describedBy: DID_ARGS,
    isEnabled: args => target(args) !== null && model.qosClasses.length > 0,
    execute: async args => {
      const did = target(args);
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

  const webuiUrl = (args: ReadonlyPartialJSONObject): string | null => {
    const base = model.instanceInfo?.webui_url;
    const did = parseDID(target(args) ?? '');
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
}

/** Open the Stagings view. */
export function addStagingsCommands(
  app: JupyterFrontEnd,
  options: { trans: TranslationBundle; open: () => void }
): void {
  app.commands.addCommand(CommandIDs.openStagings, {
    label: options.trans.__('Open the Stagings View'),
    caption: options.trans.__(
      'All your stagings with their progress, expiry and actions'
    ),
    icon: launchIcon,
    describedBy: NO_ARGS,
    execute: options.open
  });
}

/** Attach a DID to the current notebook, or detach one. */
export function addAttachmentCommands(
  app: JupyterFrontEnd,
  options: {
    model: IDatalakeModel;
    trans: TranslationBundle;
    notebooks: INotebookTracker;
    attachments: (panel: NotebookPanel) => NotebookAttachments | undefined;
  }
): void {
  const { model, trans, notebooks } = options;
  const { commands } = app;
  const current = (): NotebookAttachments | undefined => {
    const notebook = notebooks.currentWidget;
    return notebook ? options.attachments(notebook) : undefined;
  };

  commands.addCommand(CommandIDs.attachDid, {
    label: trans.__('Attach to Notebook'),
    caption: trans.__(
      'Record the DID in the current notebook and bind its paths to a variable in the kernel'
    ),
    describedBy: DID_ARGS,
    isEnabled: args =>
      targetDid(app, model, args) !== null && current() !== undefined,
    execute: async args => {
      const did = targetDid(app, model, args);
      const attachments = current();
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

  commands.addCommand(CommandIDs.detachDid, {
    label: args =>
      typeof args.variable === 'string'
        ? trans.__('Detach %1', args.variable)
        : trans.__('Detach from Notebook'),
    caption: trans.__(
      'Forget an attached DID in the current notebook (the kernel keeps the variable until it restarts)'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          variable: {
            type: 'string',
            description: 'The variable of the attachment to forget'
          }
        }
      }
    },
    isEnabled: args =>
      typeof args.variable === 'string' &&
      (current()?.attachments.some(a => a.variable === args.variable) ?? false),
    execute: args => {
      const attachments = current();
      if (!attachments || typeof args.variable !== 'string') {
        return;
      }
      const detached = attachments.detach(args.variable);
      if (detached) {
        Notification.info(
          trans.__(
            '%1 is detached; %2 stays defined in the running kernel until it restarts.',
            detached.did,
            detached.variable
          ),
          { autoClose: 5000 }
        );
      }
    }
  });
}

/** The scope an upload goes to unless changed: the account's own, else the first. */
function ownScope(model: IDatalakeModel): string {
  const own = `user.${model.whoami?.account ?? ''}`;
  return model.scopes.includes(own) ? own : (model.scopes[0] ?? own);
}

/**
 * Upload files from the file browser, move a staging to another QoS class, verify the local
 * copies of a DID.
 */
export function addLifecycleCommands(
  app: JupyterFrontEnd,
  options: {
    model: IDatalakeModel;
    lifecycle: Lifecycle;
    trans: TranslationBundle;
    /** Paths (relative to the server's root) selected in the file browser. */
    selectedPaths: () => string[];
    showPanel: () => void;
  }
): void {
  const { model, lifecycle, trans } = options;
  const { commands } = app;

  commands.addCommand(CommandIDs.uploadFiles, {
    label: trans.__('Upload to the Data Lake…'),
    caption: trans.__(
      'Put the selected files or directories into the data lake with a QoS class'
    ),
    describedBy: NO_ARGS,
    isEnabled: () =>
      options.selectedPaths().length > 0 && model.qosClasses.length > 0,
    execute: async () => {
      const paths = options.selectedPaths();
      const request = await askUpload(
        paths,
        model.qosClasses,
        ownScope(model),
        trans
      );
      if (!request) {
        return;
      }
      options.showPanel();
      const upload = await lifecycle.upload(request);
      if (upload.error) {
        Notification.error(
          trans.__(
            'Upload of %1 failed: %2',
            upload.label,
            upload.error.message
          ),
          { autoClose: false }
        );
      } else {
        Notification.success(
          trans.__(
            '%1 is in the data lake with QoS %2.',
            upload.label,
            upload.qos
          ),
          { autoClose: 5000 }
        );
      }
      await model.refreshStagings().catch(() => undefined);
    }
  });

  const stagingOf = (args: ReadonlyPartialJSONObject) => {
    const row = app.contextMenuHitTest(
      node => node.dataset?.stagingId !== undefined
    );
    const id = typeof args.id === 'string' ? args.id : row?.dataset.stagingId;
    return model.stagings.find(s => s.id === id) ?? null;
  };

  commands.addCommand(CommandIDs.moveStaging, {
    label: trans.__('Move to…'),
    caption: trans.__(
      'Move the staging to another QoS class; the old copies stay until the new ones are there'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The rule id of the staging' }
        }
      }
    },
    isEnabled: args => {
      const staging = stagingOf(args);
      return staging !== null && !staging.outside;
    },
    execute: async args => {
      const staging = stagingOf(args);
      if (!staging) {
        return;
      }
      const qos = await askMove(staging, model.qosClasses, trans);
      if (!qos) {
        return;
      }
      try {
        await lifecycle.move(staging.id, qos);
        Notification.info(
          trans.__(
            'Moving %1 to %2: the %3 copies stay until the new ones are there.',
            staging.did,
            qos,
            staging.qos
          ),
          { autoClose: 5000 }
        );
      } catch (error) {
        Notification.error(
          trans.__(
            'Cannot move %1: %2',
            staging.did,
            toDatalakeError(error).message
          ),
          { autoClose: false }
        );
      }
      await model.refreshStagings().catch(() => undefined);
    }
  });

  commands.addCommand(CommandIDs.verifyDid, {
    label: trans.__('Verify Copies'),
    caption: trans.__(
      "Compare the adler32 of each local copy with Rucio's; report mismatches as suspicious"
    ),
    describedBy: DID_ARGS,
    isEnabled: args => targetDid(app, model, args) !== null,
    execute: async args => {
      const did = targetDid(app, model, args);
      if (!did) {
        return;
      }
      try {
        const result = await lifecycle.verify(did);
        if (await showVerification(result, trans)) {
          await showVerification(await lifecycle.verify(did, true), trans);
        }
      } catch (error) {
        Notification.error(
          trans.__('Cannot verify %1: %2', did, toDatalakeError(error).message),
          { autoClose: false }
        );
      }
    }
  });
}
