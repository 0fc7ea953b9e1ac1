import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { PagedList } from './paging';
import type { IDatalakeError, IDID, IPage, IPageRequest } from './tokens';

/**
 * One visible line of the browse tree, as the virtualized list renders it.
 */
export type TreeRow =
  | {
      kind: 'did';
      key: string;
      depth: number;
      did: IDID;
      expanded: boolean;
      parentKey: string | null;
    }
  | { kind: 'loading'; key: string; depth: number }
  | {
      /** Above a long content or file listing: its count, sort order, first/last/go to row. */
      kind: 'listbar';
      key: string;
      depth: number;
      list: PagedList<IDID>;
      total: number | null;
      /** The files of a dataset (else the content of a container). */
      files: boolean;
    }
  | {
      /** Above the held rows of a listing shown from a later row: the rows before it. */
      kind: 'earlier';
      key: string;
      depth: number;
      list: PagedList<IDID>;
    }
  | {
      kind: 'more';
      key: string;
      depth: number;
      list: PagedList<IDID>;
      /** How many items the whole list has, when the shim said so (a dataset's `length`). */
      total: number | null;
    }
  | {
      kind: 'error';
      key: string;
      depth: number;
      error: IDatalakeError;
      list: PagedList<IDID>;
    };

export type ChildFetcher = (
  did: IDID,
  page: IPageRequest
) => Promise<IPage<IDID>>;

/**
 * The hierarchical browse state: a root list (search results) and, for every expanded
 * container or dataset, its own paged list of content. Rows are flattened lazily and
 * only over what was fetched, so 100k files cost one array of visible rows.
 */
export class BrowseTree {
  constructor(
    readonly root: PagedList<IDID>,
    private readonly _children: ChildFetcher,
    private readonly _pageSize: number
  ) {
    root.changed.connect(this._invalidate, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get rows(): ReadonlyArray<TreeRow> {
    if (this._rows === null) {
      this._rows = [];
      this._flatten(this.root, 0, null, this._rows);
    }
    return this._rows;
  }

  /** Expand a container/dataset row and fetch its first page; files do not expand. */
  expand(row: TreeRow): void {
    if (row.kind !== 'did' || row.did.type === 'FILE' || row.expanded) {
      return;
    }
    const did = row.did;
    const list = new PagedList<IDID>(
      page => this._children(did, page),
      this._pageSize
    );
    list.changed.connect(this._invalidate, this);
    this._expanded.set(row.key, list);
    if (did.type === 'DATASET') {
      this._fileLists.add(list);
      if (typeof did.length === 'number') {
        this._totals.set(list, did.length);
      }
    }
    this._invalidate();
    void list.loadMore();
  }

  /** Collapse a row, dropping everything fetched below it. */
  collapse(row: TreeRow): void {
    if (row.kind !== 'did' || !row.expanded) {
      return;
    }
    for (const [key, list] of [...this._expanded]) {
      if (key === row.key || key.startsWith(row.key + '/')) {
        list.dispose();
        this._expanded.delete(key);
      }
    }
    this._invalidate();
  }

  toggle(row: TreeRow): void {
    if (row.kind === 'did' && row.expanded) {
      this.collapse(row);
    } else {
      this.expand(row);
    }
  }

  dispose(): void {
    this.root.dispose();
    for (const list of this._expanded.values()) {
      list.dispose();
    }
    this._expanded.clear();
    Signal.clearData(this);
  }

  /** The list a row is part of (a listing's own rows: that listing). */
  listOf(row: TreeRow): PagedList<IDID> | null {
    if (row.kind === 'did') {
      return row.parentKey === null
        ? this.root
        : (this._expanded.get(row.parentKey) ?? null);
    }
    return 'list' in row ? row.list : null;
  }

  /** The index in `rows` of the first or last held item of an expanded list, or -1. */
  indexOf(list: PagedList<IDID>, which: 'first' | 'last'): number {
    const item =
      which === 'first' ? list.items[0] : list.items[list.items.length - 1];
    const parent = [...this._expanded].find(([, l]) => l === list)?.[0];
    if (!item || parent === undefined) {
      return -1;
    }
    const key = `${parent}/${item.did}`;
    return this.rows.findIndex(r => r.kind === 'did' && r.key === key);
  }

  /** How many rows a list has: the shim's count once read, else the dataset's length. */
  total(list: PagedList<IDID>): number | null {
    return list.total ?? this._totals.get(list) ?? null;
  }

  private _flatten(
    list: PagedList<IDID>,
    depth: number,
    parentKey: string | null,
    out: TreeRow[]
  ): void {
    const prefix = parentKey === null ? '' : parentKey + '/';
    const total = this.total(list);
    const long =
      list.offset > 0 ||
      list.sort !== 'rucio' ||
      (total ?? 0) > this._pageSize ||
      (list.hasMore && list.items.length >= this._pageSize);
    if (parentKey !== null && long) {
      const files = this._fileLists.has(list);
      out.push({
        kind: 'listbar',
        key: `${prefix}#bar`,
        depth,
        list,
        total,
        files
      });
    }
    if (list.offset > 0) {
      out.push({ kind: 'earlier', key: `${prefix}#earlier`, depth, list });
    }
    for (const did of list.items) {
      const key = prefix + did.did;
      const children = this._expanded.get(key);
      out.push({
        kind: 'did',
        key,
        depth,
        did,
        expanded: children !== undefined,
        parentKey
      });
      if (children) {
        this._flatten(children, depth + 1, key, out);
      }
    }
    const tail = `${prefix}#${depth}`;
    if (list.loading) {
      out.push({ kind: 'loading', key: `${tail}-loading`, depth });
    } else if (list.error) {
      out.push({
        kind: 'error',
        key: `${tail}-error`,
        depth,
        error: list.error,
        list
      });
    } else if (list.hasMore && list.items.length > 0) {
      out.push({
        kind: 'more',
        key: `${tail}-more`,
        depth,
        list,
        total
      });
    }
  }

  private _invalidate(): void {
    this._rows = null;
    this._changed.emit();
  }

  private _expanded = new Map<string, PagedList<IDID>>();
  private _totals = new WeakMap<PagedList<IDID>, number>();
  private _fileLists = new WeakSet<PagedList<IDID>>();
  private _rows: TreeRow[] | null = null;
  private _changed = new Signal<this, void>(this);
}
