import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import type {
  PartialJSONObject,
  ReadonlyPartialJSONObject
} from '@lumino/coreutils';

import { parseDuration } from './format';
import { DEFAULT_NAMING, NAMINGS } from './names';
import type { VariableNaming } from './names';
import type { IQosClass } from './tokens';

/** The plugin whose settings these are (schema/plugin.json). */
export const SETTINGS_PLUGIN_ID = 'jupyterlab-datalake:plugin';

/**
 * User settings (schema/plugin.json), already validated and in seconds.
 */
export interface IDatalakeSettings {
  defaultQos: string;
  defaultLifetime: number;
  pageSize: number;
  variableNaming: VariableNaming;
  pollInterval: number;
}

export const DEFAULT_SETTINGS: IDatalakeSettings = {
  defaultQos: '',
  defaultLifetime: 86400,
  pageSize: 100,
  variableNaming: DEFAULT_NAMING,
  pollInterval: 5
};

/**
 * Read the composite settings of schema/plugin.json; anything invalid falls back to the
 * default. `defaultLifetime` is a duration string such as "7d" (seconds still accepted).
 */
export function readSettings(
  composite: ReadonlyPartialJSONObject
): IDatalakeSettings {
  const lifetime = composite.defaultLifetime;
  const pageSize = Number(composite.pageSize);
  const pollInterval = Number(composite.pollInterval);
  const naming = composite.variableNaming as VariableNaming;
  return {
    defaultQos:
      typeof composite.defaultQos === 'string'
        ? composite.defaultQos.trim()
        : DEFAULT_SETTINGS.defaultQos,
    defaultLifetime:
      (typeof lifetime === 'string' || typeof lifetime === 'number'
        ? parseDuration(lifetime)
        : null) ?? DEFAULT_SETTINGS.defaultLifetime,
    pageSize:
      Number.isInteger(pageSize) && pageSize >= 10 && pageSize <= 1000
        ? pageSize
        : DEFAULT_SETTINGS.pageSize,
    variableNaming: NAMINGS.includes(naming)
      ? naming
      : DEFAULT_SETTINGS.variableNaming,
    pollInterval:
      pollInterval >= 1 && pollInterval <= 3600
        ? pollInterval
        : DEFAULT_SETTINGS.pollInterval
  };
}

/**
 * The schema's `defaultQos` as a choice among the QoS classes the server offers (the schema
 * cannot list them: they depend on the deployment). The current value stays a valid choice
 * even when this instance does not offer it, so switching instance never invalidates settings.
 */
export function qosChoices(
  classes: ReadonlyArray<IQosClass>,
  current: string,
  firstLabel: string
): PartialJSONObject[] {
  const choices: PartialJSONObject[] = [{ const: '', title: firstLabel }];
  for (const c of classes) {
    choices.push({
      const: c.name,
      title: c.description ? `${c.name}: ${c.description}` : c.name
    });
  }
  if (current !== '' && !classes.some(c => c.name === current)) {
    choices.push({ const: current, title: current });
  }
  return choices;
}

/**
 * A copy of the plugin schema with `defaultQos` offered as a choice (a `fetch` transform of
 * the setting registry, as JupyterLab's document manager does for its viewers).
 */
export function withQosChoices(
  plugin: ISettingRegistry.IPlugin,
  classes: ReadonlyArray<IQosClass>,
  firstLabel: string
): ISettingRegistry.IPlugin {
  const schema = JSON.parse(
    JSON.stringify(plugin.schema)
  ) as ISettingRegistry.ISchema;
  const property = schema.properties?.defaultQos as PartialJSONObject;
  const current = plugin.data?.user?.defaultQos;
  if (property) {
    property.oneOf = qosChoices(
      classes,
      typeof current === 'string' ? current : '',
      firstLabel
    );
  }
  return { ...plugin, schema };
}
