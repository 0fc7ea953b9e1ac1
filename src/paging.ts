import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { toDatalakeError } from './request';
import type { IDatalakeError, IPage, IPageRequest, ListSort } from './tokens';

export type PageFetcher<T> = (page: IPageRequest) => Promise<IPage<T>>;

/**
 * Page through several listings one after the other (e.g. collections, then files).
 * The cursor says which listing it belongs to: `<index>:<that listing's cursor>`; a
 * listing that is empty passes on to the next one at once.
 */
export function inSequence<T>(
  fetchers: ReadonlyArray<PageFetcher<T>>
): PageFetcher<T> {
  return async page => {
    let index = 0;
    let cursor: string | null = null;
    if (page.cursor !== null) {
      const at = page.cursor.indexOf(':');
      index = Number(page.cursor.slice(0, at));
      cursor = page.cursor.slice(at + 1) || null;
    }
    for (;;) {
      const answer = await fetchers[index]({ limit: page.limit, cursor });
      const last = index + 1 >= fetchers.length;
      if (answer.next_cursor !== null) {
        return {
          items: answer.items,
          next_cursor: `${index}:${answer.next_cursor}`
        };
      }
      if (last || answer.items.length > 0) {
        return {
          items: answer.items,
          next_cursor: last ? null : `${index + 1}:`
        };
      }
      index += 1;
      cursor = null;
    }
  };
}

/**
 * A list fetched page by page with the shim's opaque cursors, on demand.
 * It holds only the pages asked for so far; `hasMore` says there is more, never a silent cap.
 * A content or file listing can also jump to any row (`jumpTo`; the held rows then start at
 * `offset`, and `loadEarlier` fills in before them), sorted or not.
 */
export class PagedList<T> {
  constructor(
    private readonly _fetch: PageFetcher<T>,
    private readonly _pageSize: number
  ) {}

  /** Emitted after each page, error or loading change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get items(): ReadonlyArray<T> {
    return this._items;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): IDatalakeError | null {
    return this._error;
  }

  /** True until a page answered `next_cursor: null`. */
  get hasMore(): boolean {
    return !this._done;
  }

  /** The row of the whole list the first held item is. */
  get offset(): number {
    return this._offset;
  }

  /** How many rows the whole list has, once the shim said so. */
  get total(): number | null {
    return this._total;
  }

  get sort(): ListSort {
    return this._sort;
  }

  /**
   * Show the list from row `position` (negative: its last page), dropping what is held;
   * `sort` applies to this and every next page.
   */
  async jumpTo(position: number, sort: ListSort = this._sort): Promise<void> {
    this._sort = sort;
    const request = {
      limit: this._pageSize,
      cursor: null,
      position: position < 0 ? -this._pageSize : position,
      sort
    };
    await this._load(request, 'replace');
  }

  /** Fetch the page before the first held row. */
  async loadEarlier(): Promise<void> {
    if (this._offset === 0 || this._loading || this._disposed) {
      return;
    }
    const position = Math.max(0, this._offset - this._pageSize);
    await this._load(
      {
        limit: this._offset - position,
        cursor: null,
        position,
        sort: this._sort
      },
      'prepend'
    );
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Fetch the next page; a no-op while a page is loading or after the last one.
   * After an error, calling it again retries the same cursor.
   */
  async loadMore(): Promise<void> {
    if (this._loading || this._done || this._disposed) {
      return;
    }
    await this._load({ limit: this._pageSize, cursor: this._cursor }, 'append');
  }

  /** Ask again for what failed last (a page, a jump, a sort). */
  async retry(): Promise<void> {
    const failed = this._failed;
    if (failed && !this._loading) {
      await this._load(failed.request, failed.how);
    }
  }

  private async _load(
    request: IPageRequest,
    how: 'append' | 'prepend' | 'replace'
  ): Promise<void> {
    if (this._disposed) {
      return;
    }
    // A jump or a sort wins over a page still in flight: that page's answer is dropped.
    const generation =
      how === 'replace' ? ++this._generation : this._generation;
    this._loading = true;
    this._error = null;
    this._failed = null;
    this._changed.emit();
    try {
      const page = await this._fetch(request);
      if (this._disposed || generation !== this._generation) {
        return;
      }
      this._total = page.total ?? this._total;
      if (how === 'prepend') {
        this._items = page.items.concat(this._items);
        this._offset = page.offset ?? 0;
      } else {
        if (how === 'replace') {
          this._items = [];
          this._offset = page.offset ?? 0;
        }
        this._items = this._items.concat(page.items);
        this._cursor = page.next_cursor;
        this._done = page.next_cursor === null;
      }
    } catch (error) {
      if (this._disposed || generation !== this._generation) {
        return;
      }
      this._error = toDatalakeError(error);
      this._failed = { request, how };
    } finally {
      if (generation === this._generation) {
        this._loading = false;
      }
    }
    this._changed.emit();
  }

  /** Stop emitting; answers still in flight are dropped. */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this);
  }

  private _items: T[] = [];
  private _offset = 0;
  private _total: number | null = null;
  private _sort: ListSort = 'rucio';
  private _generation = 0;
  private _failed: {
    request: IPageRequest;
    how: 'append' | 'prepend' | 'replace';
  } | null = null;
  private _cursor: string | null = null;
  private _done = false;
  private _loading = false;
  private _error: IDatalakeError | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
