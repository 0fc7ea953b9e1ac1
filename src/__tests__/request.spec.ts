import { ServerConnection } from '@jupyterlab/services';

import { createAPI, encodeFilters, StaleStagingsError } from '../api';
import {
  DatalakeRequestError,
  requestAPI,
  requestLines,
  toDatalakeError
} from '../request';

type FetchCall = { url: string; method: string; body: string };

/**
 * Server settings whose fetch answers from a queue and records the calls.
 */
function stubServer(
  answers: Array<Response | Error | (() => Promise<Response>)>
): { settings: ServerConnection.ISettings; calls: FetchCall[] } {
  const calls: FetchCall[] = [];
  const fetch = async (request: Request) => {
    calls.push({
      url: request.url,
      method: request.method,
      body: await request.text()
    });
    const next = answers.shift();
    if (next instanceof Error) {
      throw next;
    }
    if (typeof next === 'function') {
      return next();
    }
    return next!;
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://hub.example/user/alice/',
    fetch: fetch as any
  });
  return { settings, calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('requestAPI', () => {
  it('joins the base URL, the namespace and the query', async () => {
    const { settings, calls } = stubServer([json(200, { scopes: ['demo'] })]);
    const data = await requestAPI<{ scopes: string[] }>('scopes', settings, {
      query: { instance: 'testbed', cursor: null }
    });
    expect(data.scopes).toEqual(['demo']);
    const url = new URL(calls[0].url);
    expect(url.origin + url.pathname).toBe(
      'http://hub.example/user/alice/datalake/scopes'
    );
    expect(url.searchParams.get('instance')).toBe('testbed');
    expect(url.searchParams.has('cursor')).toBe(false);
  });

  it('maps the shim error body to message and reason', async () => {
    const { settings } = stubServer([
      json(502, {
        message: 'Rucio refused the credentials: renew your token.',
        reason: 'CannotAuthenticate'
      })
    ]);
    const error = await requestAPI<DatalakeRequestError>(
      'whoami',
      settings
    ).catch(e => e);
    expect(error).toBeInstanceOf(DatalakeRequestError);
    expect(error.status).toBe(502);
    expect(error.reason).toBe('CannotAuthenticate');
    expect(error.message).toBe(
      'Rucio refused the credentials: renew your token.'
    );
  });

  it('says the server extension is missing on a bare 404', async () => {
    const { settings } = stubServer([
      new Response('Not found', { status: 404 })
    ]);
    const error = toDatalakeError(
      await requestAPI('whoami', settings).catch(e => e)
    );
    expect(error).toMatchObject({ status: 404, reason: 'SHIM_MISSING' });
    expect(error.message).toMatch(/jupyterlab_datalake/);
  });

  it('reports a network failure with status 0', async () => {
    const { settings } = stubServer([new TypeError('Failed to fetch')]);
    const error = toDatalakeError(
      await requestAPI('whoami', settings).catch(e => e)
    );
    expect(error).toMatchObject({ status: 0, reason: 'NETWORK' });
  });

  it('rejects an answer that is not JSON', async () => {
    const { settings } = stubServer([
      new Response('<html>proxy error</html>', { status: 200 })
    ]);
    const error = toDatalakeError(
      await requestAPI('whoami', settings).catch(e => e)
    );
    expect(error.reason).toBe('INVALID_RESPONSE');
  });

  it('abandons a request after the timeout', async () => {
    const { settings } = stubServer([
      () =>
        new Promise<Response>((_, reject) =>
          setTimeout(() => reject(new TypeError('aborted')), 50)
        )
    ]);
    const error = toDatalakeError(
      await requestAPI('whoami', settings, { timeoutMs: 10 }).catch(e => e)
    );
    expect(error.reason).toBe('TIMEOUT');
  });

  it('accepts an empty 204 answer', async () => {
    const { settings, calls } = stubServer([
      new Response(null, { status: 204 })
    ]);
    await expect(
      createAPI(settings).release('AB'.repeat(16), 'testbed')
    ).resolves.toBeUndefined();
    expect(calls[0].method).toBe('DELETE');
    expect(new URL(calls[0].url).pathname).toBe(
      `/user/alice/datalake/stagings/${'ab'.repeat(16)}`
    );
  });

  it('sends no request for a rule id that is not one', async () => {
    const { settings, calls } = stubServer([]);
    const error = toDatalakeError(
      await createAPI(settings)
        .release('rule/1', 'testbed')
        .catch(e => e)
    );
    expect(error.reason).toBe('BAD_RULE_ID');
    expect(calls).toHaveLength(0);
  });
});

describe('api', () => {
  it('rejects a late list of stagings with the list and the sentence of its age', async () => {
    const late = {
      message:
        'Rucio has not answered for 2 s. This is the list as Rucio gave it at 10:00:00 UTC.',
      reason: 'RUCIO_TIMEOUT',
      status: 504
    };
    const { settings } = stubServer([
      json(200, {
        stagings: [],
        listed_at: '2026-01-01T10:00:00Z',
        error: null
      }),
      json(200, {
        stagings: [{ id: 'r1' }],
        listed_at: '2026-01-01T10:00:00Z',
        error: late
      })
    ]);
    const api = createAPI(settings);
    await expect(api.stagings('testbed')).resolves.toEqual([]);
    const error = await api.stagings('testbed').catch(e => e);
    expect(error).toBeInstanceOf(StaleStagingsError);
    expect(error.stagings).toEqual([{ id: 'r1' }]);
    expect(toDatalakeError(error)).toEqual(late);
  });

  it('sends search type, filters and cursor', async () => {
    const { settings, calls } = stubServer([
      json(200, { items: [], next_cursor: null })
    ]);
    await createAPI(settings).search(
      {
        did: 'demo:lofar*',
        type: 'dataset',
        filters: [
          { key: 'datatype', op: 'eq', value: 'RAW' },
          { key: 'run_number', op: 'gt', value: '3' }
        ]
      },
      { limit: 50, cursor: 'abc' },
      'testbed'
    );
    const url = new URL(calls[0].url);
    expect(url.pathname).toBe('/user/alice/datalake/search');
    expect(url.searchParams.get('did')).toBe('demo:lofar*');
    expect(url.searchParams.get('type')).toBe('dataset');
    expect(url.searchParams.get('limit')).toBe('50');
    expect(url.searchParams.get('cursor')).toBe('abc');
    expect(JSON.parse(url.searchParams.get('filters')!)).toEqual({
      datatype: 'RAW',
      'run_number.gt': 3
    });
  });

  it('posts a staging request as JSON', async () => {
    const { settings, calls } = stubServer([json(201, { stagings: [] })]);
    await createAPI(settings).stage(
      { dids: ['demo:a'], qos: 'FAST', lifetime: 3600 },
      'testbed'
    );
    expect(calls[0].method).toBe('POST');
    expect(JSON.parse(calls[0].body)).toEqual({
      dids: ['demo:a'],
      qos: 'FAST',
      lifetime: 3600,
      instance: 'testbed'
    });
  });

  it('omits empty filter rows', () => {
    expect(encodeFilters([{ key: ' ', op: 'eq', value: 'x' }])).toBeNull();
  });
});

describe('requestLines', () => {
  /** A streamed answer whose body arrives in the given pieces (jsdom has no streams). */
  function streamed(pieces: string[]): Response {
    const encoder = new TextEncoder();
    const queue = pieces.map(piece => encoder.encode(piece));
    const reader = {
      read: async () =>
        queue.length
          ? { done: false, value: queue.shift() }
          : { done: true, value: undefined }
    };
    return {
      ok: true,
      status: 200,
      body: { getReader: () => reader },
      text: async () => pieces.join('')
    } as unknown as Response;
  }

  it('hands over each line as it arrives, lines cut across pieces included', async () => {
    const { settings, calls } = stubServer([
      streamed([
        '{"state":"PLANNED"}\n{"state":"UPL',
        'OADED"}\n',
        '{"state":"DONE"}'
      ])
    ]);
    const seen: string[] = [];
    const lines = await requestLines<{ state: string }>(
      'uploads',
      settings,
      { method: 'POST', body: { paths: ['a'] } },
      line => seen.push(line.state)
    );
    expect(seen).toEqual(['PLANNED', 'UPLOADED', 'DONE']);
    expect(lines).toHaveLength(3);
    expect(calls[0].method).toBe('POST');
    expect(JSON.parse(calls[0].body)).toEqual({ paths: ['a'] });
  });

  it('rejects with the sentence of a final error line, after the lines before it', async () => {
    const { settings } = stubServer([
      streamed([
        '{"state":"PLANNED"}\n',
        '{"error":{"message":"Rucio is slow: try again later.","reason":"RUCIO_TIMEOUT"}}\n'
      ])
    ]);
    const seen: string[] = [];
    const failure = requestLines<{ state: string }>(
      'verify',
      settings,
      {},
      line => seen.push(line.state)
    );
    await expect(failure).rejects.toMatchObject({
      reason: 'RUCIO_TIMEOUT',
      message: 'Rucio is slow: try again later.'
    });
    expect(seen).toEqual(['PLANNED']);
  });

  it('rejects a refusal with its status and sentence', async () => {
    const { settings } = stubServer([
      json(403, { message: 'Not your scope.', reason: 'SCOPE_NOT_YOURS' })
    ]);
    await expect(
      requestLines('uploads', settings, { method: 'POST' }, () => undefined)
    ).rejects.toMatchObject({ status: 403, reason: 'SCOPE_NOT_YOURS' });
  });
});
