import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { formatBytes } from '../format';
import type {
  IUpload,
  IUploadRequest,
  IVerification,
  Lifecycle
} from '../lifecycle';
import type { IQosClass, IStaging } from '../tokens';

/** An upload's files written so far as a bar, with the numbers for screen readers. */
function UploadRow(props: {
  upload: IUpload;
  trans: TranslationBundle;
}): JSX.Element {
  const { upload: u, trans } = props;
  const percent = u.bytes > 0 ? Math.floor((100 * u.bytesDone) / u.bytes) : 0;
  const done = u.uploaded + u.existing;
  const words =
    u.state === 'running'
      ? trans.__('Uploading %1 of %2 files', done, u.files)
      : u.state === 'done'
        ? trans.__('In the data lake with QoS %1', u.qos)
        : trans.__('Failed');
  return (
    <li className="jp-datalake-upload" data-state={u.state}>
      <div className="jp-datalake-staging-head">
        <span className="jp-datalake-upload-label" title={u.label}>
          {u.label}
        </span>
        <span className="jp-datalake-state">{words}</span>
      </div>
      <div
        className="jp-datalake-bar"
        role="progressbar"
        data-state={u.state === 'done' ? 'OK' : 'REPLICATING'}
        aria-label={trans.__('Upload progress of %1', u.label)}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={u.state === 'done' ? 100 : Math.min(percent, 99)}
        aria-valuetext={trans.__(
          '%1 of %2',
          formatBytes(u.bytesDone),
          formatBytes(u.bytes)
        )}
      >
        <div
          className="jp-datalake-bar-done"
          style={{ width: `${u.state === 'done' ? 100 : percent}%` }}
        />
      </div>
      <div className="jp-datalake-staging-facts">
        <span>
          {trans.__(
            '%1/%2 files · %3 of %4',
            done,
            u.files,
            formatBytes(u.bytesDone),
            formatBytes(u.bytes)
          )}
        </span>
        {u.existing > 0 && (
          <span>{trans.__('%1 already there', u.existing)}</span>
        )}
      </div>
      {u.error && (
        <p className="jp-datalake-staging-reason" role="alert">
          {u.error.message}
        </p>
      )}
    </li>
  );
}

/** "Uploads" in the side panel: each upload's progress; hidden until there is one. */
export class UploadsSection extends ReactWidget {
  constructor(
    private readonly _lifecycle: Lifecycle,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-datalake-uploads');
    this.title.label = _trans.__('Uploads');
    _lifecycle.changed.connect(this._onChange, this);
    this._onChange();
  }

  dispose(): void {
    this._lifecycle.changed.disconnect(this._onChange, this);
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <ul
        className="jp-datalake-staging-list jp-mod-compact"
        aria-label={this._trans.__('Uploads')}
      >
        {this._lifecycle.uploads.map(u => (
          <UploadRow key={u.id} upload={u} trans={this._trans} />
        ))}
      </ul>
    );
  }

  private _onChange(): void {
    this.setHidden(this._lifecycle.uploads.length === 0);
    this.update();
  }
}

