import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import { act, render, screen } from '@testing-library/react';
import React from 'react';

import { DatalakeModel } from '../model';
import type { NotebookAttachments } from '../notebook/attachments';
import { AttachmentsItem } from '../notebook/toolbar';
import { qosChoices } from '../settings';
import type { IStaging } from '../tokens';
import { DidPage } from '../widgets/didpage';
import { StagingNotifier } from '../widgets/notifications';
import { StagingStatus } from '../widgets/statusbar';
import { StagingsView } from '../widgets/stagingsview';
import { authError, did, fakeAPI, flush, staging } from './fakes';

const trans = nullTranslator.load('jupyterlab_datalake');

describe('DidPage', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('follows its staging: "not near the hub" goes once the staging is OK', async () => {
    let near: 'NONE' | 'AVAILABLE' = 'NONE';
    let answer: IStaging[] = [staging({ did: 'demo:ds' })];
    const api = fakeAPI({
      did: jest.fn(async () => ({
        ...did('ds', 'DATASET'),
        metadata: {},
        near_hub: { state: near, rses: near === 'NONE' ? [] : ['HUB-FAST'] }
      })),
      stagings: jest.fn(async () => answer)
    });
    const model = new DatalakeModel(api);
    await model.connect();
    const page = new DidPage(
      model,
      model.openDetails('demo:ds'),
      trans,
      new CommandRegistry(),
      { attach: 'x:attach', openWebui: 'x:webui' }
    );
    await act(() => jest.advanceTimersByTimeAsync(10));
    const view = render(page.render());
    expect(screen.getByText('No: stage it to use it here')).toBeTruthy();
    expect(screen.getByText('Copying 0 of 4 files')).toBeTruthy();

    near = 'AVAILABLE';
    answer = [staging({ did: 'demo:ds', state: 'OK', files_ok: 4 })];
    await act(async () => {
      await model.refreshStagings();
      await jest.advanceTimersByTimeAsync(1000);
    });
    view.rerender(page.render());
    expect(screen.queryByText('No: stage it to use it here')).toBeNull();
    expect(screen.getByText('Yes, on HUB-FAST')).toBeTruthy();
    expect(screen.getByText('Ready')).toBeTruthy();
    page.dispose();
    model.dispose();
  });
});

describe('StagingsView', () => {
  it('shows a rule made outside JupyterLab read-only, and how long a staging has not moved', async () => {
    const thirteenMinutesAgo = new Date(Date.now() - 13 * 60_000).toISOString();
    const model = new DatalakeModel(
      fakeAPI({
        stagings: jest.fn(async () => [
          staging({ id: 'r1', did: 'demo:cli', outside: true }),
          staging({
            id: 'r2',
            did: 'demo:slow',
            stalled_since: thirteenMinutesAgo
          })
        ])
      })
    );
    await model.refreshStagings();
    const view = new StagingsView(
      model,
      trans,
      new CommandRegistry(),
      'x:open'
    );
    render(view.render());
    expect(
      screen.getByText(
        'Made outside JupyterLab (Rucio client or WebUI): extend or release it there.'
      )
    ).toBeTruthy();
    expect(screen.queryByLabelText('Extend staging of demo:cli')).toBeNull();
    expect(screen.queryByLabelText('Release staging of demo:cli')).toBeNull();
    expect(screen.getByLabelText('Release staging of demo:slow')).toBeTruthy();
    expect(
      screen.getByText('No file arrived for 13m: the transfers may be stuck.')
    ).toBeTruthy();
    view.dispose();
    model.dispose();
  });

  it('shows each staging in plain words with a chart of what was observed', async () => {
    const answers = [
      [staging({ files_ok: 1 })],
      [staging({ files_ok: 3 })],
      [
        staging({
          state: 'STUCK',
          files_ok: 3,
          files_stuck: 1,
          error: 'no source'
        })
      ]
    ];
    const model = new DatalakeModel(
      fakeAPI({ stagings: jest.fn(async () => answers.shift()!) })
    );
    for (let i = 0; i < 3; i++) {
      await model.refreshStagings().catch(() => undefined);
    }
    const view = new StagingsView(
      model,
      trans,
      new CommandRegistry(),
      'x:open'
    );
    render(view.render());
    const state = document.querySelector('.jp-datalake-state')!;
    expect(state.textContent).toBe('Stuck: no source (4 copying · 1 stuck)');
    expect(state.getAttribute('title')).toMatch(/^Rucio state STUCK/);
    const chart = document.querySelector('.jp-datalake-chart')!;
    expect(chart.getAttribute('data-samples')).toBe('3');
    expect(chart.getAttribute('data-unit')).toBe('files');
    expect(chart.querySelector('figcaption')!.textContent).toMatch(
      /^files arrived, seen since /
    );
    expect(screen.getByRole('img').getAttribute('aria-label')).toMatch(
      /1 of 4 files then, 3 of 4 files at/
    );
    view.dispose();
    model.dispose();
  });
});

