import type { TranslationBundle } from '@jupyterlab/translation';
import {
  caretDownIcon,
  caretRightIcon,
  fileIcon,
  folderIcon
} from '@jupyterlab/ui-components';
import React, {
  forwardRef,
  useEffect,
  useLayoutEffect,
  useRef,
  useState
} from 'react';
import { FixedSizeList } from 'react-window';
import type { ListChildComponentProps } from 'react-window';

import { formatBytes } from '../format';
import type { PagedList } from '../paging';
import type { BrowseTree, TreeRow } from '../tree';
import type { IDID, ListSort } from '../tokens';
import { DRAG_THRESHOLD } from '../notebook/drop';
import { DidName } from './name';

export const ROW_HEIGHT = 24;
/** Height used until the container has been measured (and in tests without layout). */
const FALLBACK_HEIGHT = 320;

function useHeight(ref: React.RefObject<HTMLElement>): number {
  const [height, setHeight] = useState(FALLBACK_HEIGHT);
  useEffect(() => {
    const node = ref.current;
    if (!node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(entries => {
      const measured = entries[0]?.contentRect.height ?? 0;
      if (measured > 0) {
        setHeight(measured);
      }
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [ref]);
  return height;
}

export interface ITreeViewProps {
  tree: BrowseTree;
  trans: TranslationBundle;
  selectedDid: string | null;
  /** Select a DID (the target of commands). */
  onSelect: (did: IDID) => void;
  /** Open a DID's page (double click, Enter). */
  onOpen: (did: IDID) => void;
  /** Start dragging a DID at the given mouse position. */
  onDrag: (did: IDID, clientX: number, clientY: number) => void;
  label: string;
}

function rowDomId(index: number): string {
  return `jp-datalake-row-${index}`;
}

interface IRowData {
  rows: ReadonlyArray<TreeRow>;
  props: ITreeViewProps;
  active: number;
  setActive: (index: number) => void;
  /** Whether the keyboard focus is in the tree (then the active row takes it). */
  focused: React.MutableRefObject<boolean>;
  /** Where focus goes when the focused row scrolls out of the DOM. */
  tree: React.RefObject<HTMLDivElement>;
  /** Show a listing from a row (negative: from the end) and scroll to it. */
  jump: (list: PagedList<IDID>, position: number, sort?: ListSort) => void;
}

/** Item count as people read it: "100,000 files". */
function countOf(trans: TranslationBundle, n: number): string {
  return trans
    ._n('%1 file', '%1 files', n)
    .replace(String(n), n.toLocaleString());
}

/**
 * Roving tabindex: the active row is the tree's one tab stop and takes the focus when the
 * tree has it; a focused row that scrolls away hands the focus back to the tree.
 */
function useRovingRow(
  data: IRowData,
  index: number
): {
  ref: React.RefObject<HTMLDivElement>;
  tabIndex: 0 | -1;
} {
  const ref = useRef<HTMLDivElement>(null);
  const active = index === data.active;
  useEffect(() => {
    const node = ref.current;
    // Not from a control of the row itself (the list bar's "Go to row"): a page arriving
    // while someone types there would take the keyboard away mid-number.
    if (
      active &&
      data.focused.current &&
      node &&
      !node.contains(document.activeElement)
    ) {
      node.focus({ preventScroll: true });
    }
  });
  useLayoutEffect(() => {
    const node = ref.current;
    const tree = data.tree.current;
    return () => {
      if (node && tree && node.contains(document.activeElement)) {
        tree.focus({ preventScroll: true });
      }
    };
  }, []);
  return { ref, tabIndex: active ? 0 : -1 };
}

function Row({
  index,
  style,
  data
}: ListChildComponentProps<IRowData>): JSX.Element {
  const { rows, props, active, setActive } = data;
  const { trans, tree } = props;
  const row = rows[index];
  const roving = useRovingRow(data, index);
  const indent = { ...style, paddingLeft: 4 + row.depth * 16 };
  const activeClass = index === active ? ' jp-mod-active' : '';
  const common = {
    ref: roving.ref,
    tabIndex: roving.tabIndex,
    style: indent,
    id: rowDomId(index),
    role: 'treeitem',
    'aria-level': row.depth + 1,
    onFocus: () => setActive(index)
  };
  if (row.kind === 'loading') {
    return (
      <div
        {...common}
        className={`jp-datalake-row jp-datalake-row-loading${activeClass}`}
      >
        {trans.__('Loading…')}
      </div>
    );
  }
  if (row.kind === 'more') {
    const loaded = row.list.items.length;
    return (
      <div
        {...common}
        className={`jp-datalake-row jp-datalake-row-more${activeClass}`}
        onClick={() => void row.list.loadMore()}
      >
        {row.total !== null
          ? trans.__(
              '%1 of %2 loaded, more on scroll',
              loaded.toLocaleString(),
              countOf(trans, row.total)
            )
          : trans.__('%1 loaded, more on scroll', loaded.toLocaleString())}
      </div>
    );
  }
  if (row.kind === 'listbar') {
    return (
      <div
        {...common}
        className={`jp-datalake-row jp-datalake-listbar${activeClass}`}
      >
        <ListBar row={row} trans={trans} jump={data.jump} />
      </div>
    );
  }
  if (row.kind === 'earlier') {
    return (
      <div
        {...common}
        className={`jp-datalake-row jp-datalake-row-more jp-datalake-row-earlier${activeClass}`}
        onClick={() => void row.list.loadEarlier()}
      >
        {trans.__(
          'Rows 1–%1 above: load earlier',
          row.list.offset.toLocaleString()
        )}
      </div>
    );
  }
  if (row.kind === 'error') {
    return (
      <div
        {...common}
        data-reason={row.error.reason}
        className={`jp-datalake-row jp-datalake-row-error${activeClass}`}
        title={row.error.message}
      >
        {/* An alert: a listing that fails is announced, not only drawn in place of its rows. */}
        <span className="jp-datalake-row-name" role="alert">
          {row.error.message}
        </span>
        <button
          type="button"
          tabIndex={-1}
          className="jp-datalake-link"
          onClick={() => void row.list.retry()}
        >
          {trans.__('Retry')}
        </button>
      </div>
    );
  }
  const did = row.did;
  const selected = props.selectedDid === did.did;
  const expandable = did.type !== 'FILE';
  const Caret = row.expanded ? caretDownIcon : caretRightIcon;
  const TypeIcon = did.type === 'FILE' ? fileIcon : folderIcon;
  return (
    <DidRow
      {...{ row, common, selected, activeClass, props }}
      onActivate={() => setActive(index)}
    >
      <span
        className="jp-datalake-twisty"
        aria-hidden="true"
        onClick={event => {
          event.stopPropagation();
          setActive(index);
          tree.toggle(row);
        }}
      >
        {expandable && <Caret.react tag="span" />}
      </span>
      <TypeIcon.react tag="span" className="jp-datalake-row-icon" />
      <DidName
        text={row.depth === 0 ? did.did : did.name}
        trans={trans}
        className="jp-datalake-row-name"
      />
      <span className="jp-datalake-row-size">
        {did.type === 'FILE'
          ? formatBytes(did.bytes)
          : typeof did.length === 'number'
            ? countOf(trans, did.length)
            : ''}
      </span>
    </DidRow>
  );
}

/**
 * Above a long listing: how many rows it has, its order, and a way to the first row, the
 * last row or any row. The controls are no tab stops of their own (the tree has one);
 * Ctrl+Home and Ctrl+End do the same from the keyboard.
 */
function ListBar(p: {
  row: Extract<TreeRow, { kind: 'listbar' }>;
  trans: TranslationBundle;
  jump: IRowData['jump'];
}): JSX.Element {
  const { row, trans, jump } = p;
  const list = row.list;
  const [target, setTarget] = useState('');
  const count =
    row.total === null
      ? trans.__('counting…')
      : row.files
        ? countOf(trans, row.total)
        : trans
            ._n('%1 item', '%1 items', row.total)
            .replace(String(row.total), row.total.toLocaleString());
  const go = () => {
    const n = Number(target);
    if (Number.isInteger(n) && n >= 1) {
      jump(list, n - 1);
    }
  };
  return (
    <>
      <span className="jp-datalake-listbar-count" title={count}>
        {count}
      </span>
      <select
        tabIndex={-1}
        aria-label={trans.__('Sort')}
        title={trans.__('Sort')}
        value={list.sort}
        onClick={event => event.stopPropagation()}
        onChange={event => jump(list, 0, event.currentTarget.value as ListSort)}
      >
        <option value="rucio">{trans.__("Rucio's order")}</option>
        <option value="name">{trans.__('Name')}</option>
        <option value="size">{trans.__('Size, largest first')}</option>
      </select>
      <button
        type="button"
        tabIndex={-1}
        className="jp-datalake-link"
        title={trans.__('First row (Ctrl+Home)')}
        onClick={() => jump(list, 0)}
      >
        {trans.__('First')}
      </button>
      <button
        type="button"
        tabIndex={-1}
        className="jp-datalake-link"
        title={trans.__('Last row (Ctrl+End)')}
        onClick={() => jump(list, -1)}
      >
        {trans.__('Last')}
      </button>
      <input
        type="number"
        min={1}
        tabIndex={-1}
        className="jp-datalake-listbar-goto"
        aria-label={trans.__('Go to row')}
        placeholder={trans.__('Row')}
        value={target}
        onChange={event => setTarget(event.currentTarget.value)}
        onKeyDown={event => {
          event.stopPropagation();
          if (event.key === 'Enter') {
            go();
          }
        }}
      />
    </>
  );
}

/**
 * A DID row: selection on click, its page on double click, drag into notebooks after a
 * few pixels of movement.
 */
function DidRow(p: {
  row: Extract<TreeRow, { kind: 'did' }>;
  common: Record<string, unknown>;
  selected: boolean;
  activeClass: string;
  props: ITreeViewProps;
  onActivate: () => void;
  children: React.ReactNode;
}): JSX.Element {
  const { row, selected, props } = p;
  const did = row.did;
  const pressed = useRef<{ x: number; y: number } | null>(null);
  const maybeDrag = (event: React.MouseEvent, force: boolean) => {
    const start = pressed.current;
    if (!start || (event.buttons & 1) !== 1) {
      pressed.current = null;
      return;
    }
    if (
      force ||
      Math.abs(event.clientX - start.x) > DRAG_THRESHOLD ||
      Math.abs(event.clientY - start.y) > DRAG_THRESHOLD
    ) {
      pressed.current = null;
      props.onDrag(did, event.clientX, event.clientY);
    }
  };
  return (
    <div
      {...p.common}
      aria-expanded={did.type !== 'FILE' ? row.expanded : undefined}
      aria-selected={selected}
      data-did={did.did}
      data-type={did.type}
      title={did.did}
      className={`jp-datalake-row jp-datalake-didItem${selected ? ' jp-mod-selected' : ''}${p.activeClass}`}
      onClick={() => {
        p.onActivate();
        props.onSelect(did);
      }}
      onDoubleClick={() => props.onOpen(did)}
      onContextMenu={() => {
        p.onActivate();
        props.onSelect(did);
      }}
      onMouseDown={event => {
        pressed.current =
          event.button === 0 ? { x: event.clientX, y: event.clientY } : null;
      }}
      onMouseUp={() => {
        pressed.current = null;
      }}
      onMouseMove={event => maybeDrag(event, false)}
      onMouseLeave={event => maybeDrag(event, true)}
    >
      {p.children}
    </div>
  );
}

/**
 * The scrolling element of the list: not a tab stop of its own (Chromium makes scrollers
 * focusable), the rows are.
 */
const Scroller = forwardRef<HTMLDivElement, React.HTMLProps<HTMLDivElement>>(
  (props, ref) => <div ref={ref} {...props} tabIndex={-1} />
);

/**
 * Open the application's context menu for a row, as a right click on it would: for
 * Shift+F10 and the context-menu key.
 */
function openRowMenu(row: HTMLElement): void {
  const box = row.getBoundingClientRect();
  row.dispatchEvent(
    new MouseEvent('contextmenu', {
      bubbles: true,
      cancelable: true,
      clientX: box.left + Math.min(box.width / 2, 40),
      clientY: box.bottom
    })
  );
}

/**
 * A virtualized tree over the browse state: only visible rows are in the DOM, and the
 * next page of a list is fetched when its "more" row scrolls into view.
 * Keyboard: arrows move, Right/Left expand/collapse, Space selects, Enter opens the DID's
 * page, Shift+F10 or the context-menu key opens the row's menu. One tab stop: the active row.
 */
export function TreeView(props: ITreeViewProps): JSX.Element {
  const { tree, trans } = props;
  const rows = tree.rows;
  const [active, setActive] = useState(0);
  const outer = useRef<HTMLDivElement>(null);
  const list = useRef<FixedSizeList>(null);
  const focused = useRef(false);
  const height = useHeight(outer);
  const current = Math.min(active, Math.max(rows.length - 1, 0));

  const move = (index: number) => {
    const next = Math.max(0, Math.min(rows.length - 1, index));
    setActive(next);
    list.current?.scrollToItem(next);
  };

  // After a jump, the row asked for: the last held one for "from the end", else the first.
  const jump = (
    listing: PagedList<IDID>,
    position: number,
    sort?: ListSort
  ) => {
    void listing.jumpTo(position, sort).then(() => {
      const index = tree.indexOf(listing, position < 0 ? 'last' : 'first');
      if (index >= 0) {
        // Scrolled once the list has rendered its new rows (below).
        scrollTo.current = { index, align: position < 0 ? 'end' : 'start' };
        setActive(index);
        setJumps(n => n + 1);
      }
    });
  };
  const scrollTo = useRef<{ index: number; align: 'start' | 'end' } | null>(
    null
  );
  const [, setJumps] = useState(0);
  useEffect(() => {
    if (scrollTo.current) {
      list.current?.scrollToItem(
        scrollTo.current.index,
        scrollTo.current.align
      );
      scrollTo.current = null;
    }
  });

  const onKeyDown = (event: React.KeyboardEvent) => {
    const row = rows[current];
    if (!row) {
      return;
    }
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        move(current + 1);
        break;
      case 'ArrowUp':
        move(current - 1);
        break;
      case 'Home':
      case 'End': {
        const listing = tree.listOf(row);
        if (event.ctrlKey && listing && listing !== tree.root) {
          jump(listing, event.key === 'Home' ? 0 : -1);
        } else {
          move(event.key === 'Home' ? 0 : rows.length - 1);
        }
        break;
      }
      case 'PageDown':
        move(current + Math.floor(height / ROW_HEIGHT));
        break;
      case 'PageUp':
        move(current - Math.floor(height / ROW_HEIGHT));
        break;
      case 'ArrowRight':
        if (row.kind === 'did' && row.did.type !== 'FILE') {
          if (row.expanded) {
            move(current + 1);
          } else {
            tree.expand(row);
          }
        }
        break;
      case 'ArrowLeft':
        if (row.kind === 'did' && row.expanded) {
          tree.collapse(row);
        } else {
          const parentKey = row.kind === 'did' ? row.parentKey : null;
          const parent = rows.findIndex(
            r => r.kind === 'did' && r.key === parentKey
          );
          if (parent >= 0) {
            move(parent);
          }
        }
        break;
      case ' ':
        if (row.kind === 'did') {
          props.onSelect(row.did);
        }
        break;
      case 'Enter':
        if (row.kind === 'did') {
          props.onSelect(row.did);
          props.onOpen(row.did);
        } else if (row.kind === 'more') {
          void row.list.loadMore();
        } else if (row.kind === 'earlier') {
          void row.list.loadEarlier();
        } else if (row.kind === 'error') {
          void row.list.retry();
        }
        break;
      case 'F10':
      case 'ContextMenu': {
        const node = document.getElementById(rowDomId(current));
        if ((event.key === 'F10' && !event.shiftKey) || !node) {
          handled = false;
          break;
        }
        if (row.kind === 'did') {
          props.onSelect(row.did);
        }
        openRowMenu(node);
        break;
      }
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const data: IRowData = {
    rows,
    props,
    active: current,
    setActive,
    focused,
    tree: outer,
    jump
  };
  return (
    <div
      ref={outer}
      className="jp-datalake-tree"
      role="tree"
      aria-label={props.label}
      // A tab stop only while no row can take the focus.
      tabIndex={rows.length === 0 ? 0 : -1}
      onKeyDown={onKeyDown}
      onFocus={() => {
        focused.current = true;
      }}
      onBlur={event => {
        focused.current = outer.current?.contains(
          event.relatedTarget as Node | null
        )
          ? true
          : false;
      }}
      data-row-count={rows.length}
    >
      {rows.length === 0 ? (
        <div className="jp-datalake-muted jp-datalake-empty">
          {tree.root.loading ? trans.__('Searching…') : trans.__('No match.')}
        </div>
      ) : (
        <FixedSizeList
          ref={list}
          outerElementType={Scroller}
          height={height}
          width="100%"
          itemCount={rows.length}
          itemSize={ROW_HEIGHT}
          itemData={data}
          itemKey={(index, d) => d.rows[index].key}
          overscanCount={10}
          onItemsRendered={({ overscanStartIndex, overscanStopIndex }) => {
            for (let i = overscanStartIndex; i <= overscanStopIndex; i++) {
              const row = rows[i];
              if (row?.kind === 'more') {
                void row.list.loadMore();
              }
            }
          }}
        >
          {Row}
        </FixedSizeList>
      )}
    </div>
  );
}
