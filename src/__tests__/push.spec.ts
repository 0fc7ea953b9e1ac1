import { DatalakeModel } from '../model';
import { parsePush } from '../push';
import type { IStagingEvent, IStagingPush } from '../tokens';
import { fakeAPI, flush, staging } from './fakes';

/** A push connection the test opens, feeds and closes. */
class FakeWatch {
  constructor(
    readonly instance: string,
    readonly onPush: (push: IStagingPush) => void,
    readonly onOpen: () => void
  ) {
    this.closed = new Promise<void>(resolve => (this._resolve = resolve));
  }
  readonly closed: Promise<void>;
  close = jest.fn(() => this._resolve());
  private _resolve: () => void = () => undefined;
}

/** Let the model's polls run their first ticks (scheduled on timers). */
async function ticks(): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 30));
  await flush();
}

function pushingAPI(stagings = [staging()]) {
  const watches: FakeWatch[] = [];
  const api = fakeAPI({
    stagings: jest.fn(async () => stagings),
    watchStagings: jest.fn(
      (
        instance: string,
        onPush: (push: IStagingPush) => void,
        onOpen: () => void
      ) => {
        const watch = new FakeWatch(instance, onPush, onOpen);
        watches.push(watch);
        return watch;
      }
    )
  });
  return { api, watches };
}

describe('parsePush', () => {
  it('reads a staging and a removal', () => {
    const s = staging({ id: 'a'.repeat(32), state: 'OK' });
    expect(parsePush(JSON.stringify({ staging: s }))).toEqual({ staging: s });
    expect(parsePush('{"removed": "r9"}')).toEqual({ removed: 'r9' });
  });

  it.each([
    ['not JSON', '{'],
    ['a number', '3'],
    ['null', 'null'],
    ['a staging without id', '{"staging": {"state": "OK"}}'],
    ['a staging without state', '{"staging": {"id": "r1"}}'],
    ['something else', '{"hello": 1}']
  ])('ignores %s', (_, text) => {
    expect(parsePush(text)).toBeNull();
  });

  it('ignores binary frames', () => {
    expect(parsePush(new ArrayBuffer(2))).toBeNull();
  });
});

describe('DatalakeModel with the staging push', () => {
  it('says "completed" once when the push brings OK, then again from the poll', async () => {
    const { api, watches } = pushingAPI();
    const model = new DatalakeModel(api, { pollInterval: 5 });
    const events: IStagingEvent[] = [];
    model.stagingEvent.connect((_, e) => events.push(e));
    await model.connect();
    await ticks();
    expect(watches).toHaveLength(1);
    expect(watches[0].instance).toBe('testbed');
    watches[0].onOpen();
    expect(model.pushed).toBe(true);
    const ok = staging({ state: 'OK', files_ok: 4, files_replicating: 0 });
    watches[0].onPush({ staging: ok });
    expect(model.stagings[0].state).toBe('OK');
    // The same news again (the catch-up read, a second push): no second notification.
    watches[0].onPush({ staging: ok });
    api.stagings.mockResolvedValue([ok]);
    await model.refreshStagings();
    expect(events.map(e => e.kind)).toEqual(['completed']);
    model.dispose();
    expect(watches[0].close).toHaveBeenCalled();
  });

  it('adds a staging made elsewhere and drops a removed one', async () => {
    const { api, watches } = pushingAPI();
    const model = new DatalakeModel(api);
    await model.connect();
    await ticks();
    watches[0].onOpen();
    watches[0].onPush({ staging: staging({ id: 'r2', did: 'demo:x' }) });
    expect(model.stagings.map(s => s.id).sort()).toEqual(['r1', 'r2']);
    watches[0].onPush({ removed: 'r1' });
    expect(model.stagings.map(s => s.id)).toEqual(['r2']);
    model.dispose();
  });

  it('keeps what a push said over a list answer that left before it', async () => {
    const { api, watches } = pushingAPI();
    const model = new DatalakeModel(api);
    await model.connect();
    await ticks();
    let answer: (value: ReturnType<typeof staging>[]) => void = () => undefined;
    api.stagings.mockReturnValueOnce(
      new Promise(resolve => (answer = resolve))
    );
    const reading = model.refreshStagings();
    watches[0].onOpen();
    watches[0].onPush({ removed: 'r1' });
    watches[0].onPush({ staging: staging({ id: 'r2', state: 'OK' }) });
    answer([staging({ id: 'r1' }), staging({ id: 'r2' })]);
    await reading;
    expect(model.stagings.map(s => [s.id, s.state])).toEqual([['r2', 'OK']]);
    model.dispose();
  });

  it('reads the list again when the push opens (what a dropped connection missed)', async () => {
    const { api, watches } = pushingAPI();
    const model = new DatalakeModel(api);
    await model.connect();
    await ticks();
    const before = api.stagings.mock.calls.length;
    watches[0].onOpen();
    await flush();
    expect(api.stagings.mock.calls.length).toBe(before + 1);
    model.dispose();
  });

  it('polls as before when the push closes, and opens a new one', async () => {
    jest.useFakeTimers();
    try {
      const { api, watches } = pushingAPI();
      const model = new DatalakeModel(api);
      await model.connect();
      await jest.advanceTimersByTimeAsync(0);
      watches[0].onOpen();
      expect(model.pushed).toBe(true);
      watches[0].close();
      await jest.advanceTimersByTimeAsync(0);
      expect(model.pushed).toBe(false);
      await jest.advanceTimersByTimeAsync(5000);
      expect(watches.length).toBeGreaterThanOrEqual(2);
      model.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('ignores a late push for the instance the user left', async () => {
    const { api, watches } = pushingAPI();
    api.instances.mockResolvedValue({
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
    });
    const model = new DatalakeModel(api);
    await model.connect();
    await ticks();
    const old = watches[0];
    api.stagings.mockResolvedValue([]);
    await model.setInstance('escape');
    expect(old.close).toHaveBeenCalled();
    old.onPush({ staging: staging({ id: 'late' }) });
    expect(model.stagings.map(s => s.id)).not.toContain('late');
    model.dispose();
  });
});
