import { StaleStagingsError } from '../api';
import { DatalakeModel } from '../model';
import type { IStaging, IStagingEvent } from '../tokens';
import { authError, did, fakeAPI, flush, pagesOf, staging } from './fakes';

describe('DatalakeModel connection', () => {
  it('connects to the default instance and knows the account', async () => {
    const api = fakeAPI();
    const model = new DatalakeModel(api);
    await model.connect();
    expect(model.instance).toBe('testbed');
    expect(model.whoami?.account).toBe('alice');
    expect(model.connectionError).toBeNull();
    expect(model.qosClasses.map(c => c.name)).toEqual([
      'FAST',
      'CHEAP-ANALYSIS'
    ]);
    expect(api.whoami).toHaveBeenCalledWith('testbed');
    model.dispose();
  });

  it('keeps wrong credentials as a connection error, then recovers on retry', async () => {
    const api = fakeAPI({
      whoami: jest.fn().mockRejectedValueOnce(authError)
    });
    api.whoami.mockResolvedValue({
      instance: 'testbed',
      account: 'alice',
      rucio_version: '38',
      token_expires_at: null,
      auth_type: 'userpass',
      token_source: null,
      token_auto_renew: true
    });
    const model = new DatalakeModel(api);
    await model.connect();
    expect(model.whoami).toBeNull();
    expect(model.connectionError).toEqual({
      status: 502,
      reason: 'CannotAuthenticate',
      message: 'Rucio refused the credentials: renew your token, then retry.'
    });
    expect(api.stagings).not.toHaveBeenCalled();
    await model.connect();
    expect(model.connectionError).toBeNull();
    expect(model.whoami?.account).toBe('alice');
    model.dispose();
  });

  it('resets instance-bound state when switching instance', async () => {
    const api = fakeAPI({
      instances: jest.fn(async () => ({
        default: 'testbed',
        instances: [
          {
            name: 'testbed',
            display_name: 'T',
            site_expression: '',
            webui_url: null
          },
          {
            name: 'escape',
            display_name: 'E',
            site_expression: '',
            webui_url: null
          }
        ]
      }))
    });
    const model = new DatalakeModel(api);
    await model.connect();
    model.search({ did: 'demo:*', type: 'all', filters: [] });
    expect(model.tree).not.toBeNull();
    expect(model.defaultInstance).toBe('testbed');
    await model.setInstance('escape');
    expect(model.instance).toBe('escape');
    // The server's default stays what it is: dropped cells name 'escape'.
    expect(model.defaultInstance).toBe('testbed');
    expect(model.tree).toBeNull();
    expect(api.whoami).toHaveBeenLastCalledWith('escape');
    model.dispose();
  });
});

describe('DatalakeModel browsing', () => {
  it('pages search results with cursors, on demand, without a cap', async () => {
    const pages = pagesOf(250);
    const api = fakeAPI({
      search: jest.fn((q, page) => pages(page))
    });
    const model = new DatalakeModel(api, { pageSize: 100 });
    model.search({ did: 'demo:f*', type: 'file', filters: [] });
    await flush();
    const root = model.tree!.root;
    expect(root.items).toHaveLength(100);
    expect(root.hasMore).toBe(true);
    expect(model.tree!.rows[model.tree!.rows.length - 1].kind).toBe('more');
    await root.loadMore();
    await root.loadMore();
    expect(root.items).toHaveLength(250);
    expect(root.hasMore).toBe(false);
    expect(pages.mock.calls.map(c => c[0].cursor)).toEqual([
      null,
      '100',
      '200'
    ]);
    // After the last page nothing more is fetched.
    await root.loadMore();
    expect(pages).toHaveBeenCalledTimes(3);
    model.dispose();
  });

  it('expands a dataset into its files and a container into its children', async () => {
    const files = pagesOf(3, 'file');
    const api = fakeAPI({
      search: jest.fn(async q =>
        q.type === 'file'
          ? { items: [], next_cursor: null }
          : {
              items: [did('ds', 'DATASET'), did('cont', 'CONTAINER')],
              next_cursor: null
            }
      ),
      files: jest.fn((d, page) => files(page)),
      children: jest.fn(async () => ({
        items: [did('inner', 'DATASET')],
        next_cursor: null
      }))
    });
    const model = new DatalakeModel(api);
    model.search({ did: 'demo:*', type: 'all', filters: [] });
    await flush();
    const tree = model.tree!;
    tree.expand(tree.rows[0]);
    await flush();
    expect(api.files).toHaveBeenCalledWith(
      'demo:ds',
      { limit: 100, cursor: null },
      ''
    );
    expect(
      tree.rows.map(r => (r.kind === 'did' ? r.did.name : r.kind))
      // Files of the scope come after its collections: a "more" row until they are read.
    ).toEqual(['ds', 'file0', 'file1', 'file2', 'cont', 'more']);
    tree.expand(tree.rows[4]);
    await flush();
    expect(api.children).toHaveBeenCalledTimes(1);
    expect(tree.rows[5]).toMatchObject({ kind: 'did', depth: 1 });
    tree.collapse(tree.rows[0]);
    expect(tree.rows).toHaveLength(4);
    model.dispose();
  });

  it('shows a failed page as an error row that can be retried', async () => {
    const search = jest
      .fn()
      .mockRejectedValueOnce(authError)
      .mockResolvedValueOnce({ items: [did('a')], next_cursor: null });
    const model = new DatalakeModel(fakeAPI({ search }));
    model.search({ did: 'demo:*', type: 'all', filters: [] });
    await flush();
    const row = model.tree!.rows[0];
    expect(row.kind).toBe('error');
    if (row.kind === 'error') {
      expect(row.error.reason).toBe('CannotAuthenticate');
      await row.list.loadMore();
    }
    expect(model.tree!.rows[0]).toMatchObject({ kind: 'did' });
    model.dispose();
  });

  it('loads details, replicas and rules; a failing part does not hide the others', async () => {
    const api = fakeAPI({
      replicas: jest.fn().mockRejectedValue(authError),
      rules: jest.fn(async () => [staging()])
    });
    const model = new DatalakeModel(api);
    const details = model.openDetails('demo:lofar-obs');
    await flush(10);
    expect(details.info?.metadata).toEqual({ datatype: 'RAW' });
    expect(details.replicasError?.reason).toBe('CannotAuthenticate');
    expect(details.rules).toHaveLength(1);
    model.dispose();
    expect(details.isDisposed).toBe(true);
  });
});

