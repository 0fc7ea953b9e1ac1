import { Clipboard } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { copyIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

/** Names at most this long are never cut. */
const SHORT = 12;
/** The shortest kept end. */
const TAIL_MIN = 5;

/**
 * Split a name where it can be cut: the head may lose its end to an ellipsis, the tail
 * (what tells similar names apart: `f099999` in `demo:big-100k.f099999`, `sb000.f0.h5` in
 * `demo:lofar-obs-sb000.f0.h5`) is always shown. The tail is a bit less than half the name,
 * starting after a separator where there is one.
 */
export function splitName(text: string): [string, string] {
  if (text.length <= SHORT) {
    return [text, ''];
  }
  const target = Math.max(8, Math.ceil(text.length * 0.45));
  let at = text.length - target;
  for (let i = 0; i < text.length; i++) {
    const tail = text.length - i - 1;
    if ('.-_/:'.includes(text[i]) && tail >= TAIL_MIN && tail <= target) {
      at = i + 1;
      break;
    }
  }
  return [text.slice(0, at), text.slice(at)];
}

/**
 * Cut a name in the middle to at most `max` characters, keeping its distinguishing end:
 * `demo:big-100k.f099999` → `demo:big-…f099999` (for plain-text places such as tab titles).
 */
export function middleTruncate(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  const [head, tail] = splitName(text);
  const keep = Math.max(1, max - tail.length - 1);
  return `${head.slice(0, keep)}…${tail}`;
}

/** How long "Copied" stays after a copy. */
const COPIED_MS = 2000;

/**
 * A DID or name that truncates in the middle when space is short; the full text is in the
 * tooltip and, with `copy`, a button copies it and says "Copied".
 */
export function DidName(props: {
  text: string;
  trans: TranslationBundle;
  copy?: boolean;
  className?: string;
}): JSX.Element {
  const { text, trans } = props;
  const [head, tail] = splitName(text);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = setTimeout(() => setCopied(false), COPIED_MS);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <span className={`jp-datalake-name ${props.className ?? ''}`} title={text}>
      {/* The DOM keeps the whole text (read by screen readers); only CSS cuts the head. */}
      <span className="jp-datalake-name-text">
        <span className="jp-datalake-name-head">{head}</span>
        {tail && <span className="jp-datalake-name-tail">{tail}</span>}
      </span>
      {props.copy && (
        <button
          type="button"
          className="jp-datalake-copy"
          aria-label={trans.__('Copy %1', text)}
          title={trans.__('Copy %1', text)}
          onClick={event => {
            event.stopPropagation();
            Clipboard.copyToSystem(text);
            setCopied(true);
          }}
        >
          <copyIcon.react tag="span" />
        </button>
      )}
      {props.copy && (
        <span className="jp-datalake-copied" role="status">
          {copied ? trans.__('Copied') : ''}
        </span>
      )}
    </span>
  );
}