describe('status bar and notifications', () => {
  it('words the stagings in flight', async () => {
    const model = new DatalakeModel(
      fakeAPI({
        stagings: jest.fn(async () => [
          staging({ files_ok: 3, did: 'demo:big-100k.f099999' })
        ])
      })
    );
    await model.refreshStagings();
    const item = new StagingStatus(model, trans, jest.fn());
    render(item.render());
    expect(screen.getByRole('button').textContent).toBe(
      'demo:big-100k.f099999: Copying 3 of 4 files'
    );
    item.dispose();
    model.dispose();
  });

  it('takes back an expiry warning after Extend, and a "stuck" error once it moves on', async () => {
    const dismiss = jest.spyOn(Notification, 'dismiss');
    const warning = jest.spyOn(Notification, 'warning').mockReturnValue('w1');
    const error = jest.spyOn(Notification, 'error').mockReturnValue('e1');
    const created = new Date(Date.now() - 86400_000).toISOString();
    const soon = new Date(Date.now() + 1800_000).toISOString();
    let answer = [
      staging({ created_at: created, expires_at: soon }),
      staging({ id: 'r2', state: 'REPLICATING' })
    ];
    const model = new DatalakeModel(
      fakeAPI({
        stagings: jest.fn(async () => answer),
        extend: jest.fn(async () =>
          staging({
            created_at: created,
            expires_at: new Date(Date.now() + 7 * 86400_000).toISOString()
          })
        )
      })
    );
    new StagingNotifier(model, trans, jest.fn());
    await model.refreshStagings();
    expect(warning).toHaveBeenCalledTimes(1);
    answer = [answer[0], staging({ id: 'r2', state: 'STUCK', error: 'x' })];
    await model.refreshStagings();
    expect(error).toHaveBeenCalledTimes(1);
    expect(dismiss).not.toHaveBeenCalled();

    await model.extend('r1');
    expect(dismiss).toHaveBeenCalledWith('w1');
    answer = [answer[0], staging({ id: 'r2', state: 'REPLICATING' })];
    await model.refreshStagings();
    expect(dismiss).toHaveBeenCalledWith('e1');
    model.dispose();
    jest.restoreAllMocks();
  });
});

describe('notebook toolbar', () => {
  function item(
    state: 'bound' | 'error',
    binding: {
      kind: 'paths' | 'waiting' | 'not-staged';
      percent: number | null;
    },
    refused: { did: string; instance: string; variable: string }[] = []
  ) {
    const attachments = {
      changed: new Signal<any, void>({}),
      attachments: [{ did: 'demo:ds', instance: 'testbed', variable: 'ds' }],
      refused,
      state,
      error: null,
      binding: () => binding
    } as unknown as NotebookAttachments;
    return new AttachmentsItem(
      attachments,
      trans,
      new CommandRegistry(),
      'x:detach'
    );
  }

  it('says "waiting for data" for a placeholder, never "attached"', () => {
    render(item('bound', { kind: 'waiting', percent: 40 }).render()!);
    const label = screen.getByRole('button');
    expect(label.getAttribute('data-state')).toBe('waiting');
    expect(label.textContent).toBe('ds: waiting for data (40%)');
  });

  it('says which attachments of a shared notebook it refuses to bind', () => {
    const evil = {
      did: 'demo:evil',
      instance: 'testbed',
      variable: '__builtins__'
    };
    render(item('bound', { kind: 'paths', percent: 100 }, [evil]).render()!);
    const label = screen.getByRole('button');
    expect(label.getAttribute('data-state')).toBe('error');
    expect(label.textContent).toBe('1 attachment refused: bad variable name');
    expect(label.getAttribute('title')).toContain(
      '__builtins__ = demo:evil is not bound: the name would shadow one Python or IPython needs'
    );
  });

  it('says "attached" when the kernel holds the paths', () => {
    render(item('bound', { kind: 'paths', percent: 100 }).render()!);
    expect(screen.getByRole('button').textContent).toBe('1 DID attached');
  });
});

describe('settings', () => {
  it('offers the server QoS classes for defaultQos, keeping the current value valid', () => {
    const classes = [
      { name: 'FAST', description: 'Fast disk', expression: '', rses: [] }
    ];
    expect(
      qosChoices(classes, 'SAFE', 'First').map(c => [c.const, c.title])
    ).toEqual([
      ['', 'First'],
      ['FAST', 'FAST: Fast disk'],
      ['SAFE', 'SAFE']
    ]);
  });
});

it('keeps a failed stage next to the Stage button (StageForm)', async () => {
  const { StageForm } = await import('../widgets/stageform');
  const model = new DatalakeModel(
    fakeAPI({ stage: jest.fn().mockRejectedValue(authError) })
  );
  await model.connect();
  render(<StageForm model={model} trans={trans} did="demo:a" />);
  await act(async () => {
    screen.getByRole('button', { name: 'Stage near the hub' }).click();
    await flush(10);
  });
  const alert = screen.getByRole('alert');
  expect(alert.closest('.jp-datalake-stage-actions')).not.toBeNull();
  expect(alert.textContent).toContain('Rucio refused the credentials');
  model.dispose();
});