describe('DatalakeModel stagings', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('stages, tracks progress, notifies completion, extends and releases', async () => {
    const answers = [
      [staging({ files_ok: 1, files_replicating: 3 })],
      [staging({ state: 'OK', files_ok: 4, files_replicating: 0 })]
    ];
    const api = fakeAPI({
      stage: jest.fn(async () => [staging()]),
      stagings: jest.fn(async () => answers.shift() ?? [])
    });
    const model = new DatalakeModel(api, { defaultLifetime: 7200 });
    const events: IStagingEvent[] = [];
    model.stagingEvent.connect((_, e) => events.push(e));

    const made = await model.stage({ dids: ['demo:lofar-obs'], qos: 'FAST' });
    expect(made).toHaveLength(1);
    expect(api.stage).toHaveBeenCalledWith(
      { dids: ['demo:lofar-obs'], qos: 'FAST', lifetime: 7200 },
      ''
    );
    expect(model.inFlight).toHaveLength(1);

    await model.refreshStagings();
    expect(model.stagings[0].files_ok).toBe(1);
    expect(events).toEqual([]);

    await model.refreshStagings();
    expect(model.inFlight).toHaveLength(0);
    expect(events.map(e => e.kind)).toEqual(['completed']);

    await model.extend('r1', 3600);
    expect(api.extend).toHaveBeenCalledWith('r1', 3600, '');

    expect(await model.release('r1')).toBe(true);
    expect(model.stagings).toHaveLength(0);
    model.dispose();
  });

  it('reports STUCK once and warns once when less than an hour is left', async () => {
    const soon = new Date(Date.now() + 1800_000).toISOString();
    const api = fakeAPI({
      stagings: jest
        .fn()
        .mockResolvedValueOnce([staging()])
        .mockResolvedValue([
          staging({
            state: 'STUCK',
            files_stuck: 1,
            error: 'no source',
            created_at: new Date(Date.now() - 86400_000).toISOString(),
            expires_at: soon
          })
        ])
    });
    const model = new DatalakeModel(api);
    const events: string[] = [];
    model.stagingEvent.connect((_, e) => events.push(e.kind));
    await model.refreshStagings();
    await model.refreshStagings();
    await model.refreshStagings();
    expect(events.sort()).toEqual(['expiring', 'stuck']);
    model.dispose();
  });

  it('keeps a failed action as an error and a failed refresh as stagings error', async () => {
    const api = fakeAPI({
      stage: jest.fn().mockRejectedValue(authError),
      stagings: jest.fn().mockRejectedValue(authError)
    });
    const model = new DatalakeModel(api);
    expect(await model.stage({ dids: ['demo:a'], qos: 'FAST' })).toBeNull();
    expect(model.actionError?.reason).toBe('CannotAuthenticate');
    await expect(model.refreshStagings()).rejects.toBe(authError);
    expect(model.stagingsError?.status).toBe(502);
    model.dispose();
  });

  it('shows the last list the shim has, with how old it is, when Rucio does not answer', async () => {
    const late = new StaleStagingsError(
      {
        message:
          'Rucio has not answered for 2 s. This is the list as Rucio gave it at 10:00:00 UTC.',
        reason: 'RUCIO_TIMEOUT',
        status: 504
      },
      [staging({ id: 'r9', did: 'demo:kept' })]
    );
    const model = new DatalakeModel(
      fakeAPI({ stagings: jest.fn().mockRejectedValue(late) })
    );
    await expect(model.refreshStagings()).rejects.toBe(late);
    expect(model.stagings.map(s => s.did)).toEqual(['demo:kept']);
    expect(model.stagingsError).toEqual({
      status: 504,
      reason: 'RUCIO_TIMEOUT',
      message:
        'Rucio has not answered for 2 s. This is the list as Rucio gave it at 10:00:00 UTC.'
    });
    model.dispose();
  });

  it('keeps polling after a failed first read of the stagings, and recovers', async () => {
    const stagings = jest
      .fn()
      .mockRejectedValueOnce(authError)
      .mockResolvedValue([staging()]);
    const model = new DatalakeModel(fakeAPI({ stagings }), { pollInterval: 1 });
    model.setVisible(model, true);
    await model.connect();
    expect(model.stagingsError?.reason).toBe('CannotAuthenticate');
    await jest.advanceTimersByTimeAsync(5000);
    expect(model.stagingsError).toBeNull();
    expect(model.stagings).toHaveLength(1);
    model.dispose();
  });

  it("the user's Refresh asks for a fresh list, its polls for the shim's", async () => {
    const stagings = jest.fn(async () => [staging()]);
    const model = new DatalakeModel(fakeAPI({ stagings }), { pollInterval: 1 });
    await model.connect();
    expect(stagings).toHaveBeenLastCalledWith('testbed', false);
    await model.refresh();
    expect(stagings).toHaveBeenLastCalledWith('testbed', true);
    model.dispose();
  });

  it('drops a late stagings answer for the instance the user left', async () => {
    let answerTestbed: (value: IStaging[]) => void = () => undefined;
    const api = fakeAPI({
      instances: jest.fn(async () => ({
        default: 'testbed',
        instances: ['testbed', 'escape'].map(name => ({
          name,
          display_name: name,
          site_expression: '',
          webui_url: null
        }))
      })),
      stagings: jest.fn((instance?: string) =>
        instance === 'testbed'
          ? new Promise<IStaging[]>(resolve => {
              answerTestbed = resolve;
            })
          : Promise.resolve([])
      )
    });
    const model = new DatalakeModel(api);
    const connecting = model.connect();
    await flush(20);
    await model.setInstance('escape');
    answerTestbed([staging()]);
    await connecting;
    expect(model.instance).toBe('escape');
    expect(model.stagings).toEqual([]);
    model.dispose();
  });

  it('polls only while something is in flight or the panel is visible, and backs off on errors', async () => {
    const stagings = jest.fn(async () => [staging()]);
    const api = fakeAPI({ stagings });
    const model = new DatalakeModel(api, { pollInterval: 1 });
    await model.connect();
    const afterConnect = stagings.mock.calls.length;

    // In flight: the poll asks again every interval.
    await jest.advanceTimersByTimeAsync(3100);
    expect(stagings.mock.calls.length).toBeGreaterThanOrEqual(afterConnect + 2);

    // Nothing in flight and panel hidden: standby, no request.
    stagings.mockImplementation(async () => [
      staging({ state: 'OK', files_ok: 4 })
    ]);
    await jest.advanceTimersByTimeAsync(1100);
    const quiet = stagings.mock.calls.length;
    await jest.advanceTimersByTimeAsync(5000);
    expect(stagings.mock.calls.length).toBe(quiet);

    // Failing requests: the poll backs off (fewer calls than one per second).
    model.setVisible(model, true);
    stagings.mockImplementation(async () => {
      throw authError;
    });
    await jest.advanceTimersByTimeAsync(100);
    const failingFrom = stagings.mock.calls.length;
    await jest.advanceTimersByTimeAsync(20_000);
    const failures = stagings.mock.calls.length - failingFrom;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(15);
    expect(model.stagingsError?.reason).toBe('CannotAuthenticate');
    model.dispose();
  });
});

