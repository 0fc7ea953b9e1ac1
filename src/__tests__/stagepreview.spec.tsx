import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';
import { readFileSync } from 'fs';
import { join } from 'path';

import { DatalakeModel } from '../model';
import { DatalakeRequestError } from '../request';
import type { IStaging } from '../tokens';
import { ConnectionHeader } from '../widgets/connection';
import { extendChoices } from '../widgets/stagingparts';
import { StagingsView } from '../widgets/stagingsview';
import { StageForm } from '../widgets/stageform';
import { FRONTEND_VERSION, versionMismatch } from '../version';
import { fakeAPI, flush, preview, staging } from './fakes';

const trans = nullTranslator.load('jupyterlab_datalake');

async function connected(api = fakeAPI()): Promise<DatalakeModel> {
  const model = new DatalakeModel(api);
  await model.connect();
  await flush();
  return model;
}

describe('the stage form says what staging will do', () => {
  it('shows the storage near the hub, what moves from where and the quota left', async () => {
    const model = await connected();
    render(
      <StageForm model={model} trans={trans} did="demo:lofar-obs-sb000" />
    );
    await act(() => flush());
    expect(screen.getByText('Storage: HUB-FAST, near the hub')).toBeTruthy();
    expect(
      screen.getByText('Copies 4 of 4 files (4.00 kB) from LAKE-SAFE')
    ).toBeTruthy();
    expect(
      screen.getByText(
        'Your quota on HUB-FAST: 10.0 TB left (this needs 4.00 kB)'
      )
    ).toBeTruthy();
    model.dispose();
  });

  it('says "not near the hub" for a class whose storage is elsewhere, asked again on change', async () => {
    const api = fakeAPI({
      qos: jest.fn(async () => [
        {
          name: 'FAST',
          description: 'fast',
          expression: 'QOS=FAST&site=HUB',
          rses: ['HUB-FAST']
        },
        {
          name: 'SAFE',
          description: 'custodial',
          expression: 'QOS=SAFE',
          rses: ['LAKE-SAFE']
        }
      ]),
      preview: jest.fn(async (d: string, qos: string) =>
        qos === 'SAFE'
          ? preview(d, qos, {
              near_hub: false,
              target: 'LAKE-SAFE',
              targets: [
                {
                  rse: 'LAKE-SAFE',
                  near_hub: false,
                  files_present: 4,
                  bytes_present: 4000,
                  quota_left: null,
                  quota_known: true,
                  fits: true
                }
              ],
              to_move: { files: 0, bytes: 0 },
              sources: []
            })
          : preview(d, qos)
      )
    });
    const model = await connected(api);
    render(<StageForm model={model} trans={trans} did="demo:ds" />);
    await act(() => flush());
    fireEvent.change(screen.getByLabelText('QoS class'), {
      target: { value: 'SAFE' }
    });
    await act(() => flush());
    expect(api.preview).toHaveBeenLastCalledWith('demo:ds', 'SAFE', 'testbed');
    expect(
      screen.getByText('Storage: LAKE-SAFE, not near the hub')
    ).toBeTruthy();
    expect(screen.queryByText(/Near-hub storage/)).toBeNull();
    expect(
      screen.getByText('Already there: all 4 files, nothing to copy')
    ).toBeTruthy();
    expect(screen.getByText('Your quota on LAKE-SAFE: no limit')).toBeTruthy();
    model.dispose();
  });

  it('warns next to the button when it will not fit in the quota', async () => {
    const message =
      'Over your Rucio quota: this needs 20.97 TB and your quota for FAST has 10.00 TB left.';
    const api = fakeAPI({
      preview: jest.fn(async (d: string, qos: string) =>
        preview(d, qos, { fits: false, target: null, to_move: null, message })
      )
    });
    const model = await connected(api);
    render(<StageForm model={model} trans={trans} did="demo:big-100k" />);
    await act(() => flush());
    expect(screen.getByRole('alert').textContent).toBe(message);
    model.dispose();
  });

  it('is read again once the DID is staged, and then shows that staging', async () => {
    // The list read after a stage (its refresh may come before or after the form renders
    // again) has the new staging, as Rucio's would.
    const made: IStaging[] = [];
    const api = fakeAPI({
      stage: jest.fn(async () => {
        made.push(staging({ id: 'r9', did: 'demo:ds' }));
        return made;
      }),
      stagings: jest.fn(async () => made)
    });
    const model = await connected(api);
    const form = <StageForm model={model} trans={trans} did="demo:ds" />;
    const view = render(form);
    await act(() => flush());
    expect(api.preview).toHaveBeenCalledTimes(1);
    api.preview.mockImplementation(async (d: string, qos: string) =>
      preview(d, qos, { existing: staging({ id: 'r9', did: 'demo:ds' }) })
    );
    await act(async () => {
      await model.stage({ dids: ['demo:ds'], qos: 'FAST' });
      // The refresh after the stage lands first (CI saw this order).
      await new Promise(resolve => setTimeout(resolve, 50));
    });
    expect(api.stagings).toHaveBeenCalledTimes(2);
    view.rerender(<StageForm model={model} trans={trans} did="demo:ds" />);
    await act(() => flush());
    expect(api.preview).toHaveBeenCalledTimes(2);
    expect(
      screen.getByText('You already stage it there: Copying 0 of 4 files')
    ).toBeTruthy();
    model.dispose();
  });

  it('says when the preview cannot be had', async () => {
    const api = fakeAPI({
      preview: jest
        .fn()
        .mockRejectedValue(
          new DatalakeRequestError(504, 'RUCIO_TIMEOUT', 'Rucio is slow.')
        )
    });
    const model = await connected(api);
    render(<StageForm model={model} trans={trans} did="demo:ds" />);
    await act(() => flush());
    expect(
      screen.getByText('What staging would do is not known: Rucio is slow.')
    ).toBeTruthy();
    model.dispose();
  });
});

