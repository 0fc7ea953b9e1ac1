import type { ITranslator } from '@jupyterlab/translation';
import { SidePanel } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';

import type { DatalakeModel } from '../model';
import { datalakeIcon } from '../icons';
import { ConnectionHeader } from './connection';

export const PANEL_ID = 'jp-datalake-panel';

/**
 * The data lake side panel: connection header, then one section per task.
 */
export class DatalakePanel extends SidePanel {
  constructor(
    readonly model: DatalakeModel,
    translator: ITranslator,
    sections: Widget[] = []
  ) {
    super({ translator });
    const trans = translator.load('jupyterlab_datalake');
    this.id = PANEL_ID;
    this.title.icon = datalakeIcon;
    this.addClass('jp-datalake-panel');
    this.title.caption = trans.__('Data lake');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Data lake'));
    this.header.addWidget(new ConnectionHeader(model, trans));
    for (const section of sections) {
      this.addWidget(section);
    }
  }

  protected onAfterShow(): void {
    this.model.panelVisible = true;
  }

  protected onAfterHide(): void {
    this.model.panelVisible = false;
  }
}
