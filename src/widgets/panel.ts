import type { ITranslator } from '@jupyterlab/translation';
import {
  launchIcon,
  PanelWithToolbar,
  refreshIcon,
  SidePanel,
  ToolbarButton
} from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';

import { variableName } from '../names';
import { datalakeIcon } from '../icons';
import { startDidDrag } from '../notebook/drop';
import type { IDatalakeModel } from '../tokens';
import { ConnectionHeader } from './connection';
import { FindSection } from './find';
import { StagingsSection } from './stagings';

export const PANEL_ID = 'jp-datalake-panel';

export interface IPanelOptions {
  model: IDatalakeModel;
  translator: ITranslator;
  /** Open a DID's page in the main area. */
  openDid: (did: string) => void;
  /** Open the Stagings view in the main area. */
  openStagings: () => void;
}

/**
 * The data lake side panel, for finding: connection header, search and browse tree, and a
 * compact list of stagings. DIDs and stagings open in the main area.
 */
export class DatalakePanel extends SidePanel {
  constructor(options: IPanelOptions) {
    const { model, translator } = options;
    super({ translator });
    const trans = translator.load('jupyterlab_datalake');
    this.model = model;
    this.id = PANEL_ID;
    this.title.icon = datalakeIcon;
    this.title.caption = trans.__('Data lake');
    this.addClass('jp-datalake-panel');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Data lake'));

    this.header.addWidget(new ConnectionHeader(model, trans));
    this.addWidget(
      new FindSection(
        model,
        trans,
        (did, x, y) =>
          startDidDrag(
            did,
            variableName(did, model.settings.variableNaming),
            model.instance === model.defaultInstance ? null : model.instance,
            x,
            y,
            this
          ),
        options.openDid
      )
    );

    const stagings = new PanelWithToolbar();
    stagings.addClass('jp-datalake-stagings-section');
    stagings.title.label = trans.__('My stagings');
    stagings.toolbar.addItem(
      'open',
      new ToolbarButton({
        icon: launchIcon,
        tooltip: trans.__('Open the Stagings view'),
        onClick: options.openStagings
      })
    );
    stagings.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh stagings'),
        onClick: () => void model.refreshStagings().catch(() => undefined)
      })
    );
    stagings.addWidget(new StagingsSection(model, trans, options.openDid));
    this.addWidget(stagings);
  }

  readonly model: IDatalakeModel;

  /** Put the search box under the keyboard. */
  focusSearch(): void {
    this.node
      .querySelector<HTMLInputElement>('.jp-datalake-search-input')
      ?.focus();
  }

  /** Opening the panel (its tab, a command, the shortcut) moves the focus into it. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.node.contains(document.activeElement)) {
      this.focusSearch();
    }
  }

  protected onAfterShow(): void {
    this.model.setVisible(this, true);
  }

  protected onAfterHide(): void {
    this.model.setVisible(this, false);
  }
}
