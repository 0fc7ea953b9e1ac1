import type { ServerConnection } from '@jupyterlab/services';

import type { ILifecycleAPI, IUploadLine, IVerifyLine } from './lifecycle';
import { watchStagings } from './push';
import { DatalakeRequestError, requestAPI, requestLines } from './request';
import { parseRuleId } from './staging';
import type {
  IDatalakeAPI,
  IDID,
  IDIDInfo,
  IInstances,
  IMetadataFilter,
  IPage,
  IPageRequest,
  IQosClass,
  IReplica,
  IStagePreview,
  IStaging,
  IStageRequest,
  IWhoami
} from './tokens';

/**
 * Rucio did not answer the shim's refresh of the stagings in time: the shim's last list
 * comes with the error, whose sentence says how old the list is.
 */
export class StaleStagingsError extends DatalakeRequestError {
  constructor(
    error: { message: string; reason: string; status: number },
    readonly stagings: IStaging[]
  ) {
    super(error.status, error.reason, error.message);
  }
}

/**
 * The route of one staging. A rule id is 32 hexadecimal digits: anything else is refused
 * before it reaches a URL.
 */
function stagingRoute(id: string): string {
  const rule = parseRuleId(id);
  if (rule === null) {
    throw new DatalakeRequestError(
      400,
      'BAD_RULE_ID',
      `${JSON.stringify(id)} is not a Rucio rule id (32 hexadecimal digits).`
    );
  }
  return `stagings/${rule}`;
}

/**
 * Encode metadata filter rows as the shim's `filters` JSON object
 * (`{"datatype": "RAW", "run_number.gt": 3}`); numbers travel as numbers.
 */
export function encodeFilters(filters: IMetadataFilter[]): string | null {
  const rows = filters.filter(f => f.key.trim() !== '');
  if (rows.length === 0) {
    return null;
  }
  const object: Record<string, string | number> = {};
  for (const { key, op, value } of rows) {
    const trimmed = value.trim();
    const numeric = trimmed !== '' && !isNaN(Number(trimmed));
    object[op === 'eq' ? key.trim() : `${key.trim()}.${op}`] = numeric
      ? Number(trimmed)
      : trimmed;
  }
  return JSON.stringify(object);
}

/**
 * The shim's routes as typed functions (docs/contract.md); the only caller of requestAPI.
 */
export function createAPI(settings: ServerConnection.ISettings): IDatalakeAPI {
  const page = (p: IPageRequest) => ({ limit: p.limit, cursor: p.cursor });
  const listing = (p: IPageRequest) => ({
    ...page(p),
    position: p.position,
    sort: p.sort
  });
  return {
    version: () => requestAPI<{ version: string }>('version', settings),
    instances: () => requestAPI<IInstances>('instances', settings),
    whoami: instance =>
      requestAPI<IWhoami>('whoami', settings, { query: { instance } }),
    scopes: async instance =>
      (
        await requestAPI<{ scopes: string[] }>('scopes', settings, {
          query: { instance }
        })
      ).scopes,
    search: (query, p, instance) =>
      requestAPI<IPage<IDID>>('search', settings, {
        query: {
          did: query.did,
          type: query.type,
          filters: encodeFilters(query.filters),
          instance,
          ...page(p)
        }
      }),
    did: (did, instance) =>
      requestAPI<IDIDInfo>('did', settings, { query: { did, instance } }),
    children: (did, p, instance) =>
      requestAPI<IPage<IDID>>('did/children', settings, {
        query: { did, instance, ...listing(p) }
      }),
    files: (did, p, instance) =>
      requestAPI<IPage<IDID>>('did/files', settings, {
        query: { did, instance, ...listing(p) }
      }),
    replicas: async (did, instance) =>
      (
        await requestAPI<{ rses: IReplica[] }>('did/replicas', settings, {
          query: { did, instance }
        })
      ).rses,
    rules: async (did, instance) =>
      (
        await requestAPI<{ rules: IStaging[] }>('did/rules', settings, {
          query: { did, instance }
        })
      ).rules,
    qos: async instance =>
      (
        await requestAPI<{ classes: IQosClass[] }>('qos', settings, {
          query: { instance }
        })
      ).classes,
    stagings: async (instance, fresh) => {
      const answer = await requestAPI<{
        stagings: IStaging[];
        error?: { message: string; reason: string; status: number } | null;
      }>('stagings', settings, {
        query: { instance, fresh: fresh ? 'true' : undefined }
      });
      if (answer.error) {
        throw new StaleStagingsError(answer.error, answer.stagings);
      }
      return answer.stagings;
    },
    stage: async (request: IStageRequest, instance) =>
      (
        await requestAPI<{ stagings: IStaging[] }>('stagings', settings, {
          method: 'POST',
          body: { ...request, instance }
        })
      ).stagings,
    preview: (did, qos, instance) =>
      requestAPI<IStagePreview>('stagings/preview', settings, {
        query: { did, qos, instance }
      }),
    extend: async (id, lifetime, instance) =>
      requestAPI<IStaging>(stagingRoute(id), settings, {
        method: 'PATCH',
        body: { lifetime, instance }
      }),
    release: async (id, instance) => {
      await requestAPI<void>(stagingRoute(id), settings, {
        method: 'DELETE',
        query: { instance }
      });
    },
    watchStagings: (instance, onPush, onOpen) =>
      watchStagings(settings, instance, onPush, onOpen)
  };
}

/**
 * The routes of the other half of the lifecycle: upload and verify stream their lines,
 * move answers the new staging.
 */
export function createLifecycleAPI(
  settings: ServerConnection.ISettings,
  instance: () => string
): ILifecycleAPI {
  return {
    upload: (request, onLine) =>
      requestLines<IUploadLine>(
        'uploads',
        settings,
        {
          method: 'POST',
          body: { ...request, instance: instance() || undefined }
        },
        onLine
      ),
    verify: (did, report, onLine) =>
      requestLines<IVerifyLine>(
        'verify',
        settings,
        {
          method: 'POST',
          body: { did, report, instance: instance() || undefined }
        },
        onLine
      ),
    move: async (id, qos) =>
      (
        await requestAPI<{ stagings: IStaging[] }>(
          `${stagingRoute(id)}/move`,
          settings,
          { method: 'POST', body: { qos, instance: instance() || undefined } }
        )
      ).stagings[0]
  };
}
