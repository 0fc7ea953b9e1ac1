/**
 * Human units: durations ("7d", "2d 3h", "3600") and byte sizes. The same rules as
 * python-shim kernel/lifetime.py and kernel/display.py: both are tested against
 * spec/vectors/durations.json and spec/vectors/byte_sizes.json.
 */

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800
};

/** The largest whole number both JavaScript and Python hold exactly. */
export const MAX_SECONDS = Number.MAX_SAFE_INTEGER;

const NUMBER = '[0-9]+(?:\\.[0-9]+)?';
const SECONDS_RE = new RegExp(`^${NUMBER}$`);
const PARTS_RE = new RegExp(`^${NUMBER}[wdhms](?: *${NUMBER}[wdhms])*$`);
const PART_RE = new RegExp(`(${NUMBER})([wdhms])`, 'g');

/** The nearest whole number, halves up, exact for every finite number. */
export function roundHalfUp(value: number): number {
  const whole = Math.floor(value);
  return value - whole >= 0.5 ? whole + 1 : whole;
}

function seconds(value: string | number): number {
  if (typeof value === 'number') {
    return value;
  }
  const text = value.trim().toLowerCase();
  if (SECONDS_RE.test(text)) {
    return Number(text);
  }
  if (!PARTS_RE.test(text)) {
    return NaN;
  }
  let total = 0;
  let part: RegExpExecArray | null;
  PART_RE.lastIndex = 0;
  while ((part = PART_RE.exec(text)) !== null) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  }
  return total;
}

/**
 * Parse a duration: seconds (`3600`, `1.5`), or `<n><unit>` parts with units s, m, h, d, w,
 * optionally separated by spaces (`7d`, `1d12h`, `2d 3h`, `1.5h`). Whole seconds, halves up;
 * `null` when that is not between 1 and MAX_SECONDS.
 */
export function parseDuration(value: string | number): number | null {
  const total = seconds(value);
  const whole = Number.isFinite(total) ? roundHalfUp(total) : 0;
  return whole >= 1 && whole <= MAX_SECONDS ? whole : null;
}

/**
 * Format seconds as the two largest units from the first one that is not zero, zero parts
 * dropped: `2d 3h`, `1h 30m`, `45m`, `30s`, `2d`; `0s` for nothing. parseDuration reads it back.
 */
export function formatDuration(seconds: number): string {
  let rest = Number.isFinite(seconds) ? Math.max(0, roundHalfUp(seconds)) : 0;
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

/** What an unknown size shows. */
export const UNKNOWN_SIZE = '–';

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** `value / step` rounded half up (`step` is even). */
function rounded(value: number, step: number): number {
  return Math.floor((value + step / 2) / step);
}

/**
 * Format a byte count in SI units as Rucio reports sizes (kB = 1000 B): `999 B`, `1.00 kB`,
 * `3.44 MB`, `12.3 GB` (2 decimals below 10, else 1). Whole numbers throughout, so the
 * rounding is the same as in Python.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
    return UNKNOWN_SIZE;
  }
  const whole = roundHalfUp(bytes);
  if (whole < 1000) {
    return `${whole} B`;
  }
  for (let power = 1; ; power++) {
    // The unit whose rounded value stays below 1000 (999.96 kB is 1.00 MB).
    const unit = SIZE_UNITS[power];
    const hundredths = rounded(whole, 1000 ** power / 100);
    if (hundredths < 1000) {
      const cents = String(hundredths % 100).padStart(2, '0');
      return `${Math.floor(hundredths / 100)}.${cents} ${unit}`;
    }
    const tenths = rounded(whole, 1000 ** power / 10);
    if (tenths < 10000 || power === SIZE_UNITS.length - 1) {
      return `${Math.floor(tenths / 10)}.${tenths % 10} ${unit}`;
    }
  }
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