describe('a staging that cannot proceed says why at once', () => {
  it('notifies a SUSPENDED staging with its reason, also at first sight', async () => {
    const reason = 'over your quota on HUB-FAST (needs 21.0 TB, 10.0 TB left)';
    const model = new DatalakeModel(
      fakeAPI({
        stagings: jest.fn(async () => [
          staging({ state: 'SUSPENDED', files_replicating: 0, error: reason })
        ])
      })
    );
    const events: string[] = [];
    model.stagingEvent.connect((_, e) => events.push(e.kind));
    await model.refreshStagings();
    await model.refreshStagings();
    expect(events).toEqual(['stuck']);
    const view = new StagingsView(
      model,
      trans,
      new CommandRegistry(),
      'x:open'
    );
    render(view.render());
    expect(document.querySelector('.jp-datalake-state')!.textContent).toBe(
      `Stopped: ${reason}`
    );
    view.dispose();
    model.dispose();
  });
});

describe('Extend offers a choice of duration', () => {
  it('extends by the duration chosen', async () => {
    const api = fakeAPI({
      stagings: jest.fn(async () => [staging({ id: 'r1' })])
    });
    const model = new DatalakeModel(api, { defaultLifetime: 86400 });
    await model.refreshStagings();
    const view = new StagingsView(
      model,
      trans,
      new CommandRegistry(),
      'x:open'
    );
    render(view.render());
    const choice = screen.getByLabelText(
      'Extend demo:lofar-obs by'
    ) as HTMLSelectElement;
    expect([...choice.options].map(o => o.textContent)).toEqual([
      '1d',
      '7d',
      '30d'
    ]);
    fireEvent.change(choice, { target: { value: String(7 * 86400) } });
    fireEvent.click(screen.getByLabelText('Extend staging of demo:lofar-obs'));
    await act(() => flush());
    expect(api.extend).toHaveBeenCalledWith('r1', 7 * 86400, '');
    view.dispose();
    model.dispose();
  });

  it('offers the configured default among the choices', () => {
    expect(extendChoices(3 * 3600)).toEqual([
      3 * 3600,
      86400,
      7 * 86400,
      30 * 86400
    ]);
  });
});

describe('the version handshake', () => {
  it('the frontend version is the package version the server is built from', () => {
    const pkg = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')
    );
    expect(FRONTEND_VERSION).toBe(pkg.version);
    expect(versionMismatch(FRONTEND_VERSION)).toBeNull();
  });

  it('says clearly when the server extension is another version', async () => {
    const model = await connected(
      fakeAPI({ version: jest.fn(async () => ({ version: '9.9.9' })) })
    );
    expect(model.versionMismatch).toEqual({
      frontend: FRONTEND_VERSION,
      server: '9.9.9'
    });
    const header = new ConnectionHeader(model, trans);
    render(header.render());
    expect(screen.getByRole('alert').textContent).toBe(
      `The data lake server extension (9.9.9) and this frontend (${FRONTEND_VERSION}) are different versions. Install the same version of jupyterlab-datalake for both (pip install), then restart JupyterLab.`
    );
    header.dispose();
    model.dispose();
  });

  it('a server extension without the handshake is older, and says so', async () => {
    const model = await connected(
      fakeAPI({
        version: jest
          .fn()
          .mockRejectedValue(
            new DatalakeRequestError(404, 'Not Found', 'no route')
          )
      })
    );
    expect(model.versionMismatch).toEqual({
      frontend: FRONTEND_VERSION,
      server: null
    });
    model.dispose();
  });

  it('the same versions say nothing', async () => {
    const model = await connected();
    expect(model.versionMismatch).toBeNull();
    const header = new ConnectionHeader(model, trans);
    render(header.render());
    expect(screen.queryByRole('alert')).toBeNull();
    header.dispose();
    model.dispose();
  });
});
