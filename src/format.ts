/**
 * Human units: durations ("7d", "12h", "90m", "3600") and byte sizes.
 */

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800
};

/**
 * Parse a duration: a number of seconds, or a sum of `<n><unit>` with units s, m, h, d, w
 * (e.g. `7d`, `1d12h`). `null` when it is not a positive duration.
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 ? value : null;
  }
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return seconds > 0 ? seconds : null;
  }
  if (!/^(\d+[smhdw])+$/.test(text)) {
    return null;
  }
  let total = 0;
  const part = /(\d+)([smhdw])/g;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    total += Number(match[1]) * UNIT_SECONDS[match[2]];
  }
  return total > 0 ? total : null;
}

/**
 * Format seconds as at most the two largest units, e.g. `2d 3h`, `45m`, `30s`.
 */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.round(seconds));
  const counts = ['d', 'h', 'm', 's'].map(unit => {
    const n = Math.floor(rest / UNIT_SECONDS[unit]);
    rest -= n * UNIT_SECONDS[unit];
    return { unit, n };
  });
  const first = counts.findIndex(c => c.n > 0);
  if (first < 0) {
    return '0s';
  }
  return counts
    .slice(first, first + 2)
    .filter(c => c.n > 0)
    .map(c => `${c.n}${c.unit}`)
    .join(' ');
}

/**
 * Format a byte count with binary-free SI units (kB = 1000 B), as Rucio reports sizes.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || isNaN(bytes)) {
    return '–';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/**
 * Seconds from `now` until an ISO 8601 instant (negative when past); null without a date.
 */
export function secondsUntil(
  iso: string | null | undefined,
  now: number = Date.now()
): number | null {
  if (!iso) {
    return null;
  }
  const at = Date.parse(iso);
  return isNaN(at) ? null : (at - now) / 1000;
}
