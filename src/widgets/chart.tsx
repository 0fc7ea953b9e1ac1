import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { formatBytes } from '../format';
import type { IProgressSample } from '../tokens';

const WIDTH = 160;
const HEIGHT = 36;

function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit'
  });
}

/**
 * A staging's progress over time as this panel observed it through its polls: files arrived
 * (bytes once the shim reports them), as a step line from the first observation until now.
 * Nothing before the first observation is drawn or implied.
 */
export function ProgressChart(props: {
  samples: ReadonlyArray<IProgressSample>;
  bytesTotal: number | null;
  now: number;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { samples, trans } = props;
  if (samples.length === 0) {
    return null;
  }
  const inBytes =
    props.bytesTotal !== null &&
    props.bytesTotal > 0 &&
    samples.every(s => s.bytes_ok !== null);
  const fraction = (s: IProgressSample) =>
    inBytes
      ? (s.bytes_ok ?? 0) / props.bytesTotal!
      : s.files_total > 0
        ? s.files_ok / s.files_total
        : s.state === 'OK'
          ? 1
          : 0;
  const first = samples[0].at;
  const last = Math.max(props.now, samples[samples.length - 1].at);
  const span = Math.max(last - first, 1);
  const x = (at: number) => ((at - first) / span) * WIDTH;
  const y = (f: number) =>
    HEIGHT - 1 - Math.min(1, Math.max(0, f)) * (HEIGHT - 2);
  let path = `M0,${y(fraction(samples[0]))}`;
  for (const sample of samples.slice(1)) {
    path += ` H${x(sample.at).toFixed(1)} V${y(fraction(sample)).toFixed(1)}`;
  }
  path += ` H${WIDTH}`;
  const amount = (s: IProgressSample) =>
    inBytes
      ? trans.__(
          '%1 of %2',
          formatBytes(s.bytes_ok),
          formatBytes(props.bytesTotal)
        )
      : trans.__('%1 of %2 files', s.files_ok, s.files_total);
  const end = samples[samples.length - 1];
  const summary = inBytes
    ? trans.__(
        'Bytes arrived as seen by this panel since %1: %2 then, %3 at %4',
        clock(first),
        amount(samples[0]),
        amount(end),
        clock(end.at)
      )
    : trans.__(
        'Files arrived as seen by this panel since %1: %2 then, %3 at %4',
        clock(first),
        amount(samples[0]),
        amount(end),
        clock(end.at)
      );
  return (
    <figure
      className="jp-datalake-chart"
      data-unit={inBytes ? 'bytes' : 'files'}
      data-samples={samples.length}
    >
      <svg
        width={WIDTH}
        height={HEIGHT}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        <line
          className="jp-datalake-chart-axis"
          x1={0}
          x2={WIDTH}
          y1={y(1)}
          y2={y(1)}
        />
        <path className="jp-datalake-chart-line" d={path} />
      </svg>
      <figcaption>
        {inBytes
          ? trans.__('bytes arrived, seen since %1', clock(first))
          : trans.__('files arrived, seen since %1', clock(first))}
      </figcaption>
    </figure>
  );
}
