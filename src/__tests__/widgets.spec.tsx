import { nullTranslator } from '@jupyterlab/translation';
import { act, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';

import { DatalakeModel } from '../model';
import { didMimeData, JUPYTER_CELL_MIME } from '../notebook/drop';
import { progressPercent } from '../staging';
import { TokenLeft } from '../widgets/connection';
import { StageForm } from '../widgets/stageform';
import { TreeView } from '../widgets/tree';
import { did, fakeAPI, flush, pagesOf, staging } from './fakes';

const trans = nullTranslator.load('jupyterlab_datalake');

async function searchedModel(count: number) {
  const pages = pagesOf(count);
  const model = new DatalakeModel(
    fakeAPI({
      search: jest.fn(async q =>
        q.type === 'file'
          ? { items: [], next_cursor: null }
          : {
              items: [did('big', 'DATASET'), did('other', 'DATASET')],
              next_cursor: null
            }
      ),
      files: jest.fn((d, page) => pages(page))
    }),
    { pageSize: 1000 }
  );
  model.search({ did: 'demo:*', type: 'all', filters: [] });
  await flush();
  return { model, pages };
}

function renderTree(
  model: DatalakeModel,
  onSelect = jest.fn(),
  onOpen = jest.fn()
) {
  const view = () => (
    <TreeView
      tree={model.tree!}
      trans={trans}
      label={trans.__('Search results')}
      selectedDid={model.selectedDid}
      onSelect={d => onSelect(d.did)}
      onOpen={d => onOpen(d.did)}
      onDrag={jest.fn()}
    />
  );
  const result = render(view());
  model.stateChanged.connect(() => result.rerender(view()));
  return result;
}

describe('TreeView', () => {
  it('renders only the visible rows of a 100k-file dataset and fetches pages on demand', async () => {
    const { model, pages } = await searchedModel(100_000);
    renderTree(model);
    const tree = screen.getByRole('tree', { name: 'Search results' });
    await act(async () => {
      model.tree!.expand(model.tree!.rows[0]);
      await flush();
    });
    expect(pages).toHaveBeenCalledTimes(1);
    // The two datasets, the bar over the long listing, 1000 files, the "more" row.
    expect(tree.getAttribute('data-row-count')).toBe('1004');
    expect(tree.querySelector('.jp-datalake-listbar-count')!.textContent).toBe(
      '100,000 files'
    );
    // Virtualized: a screenful plus overscan, not a thousand nodes.
    expect(screen.getAllByRole('treeitem').length).toBeLessThan(40);
    // Jump to the end: the "more" row is rendered and triggers the next page.
    await act(async () => {
      fireEvent.keyDown(tree, { key: 'End' });
      await flush();
    });
    expect(pages.mock.calls[1][0]).toEqual({ limit: 1000, cursor: '1000' });
    model.dispose();
  });

  it('jumps to the last file, back to the first, to a row, and sorts, from the list bar', async () => {
    const { model, pages } = await searchedModel(100_000);
    renderTree(model);
    const tree = screen.getByRole('tree', { name: 'Search results' });
    await act(async () => {
      model.tree!.expand(model.tree!.rows[0]);
      await flush();
    });
    const click = async (name: string) => {
      await act(async () => {
        fireEvent.click(screen.getByRole('button', { name }));
        await flush();
      });
    };
    await click('Last');
    expect(pages.mock.lastCall![0]).toMatchObject({ position: -1000 });
    // Scrolled to the last file, which is the active row; the rows before it load on demand.
    expect(document.querySelector('[data-did="demo:f99999"]')).not.toBeNull();
    expect(
      document.querySelector('.jp-mod-active')!.getAttribute('data-did')
    ).toBe('demo:f99999');
    const earlier = model.tree!.rows.find(r => r.kind === 'earlier');
    expect(earlier).toMatchObject({ depth: 1 });
    expect(earlier!.kind === 'earlier' && earlier!.list.offset).toBe(99_000);
    await act(async () => {
      model.tree!.rows.find(r => r.kind === 'earlier')!.list.loadEarlier();
      await flush();
    });
    expect(model.tree!.rows.filter(r => r.kind === 'did')).toHaveLength(2002);
    // Ctrl+Home from a file of the listing: its first page, the list bar in view again.
    await act(async () => {
      fireEvent.keyDown(tree, { key: 'Home', ctrlKey: true });
      await flush();
    });
    expect(document.querySelector('[data-did="demo:f0"]')).not.toBeNull();
    expect(document.querySelector('.jp-datalake-row-earlier')).toBeNull();

    const goTo = screen.getByRole('spinbutton', { name: 'Go to row' });
    await act(async () => {
      fireEvent.change(goTo, { target: { value: '50001' } });
      fireEvent.keyDown(goTo, { key: 'Enter' });
      await flush();
    });
    expect(pages.mock.lastCall![0]).toMatchObject({ position: 50000 });
    expect(
      document.querySelector('.jp-mod-active')!.getAttribute('data-did')
    ).toBe('demo:f50000');

    await act(async () => {
      fireEvent.change(screen.getByRole('combobox', { name: 'Sort' }), {
        target: { value: 'size' }
      });
      await flush();
    });
    expect(pages.mock.lastCall![0]).toMatchObject({
      position: 0,
      sort: 'size'
    });
    expect(document.querySelector('[data-did="demo:f99999"]')).not.toBeNull();
    // Ctrl+End from a file of the listing: its last page.
    await act(async () => {
      fireEvent.keyDown(tree, { key: 'End', ctrlKey: true });
      await flush();
    });
    expect(pages.mock.lastCall![0]).toMatchObject({
      position: -1000,
      sort: 'size'
    });
    model.dispose();
  });

  it('keeps the keyboard in "Go to row" while pages arrive', async () => {
    const { model, pages } = await searchedModel(100_000);
    renderTree(model);
    await act(async () => {
      model.tree!.expand(model.tree!.rows[0]);
      await flush();
    });
    const goTo = screen.getByRole('spinbutton', { name: 'Go to row' });
    act(() => goTo.focus());
    fireEvent.change(goTo, { target: { value: '12' } });
    // The next page arrives meanwhile (asked by the "more" row): the tree renders again.
    const listing = model.tree!.rows.find(r => r.kind === 'listbar')!;
    await act(async () => {
      await (listing.kind === 'listbar' && listing.list.loadMore());
      await flush();
    });
    expect(pages).toHaveBeenCalledTimes(2);
    expect(document.activeElement).toBe(goTo);
    await act(async () => {
      fireEvent.keyDown(document.activeElement!, { key: 'Enter' });
      await flush();
    });
    expect(pages.mock.lastCall![0]).toMatchObject({ position: 11 });
    // The row gone to is the active row, and has the keyboard.
    expect(document.activeElement!.getAttribute('data-did')).toBe('demo:f11');
    model.dispose();
  });

  it('moves with arrows, expands with Right, collapses with Left, opens with Enter; one tab stop', async () => {
    const { model } = await searchedModel(2);
    const onSelect = jest.fn();
    const onOpen = jest.fn();
    renderTree(model, onSelect, onOpen);
    const tree = screen.getByRole('tree');
    const tabStops = () =>
      Array.from(tree.querySelectorAll('[tabindex="0"]')).map(e =>
        e.getAttribute('data-did')
      );
    // Roving tabindex: the first row is the only tab stop (not the tree, not its scroller).
    expect(tabStops()).toEqual(['demo:big']);
    expect(tree.getAttribute('tabindex')).toBe('-1');
    (document.querySelector('[data-did="demo:big"]') as HTMLElement).focus();
    await act(async () => {
      fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' });
      await flush();
    });
    const big = document.querySelector('[data-did="demo:big"]')!;
    expect(big.getAttribute('aria-expanded')).toBe('true');
    expect(document.querySelector('[data-did="demo:f1"]')).not.toBeNull();

    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    // The focus follows the active row, which is the one tab stop.
    expect(document.activeElement?.getAttribute('data-did')).toBe('demo:f1');
    expect(tabStops()).toEqual(['demo:f1']);
    fireEvent.keyDown(document.activeElement!, { key: ' ' });
    expect(onSelect).toHaveBeenCalledWith('demo:f1');
    expect(onOpen).not.toHaveBeenCalled();
    fireEvent.keyDown(document.activeElement!, { key: 'Enter' });
    expect(onOpen).toHaveBeenCalledWith('demo:f1');

    // Left on a file goes to its parent, Left again collapses it.
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' });
    expect(document.activeElement?.getAttribute('data-did')).toBe('demo:big');
    await act(async () => {
      fireEvent.keyDown(document.activeElement!, { key: 'ArrowLeft' });
    });
    expect(document.querySelector('[data-did="demo:f1"]')).toBeNull();
    model.dispose();
  });
});

describe('StageForm', () => {
  it('offers only the server QoS classes, preselects the setting, and stages', async () => {
    const api = fakeAPI({ stage: jest.fn(async () => [staging()]) });
    const model = new DatalakeModel(api, {
      defaultQos: 'CHEAP-ANALYSIS',
      defaultLifetime: 86400
    });
    await model.connect();
    render(<StageForm model={model} trans={trans} did="demo:lofar-obs" />);
    const select = screen.getByLabelText('QoS class') as HTMLSelectElement;
    expect(select.value).toBe('CHEAP-ANALYSIS');
    expect(Array.from(select.options).map(o => o.value)).toEqual([
      'FAST',
      'CHEAP-ANALYSIS'
    ]);
    expect(
      await screen.findByText('Storage: HUB-CHEAP, near the hub')
    ).toBeTruthy();

    const lifetime = screen.getByLabelText('Lifetime') as HTMLInputElement;
    expect(lifetime.value).toBe('1d');
    fireEvent.change(lifetime, { target: { value: 'soon' } });
    const submit = screen.getByRole('button', { name: 'Stage near the hub' });
    expect((submit as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(lifetime, { target: { value: '7d' } });
    fireEvent.change(select, { target: { value: 'FAST' } });
    await act(async () => {
      fireEvent.click(submit);
      await flush();
    });
    expect(api.stage).toHaveBeenCalledWith(
      {
        dids: ['demo:lofar-obs'],
        qos: 'FAST',
        lifetime: 604800,
        source_qos: null,
        start_in: null
      },
      'testbed'
    );
    model.dispose();
  });

  it('refuses to stage when the server offers no QoS class', async () => {
    const model = new DatalakeModel(fakeAPI({ qos: jest.fn(async () => []) }));
    await model.connect();
    render(<StageForm model={model} trans={trans} did="demo:a" />);
    expect(
      screen.queryByRole('button', { name: 'Stage near the hub' })
    ).toBeNull();
    expect(screen.getByRole('status').textContent).toMatch(/no QoS class/);
    model.dispose();
  });
});

describe('staging progress and drag payload', () => {
  it('computes progress from files', () => {
    expect(progressPercent(staging({ files_ok: 1, files_total: 4 }))).toBe(25);
    expect(progressPercent(staging({ state: 'OK', files_total: 0 }))).toBe(100);
  });

  it('drags one code cell binding the paths and the DID as text', () => {
    const mime = didMimeData('demo:lofar-obs-sb001', 'sb001');
    expect(mime.getData(JUPYTER_CELL_MIME)).toEqual([
      expect.objectContaining({
        cell_type: 'code',
        source: 'sb001 = %datalake paths demo:lofar-obs-sb001'
      })
    ]);
    expect(mime.getData('text/plain')).toBe('demo:lofar-obs-sb001');
  });

  it('names the instance of a DID that is not the default one', () => {
    const mime = didMimeData('demo:lofar-obs-sb001', 'sb001', 'testbed-x509');
    expect(mime.getData(JUPYTER_CELL_MIME)).toEqual([
      expect.objectContaining({
        source:
          'sb001 = %datalake paths demo:lofar-obs-sb001 --instance testbed-x509',
        metadata: {
          datalake: { did: 'demo:lofar-obs-sb001', instance: 'testbed-x509' }
        }
      })
    ]);
  });
});

describe('token status', () => {
  const whoami = {
    instance: 'testbed',
    account: 'alice',
    rucio_version: '41.5.1',
    token_expires_at: new Date(Date.now() - 60_000).toISOString(),
    auth_type: 'oidc'
  };

  it('says a token from the hub is renewed for you, even past its expiry', () => {
    render(
      <TokenLeft
        whoami={{ ...whoami, token_source: 'hub', token_auto_renew: true }}
        trans={trans}
      />
    );
    expect(screen.getByText('signed in through JupyterHub')).toBeTruthy();
    expect(screen.queryByText(/expired/)).toBeNull();
  });

  it('counts down a token the user has to renew', () => {
    render(
      <TokenLeft
        whoami={{ ...whoami, token_source: 'file', token_auto_renew: false }}
        trans={trans}
      />
    );
    expect(screen.getByText('token expired: refresh to renew')).toBeTruthy();
  });
});
