import type { ITranslator } from '@jupyterlab/translation';
import {
  PanelWithToolbar,
  SidePanel,
  ToolbarButton,
  refreshIcon
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';

import { variableName } from '../names';
import { datalakeIcon } from '../icons';
import type { DatalakeModel } from '../model';
import { startDidDrag } from '../notebook/drop';
import { ConnectionHeader } from './connection';
import { DetailsSection } from './details';
import { FindSection } from './find';
import { StagingsSection } from './stagings';

export const PANEL_ID = 'jp-datalake-panel';

export interface IPanelOptions {
  model: DatalakeModel;
  translator: ITranslator;
  commands: CommandRegistry;
  commandIds: { copy: string; attach: string };
}

/**
 * The data lake side panel: connection header, then Find, Details and My stagings.
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
      new FindSection(model, trans, (did, x, y) =>
        startDidDrag(
          did,
          variableName(did, model.settings.variableNaming),
          model.instance === model.defaultInstance ? null : model.instance,
          x,
          y,
          this
        )
      )
    );
    this.addWidget(
      new DetailsSection(model, trans, options.commands, options.commandIds)
    );

    const stagings = new PanelWithToolbar();
    stagings.addClass('jp-datalake-stagings-section');
    stagings.title.label = trans.__('My stagings');
    stagings.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh stagings'),
        onClick: () => void model.refreshStagings().catch(() => undefined)
      })
    );
    stagings.addWidget(new StagingsSection(model, trans));
    this.addWidget(stagings);
  }

  readonly model: DatalakeModel;

  protected onAfterShow(): void {
    this.model.panelVisible = true;
  }

  protected onAfterHide(): void {
    this.model.panelVisible = false;
  }
}