describe('DatalakeModel follows the data lake (nothing stale, nothing false)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it("lists a scope's collections first, then its files, with one cursor", async () => {
    const collections = jest.fn(async () => ({
      items: [did('c', 'CONTAINER'), did('d', 'DATASET')],
      next_cursor: null
    }));
    const files = pagesOf(3);
    const api = fakeAPI({
      search: jest.fn((q, page) =>
        q.type === 'collection' ? collections() : files(page)
      )
    });
    const model = new DatalakeModel(api, { pageSize: 10 });
    model.search({ did: 'demo:*', type: 'all', filters: [] });
    await flush();
    const root = model.tree!.root;
    expect(root.items.map(d => d.type)).toEqual(['CONTAINER', 'DATASET']);
    expect(root.hasMore).toBe(true);
    await root.loadMore();
    expect(root.items.map(d => d.name)).toEqual(['c', 'd', 'f0', 'f1', 'f2']);
    expect(root.hasMore).toBe(false);
    expect(api.search.mock.calls.map(c => c[0].type)).toEqual([
      'collection',
      'file'
    ]);
    model.dispose();
  });

  it('does not warn that a new 1-hour staging expires; warns in its last quarter; Extend ends it', async () => {
    const created = Date.now();
    const oneHour = staging({
      created_at: new Date(created).toISOString(),
      expires_at: new Date(created + 3600_000).toISOString()
    });
    const api = fakeAPI({
      stage: jest.fn(async () => [oneHour]),
      stagings: jest.fn(async () => [oneHour]),
      extend: jest.fn(async () => ({
        ...oneHour,
        expires_at: new Date(Date.now() + 7 * 86400_000).toISOString()
      }))
    });
    const model = new DatalakeModel(api);
    const events: string[] = [];
    model.stagingEvent.connect((_, e) => events.push(e.kind));
    await model.stage({ dids: ['demo:a'], qos: 'FAST', lifetime: 3600 });
    model.checkExpiry();
    expect(events).toEqual([]);
    expect(model.isExpiring(model.stagings[0])).toBe(false);
    // 50 minutes later: 10 minutes left, less than a quarter of its hour.
    model.checkExpiry(created + 50 * 60_000);
    expect(events).toEqual(['expiring']);
    expect(model.isExpiring(model.stagings[0], created + 50 * 60_000)).toBe(
      true
    );
    await model.extend(oneHour.id);
    expect(model.isExpiring(model.stagings[0], created + 50 * 60_000)).toBe(
      false
    );
    model.dispose();
  });

  it("keeps each staging's progress as observed, one sample per change", async () => {
    const answers = [
      [staging({ files_ok: 0 })],
      [staging({ files_ok: 0 })],
      [staging({ files_ok: 2 })],
      [staging({ state: 'OK', files_ok: 4, files_replicating: 0 })]
    ];
    const api = fakeAPI({ stagings: jest.fn(async () => answers.shift()!) });
    const model = new DatalakeModel(api);
    for (let i = 0; i < 4; i++) {
      await model.refreshStagings();
    }
    expect(model.history('r1').map(s => [s.state, s.files_ok])).toEqual([
      ['REPLICATING', 0],
      ['REPLICATING', 2],
      ['OK', 4]
    ]);
    expect(model.history('r1').every(s => s.bytes_ok === null)).toBe(true);
    model.dispose();
  });

  it("reloads an open DID's details when its staging changes, and after an outage", async () => {
    let near: 'NONE' | 'AVAILABLE' = 'NONE';
    let down = false;
    const answers = [
      [staging({ did: 'demo:ds' })],
      [staging({ did: 'demo:ds', state: 'OK', files_ok: 4 })]
    ];
    const api = fakeAPI({
      did: jest.fn(async (d: string) => {
        if (down) {
          throw authError;
        }
        return {
          ...did(d.split(':')[1], 'DATASET'),
          metadata: {},
          near_hub: { state: near, rses: near === 'NONE' ? [] : ['HUB-FAST'] }
        };
      }),
      stagings: jest.fn(async () => {
        if (down) {
          throw authError;
        }
        return answers.shift() ?? [];
      })
    });
    const model = new DatalakeModel(api);
    await model.refreshStagings();
    const details = model.openDetails('demo:ds');
    await jest.advanceTimersByTimeAsync(10);
    expect(details.info?.near_hub.state).toBe('NONE');

    // The staging completes: the details follow without being opened again.
    near = 'AVAILABLE';
    await model.refreshStagings();
    await jest.advanceTimersByTimeAsync(1000);
    expect(details.info?.near_hub.state).toBe('AVAILABLE');

    // An outage: the error replaces what cannot be known...
    down = true;
    await details.reload();
    expect(details.infoError?.reason).toBe('CannotAuthenticate');
    expect(details.info).toBeNull();
    await expect(model.refreshStagings()).rejects.toBe(authError);
    // ...and goes away once the data lake answers again, without the user.
    down = false;
    await model.refreshStagings();
    await jest.advanceTimersByTimeAsync(1000);
    expect(details.infoError).toBeNull();
    expect(details.info?.near_hub.state).toBe('AVAILABLE');
    details.dispose();
    model.dispose();
  });
});
