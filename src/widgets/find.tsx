import type { TranslationBundle } from '@jupyterlab/translation';
import React, { useState } from 'react';

import { parseSearchPattern } from '../did';
import type {
  IDatalakeModel,
  IMetadataFilter,
  ISearchQuery,
  SearchType
} from '../tokens';
import { ErrorBox } from './error';
import { useRovingFocus } from './roving';
import { TreeView } from './tree';
import { ModelView } from './view';

const OPS: ReadonlyArray<IMetadataFilter['op']> = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte'
];

const OP_LABELS: Record<IMetadataFilter['op'], string> = {
  eq: '=',
  ne: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤'
};

/**
 * The search form: `scope:pattern` with wildcards, a type filter and metadata rows.
 */
export function SearchForm(props: {
  model: IDatalakeModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const [did, setDid] = useState(model.query.did);
  const [type, setType] = useState<SearchType>(model.query.type);
  const [filters, setFilters] = useState<IMetadataFilter[]>(
    model.query.filters
  );
  const [invalid, setInvalid] = useState(false);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const pattern = parseSearchPattern(did);
    if (pattern === null) {
      setInvalid(true);
      model.setSearchError({
        status: 0,
        reason: 'INVALID_PATTERN',
        message: trans.__(
          'Write scope:pattern, e.g. demo:lofar-* (letters, digits, . - _ / and * only).'
        )
      });
      return;
    }
    setInvalid(false);
    const query: ISearchQuery = { did: pattern, type, filters };
    model.search(query);
  };

  const setFilter = (index: number, change: Partial<IMetadataFilter>) => {
    setFilters(filters.map((f, i) => (i === index ? { ...f, ...change } : f)));
  };

  return (
    <form
      className="jp-datalake-search"
      role="search"
      aria-label={trans.__('Search the data lake')}
      onSubmit={submit}
    >
      <div className="jp-datalake-search-line">
        <input
          className="jp-datalake-search-input"
          type="search"
          value={did}
          placeholder={trans.__('scope:pattern*')}
          aria-label={trans.__('DID pattern')}
          aria-invalid={invalid}
          spellCheck={false}
          onChange={event => setDid(event.target.value)}
        />
        <select
          className="jp-datalake-search-type"
          aria-label={trans.__('DID type')}
          value={type}
          onChange={event => setType(event.target.value as SearchType)}
        >
          <option value="all">{trans.__('All (collections first)')}</option>
          <option value="container">{trans.__('Containers')}</option>
          <option value="dataset">{trans.__('Datasets')}</option>
          <option value="file">{trans.__('Files')}</option>
        </select>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          aria-label={trans.__('Search')}
        >
          {trans.__('Search')}
        </button>
      </div>
      {filters.map((filter, index) => (
        <div
          className="jp-datalake-filter"
          key={index}
          data-filter-index={index}
        >
          <input
            value={filter.key}
            placeholder={trans.__('key')}
            aria-label={trans.__('Metadata key %1', index + 1)}
            onChange={event => setFilter(index, { key: event.target.value })}
          />
          <select
            value={filter.op}
            aria-label={trans.__('Comparison %1', index + 1)}
            onChange={event =>
              setFilter(index, {
                op: event.target.value as IMetadataFilter['op']
              })
            }
          >
            {OPS.map(op => (
              <option key={op} value={op}>
                {OP_LABELS[op]}
              </option>
            ))}
          </select>
          <input
            value={filter.value}
            placeholder={trans.__('value')}
            aria-label={trans.__('Metadata value %1', index + 1)}
            onChange={event => setFilter(index, { value: event.target.value })}
          />
          <button
            type="button"
            className="jp-datalake-link"
            aria-label={trans.__('Remove filter %1', index + 1)}
            onClick={() => setFilters(filters.filter((_, i) => i !== index))}
          >
            ×
          </button>
        </div>
      ))}
      <button
        type="button"
        className="jp-datalake-link"
        aria-label={trans.__('Add metadata filter')}
        onClick={() =>
          setFilters([...filters, { key: '', op: 'eq', value: '' }])
        }
      >
        {trans.__('+ metadata filter')}
      </button>
    </form>
  );
}

/**
 * The scopes of the instance; choosing one browses it.
 */
function ScopeBrowser(props: {
  model: IDatalakeModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { model, trans } = props;
  const roving = useRovingFocus(model.scopes.length);
  if (model.scopesError) {
    return <ErrorBox error={model.scopesError} trans={trans} />;
  }
  if (model.scopes.length === 0) {
    return null;
  }
  return (
    <details className="jp-datalake-scopes">
      <summary>{trans.__('Scopes (%1)', model.scopes.length)}</summary>
      <ul aria-label={trans.__('Scopes')} onKeyDown={roving.onKeyDown}>
        {model.scopes.map((scope, index) => (
          <li key={scope}>
            <button
              type="button"
              className="jp-datalake-link"
              data-scope={scope}
              data-roving
              tabIndex={roving.tabIndex(index)}
              onFocus={() => roving.onFocus(index)}
              aria-label={trans.__('Browse scope %1', scope)}
              onClick={() => model.browseScope(scope)}
            >
              {scope}
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * The "Find" section: search form, scope browser and the browse tree of results.
 */
export class FindSection extends ModelView {
  constructor(
    model: IDatalakeModel,
    trans: TranslationBundle,
    private readonly _onDrag: (
      did: string,
      clientX: number,
      clientY: number
    ) => void,
    private readonly _onOpen: (did: string) => void
  ) {
    super(model, trans);
    this.addClass('jp-datalake-find');
    this.title.label = trans.__('Find');
  }

  render(): JSX.Element {
    const { model, trans } = this;
    const tree = model.tree;
    return (
      <>
        <SearchForm
          key={JSON.stringify(model.query)}
          model={model}
          trans={trans}
        />
        <ScopeBrowser model={model} trans={trans} />
        {model.searchError && (
          <ErrorBox
            error={model.searchError}
            trans={trans}
            onDismiss={() => model.setSearchError(null)}
          />
        )}
        {tree && (
          <TreeView
            tree={tree}
            trans={trans}
            label={trans.__('Search results')}
            selectedDid={model.selectedDid}
            onSelect={did => model.selectDid(did.did)}
            onOpen={did => this._onOpen(did.did)}
            onDrag={(did, x, y) => this._onDrag(did.did, x, y)}
          />
        )}
      </>
    );
  }
}