/** The upload form: where (scope or scope:name), QoS class, optional dataset. */
class UploadForm
  extends ReactWidget
  implements Dialog.IBodyWidget<IUploadRequest>
{
  constructor(
    private readonly _paths: string[],
    private readonly _classes: ReadonlyArray<IQosClass>,
    private _to: string,
    private _qos: string,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-datalake-uploadform');
  }

  getValue(): IUploadRequest {
    return {
      paths: this._paths,
      to: this._to.trim(),
      qos: this._qos,
      dataset: this._dataset.trim() || null
    };
  }

  render(): JSX.Element {
    const trans = this._trans;
    const one = this._paths.length === 1;
    return (
      <div className="jp-datalake-form">
        <p>
          {one
            ? trans.__('Upload %1 to the data lake.', this._paths[0])
            : trans.__('Upload %1 items to the data lake.', this._paths.length)}
        </p>
        <label>
          {one
            ? trans.__('Scope, or scope:name')
            : trans.__('Scope (each file keeps its name)')}
          <input
            className="jp-mod-styled jp-datalake-upload-to"
            defaultValue={this._to}
            onChange={e => (this._to = e.target.value)}
          />
        </label>
        <label>
          {trans.__('QoS class')}
          <select
            className="jp-mod-styled jp-datalake-upload-qos"
            defaultValue={this._qos}
            onChange={e => (this._qos = e.target.value)}
          >
            {this._classes.map(c => (
              <option key={c.name} value={c.name} title={c.description}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {trans.__('Dataset (optional, scope:name)')}
          <input
            className="jp-mod-styled jp-datalake-upload-dataset"
            onChange={e => (this._dataset = e.target.value)}
          />
        </label>
      </div>
    );
  }

  private _dataset = '';
}

/** Ask where and with which QoS to upload; null when cancelled. */
export async function askUpload(
  paths: string[],
  classes: ReadonlyArray<IQosClass>,
  scope: string,
  trans: TranslationBundle
): Promise<IUploadRequest | null> {
  const preferred = classes.find(c => c.name === 'SAFE') ?? classes[0];
  const answer = await showDialog({
    title: trans.__('Upload to the data lake'),
    body: new UploadForm(paths, classes, scope, preferred?.name ?? '', trans),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Upload') })
    ]
  });
  return answer.button.accept ? answer.value : null;
}

/** Ask for the QoS class to move a staging to; null when cancelled. */
export async function askMove(
  staging: IStaging,
  classes: ReadonlyArray<IQosClass>,
  trans: TranslationBundle
): Promise<string | null> {
  const others = classes.filter(c => c.name !== staging.qos);
  const form = new MoveForm(staging, others, trans);
  const answer = await showDialog({
    title: trans.__('Move %1', staging.did),
    body: form,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Move') })
    ]
  });
  return answer.button.accept ? answer.value : null;
}

class MoveForm extends ReactWidget implements Dialog.IBodyWidget<string> {
  constructor(
    private readonly _staging: IStaging,
    private readonly _classes: ReadonlyArray<IQosClass>,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this._qos = _classes[0]?.name ?? '';
  }

  getValue(): string {
    return this._qos;
  }

  render(): JSX.Element {
    const trans = this._trans;
    return (
      <div className="jp-datalake-form">
        <p>
          {trans.__(
            'The copies in %1 stay, and notebooks keep reading them, until the new ones are complete.',
            this._staging.qos
          )}
        </p>
        <label>
          {trans.__('Move to QoS class')}
          <select
            className="jp-mod-styled jp-datalake-move-qos"
            defaultValue={this._qos}
            onChange={e => (this._qos = e.target.value)}
          >
            {this._classes.map(c => (
              <option key={c.name} value={c.name} title={c.description}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      </div>
    );
  }

  private _qos: string;
}

/** What a verification found; offers to report mismatches. Resolves true to report. */
export async function showVerification(
  result: IVerification,
  trans: TranslationBundle
): Promise<boolean> {
  const bad = result.mismatches;
  const body = (
    <div className="jp-datalake-verification">
      <p className="jp-datalake-verification-summary">
        {result.checked === 0
          ? trans.__('No local copy of %1 was checked.', result.did)
          : bad.length === 0
            ? trans.__(
                '%1 local copies of %2 checked: all match Rucio’s checksums.',
                result.checked,
                result.did
              )
            : trans.__(
                '%1 of %2 local copies of %3 do not match Rucio’s checksum:',
                bad.length,
                result.checked,
                result.did
              )}
      </p>
      {bad.length > 0 && (
        <table className="jp-datalake-verification-table">
          <thead>
            <tr>
              <th>{trans.__('File')}</th>
              <th>{trans.__('RSE')}</th>
              <th>{trans.__('Expected')}</th>
              <th>{trans.__('Found')}</th>
            </tr>
          </thead>
          <tbody>
            {bad.map(line => (
              <tr key={`${line.did}@${line.rse}`}>
                <td>{line.did}</td>
                <td>{line.rse}</td>
                <td>{line.expected}</td>
                <td>{line.found ?? trans.__('unreadable')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result.unchecked > 0 && (
        <p className="jp-datalake-verification-unchecked">
          {trans._n(
            '%1 copy could not be checked: Rucio keeps no checksum for it.',
            '%1 copies could not be checked: Rucio keeps no checksum for them.',
            result.unchecked
          )}
        </p>
      )}
      {result.reported > 0 && (
        <p>
          {trans.__(
            '%1 copies were reported to Rucio as suspicious.',
            result.reported
          )}
        </p>
      )}
    </div>
  );
  const offer = bad.length > 0 && result.reported === 0;
  const answer = await showDialog({
    title: trans.__('Verify copies'),
    body,
    buttons: offer
      ? [
          Dialog.cancelButton({ label: trans.__('Close') }),
          Dialog.warnButton({ label: trans.__('Report as suspicious') })
        ]
      : [Dialog.okButton({ label: trans.__('Close') })]
  });
  return offer && answer.button.accept;
}
