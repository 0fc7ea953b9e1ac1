import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { parseDuration } from './format';
import { DEFAULT_SETTINGS } from './model';
import type { IDatalakeSettings } from './model';
import { NAMINGS } from './names';
import type { VariableNaming } from './names';

/**
 * Read the composite settings of schema/plugin.json; anything invalid falls back to the
 * default. `defaultLifetime` is seconds (integer) or a duration string such as "7d".
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
