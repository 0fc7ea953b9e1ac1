/**
 * Rules of stagings the frontend shares with python-shim (core/staging.py parse_rule_id,
 * kernel/display.py progress_percent): both are tested against spec/vectors/rule_ids.json and
 * spec/vectors/progress.json.
 */

const RULE_ID_RE = /^[0-9a-fA-F]{32}$/;

/** A Rucio rule id (32 hex digits, any case) in lower case; `null` for anything else. */
export function parseRuleId(text: string): string | null {
  return RULE_ID_RE.test(text) ? text.toLowerCase() : null;
}

/**
 * Per cent of the files near the hub: rounded down, at most 99 until the state is OK, then
 * 100; with no files, 100 if OK else 0.
 */
export function progressPercent(progress: {
  files_ok: number;
  files_total: number;
  state: string;
}): number {
  const { files_ok, files_total, state } = progress;
  if (state === 'OK') {
    return 100;
  }
  if (files_total <= 0) {
    return 0;
  }
  return Math.max(0, Math.min(99, Math.floor((100 * files_ok) / files_total)));
}
