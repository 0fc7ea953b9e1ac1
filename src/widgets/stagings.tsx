import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { describeStaging } from '../states';
import type { IDatalakeModel, IStaging } from '../tokens';
import { ErrorBox } from './error';
import { DidName } from './name';
import { ProgressBar, StateLabel } from './stagingparts';
import { useRovingFocus } from './roving';
import { ModelView } from './view';

function CompactList(props: {
  stagings: ReadonlyArray<IStaging>;
  trans: TranslationBundle;
  onOpen: (did: string) => void;
}): JSX.Element {
  const { stagings, trans } = props;
  const roving = useRovingFocus(stagings.length);
  return (
    <ul
      className="jp-datalake-staging-list jp-mod-compact"
      aria-label={trans.__('My stagings')}
      onKeyDown={roving.onKeyDown}
    >
      {stagings.map((s, index) => {
        const words = describeStaging(s, trans);
        return (
          <li
            key={s.id}
            className="jp-datalake-staging jp-datalake-didItem"
            data-staging-id={s.id}
            data-did={s.did}
            data-state={s.state}
          >
            <button
              type="button"
              className="jp-datalake-staging-open"
              data-roving
              tabIndex={roving.tabIndex(index)}
              onFocus={() => roving.onFocus(index)}
              aria-label={trans.__('%1: %2', s.did, words.label)}
              onClick={() => props.onOpen(s.did)}
            >
              <DidName text={s.did} trans={trans} />
              <StateLabel words={words} />
            </button>
            <ProgressBar staging={s} trans={trans} />
          </li>
        );
      })}
    </ul>
  );
}

/**
 * "My stagings" in the side panel: one line per staging with its state in plain words; a
 * click opens the DID's page. The Stagings view has the details and actions.
 */
export class StagingsSection extends ModelView {
  constructor(
    model: IDatalakeModel,
    trans: TranslationBundle,
    private readonly _onOpen: (did: string) => void
  ) {
    super(model, trans);
    this.addClass('jp-datalake-stagings');
    this.title.label = trans.__('My stagings');
  }

  render(): JSX.Element {
    const { model, trans } = this;
    const stagings = model.stagings;
    return (
      <>
        {model.stagingsError && (
          <ErrorBox
            error={model.stagingsError}
            trans={trans}
            onRetry={() => void model.refreshStagings().catch(() => undefined)}
          />
        )}
        {stagings.length === 0 && !model.stagingsError ? (
          <p className="jp-datalake-muted jp-datalake-empty">
            {trans.__('No staging yet. Open a DID and stage it near the hub.')}
          </p>
        ) : (
          <CompactList
            stagings={stagings}
            trans={trans}
            onOpen={this._onOpen}
          />
        )}
      </>
    );
  }
}
