import type { TranslationBundle } from '@jupyterlab/translation';
import {
  caretDownIcon,
  caretRightIcon,
  fileIcon,
  folderIcon
} from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';
import { FixedSizeList } from 'react-window';
import type { ListChildComponentProps } from 'react-window';

import { formatBytes } from '../format';
import type { BrowseTree, TreeRow } from '../tree';
import type { IDID } from '../tokens';
import { DRAG_THRESHOLD } from '../notebook/drop';

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
  /** Show a DID's details. */
  onSelect: (did: IDID) => void;
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
}

function Row({
  index,
  style,
  data
}: ListChildComponentProps<IRowData>): JSX.Element {
  const { rows, props, active, setActive } = data;
  const { trans, tree } = props;
  const row = rows[index];
  const indent = { ...style, paddingLeft: 4 + row.depth * 16 };
  const activeClass = index === active ? ' jp-mod-active' : '';
  if (row.kind === 'loading') {
    return (
      <div
        style={indent}
        id={rowDomId(index)}
        role="treeitem"
        aria-level={row.depth + 1}
        className={`jp-datalake-row jp-datalake-row-loading${activeClass}`}
      >
        {trans.__('Loading…')}
      </div>
    );
  }
  if (row.kind === 'more') {
    return (
      <div
        style={indent}
        id={rowDomId(index)}
        role="treeitem"
        aria-level={row.depth + 1}
        className={`jp-datalake-row jp-datalake-row-more${activeClass}`}
        onClick={() => void row.list.loadMore()}
      >
        {trans.__('%1 loaded, more on scroll', row.list.items.length)}
      </div>
    );
  }
  if (row.kind === 'error') {
    return (
      <div
        style={indent}
        id={rowDomId(index)}
        role="treeitem"
        aria-level={row.depth + 1}
        data-reason={row.error.reason}
        className={`jp-datalake-row jp-datalake-row-error${activeClass}`}
        title={row.error.message}
      >
        <span className="jp-datalake-row-name">{row.error.message}</span>
        <button
          type="button"
          className="jp-datalake-link"
          onClick={() => void row.list.loadMore()}
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
      {...{ row, index, style: indent, selected, activeClass, props }}
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
      <span className="jp-datalake-row-name">
        {row.depth === 0 ? did.did : did.name}
      </span>
      <span className="jp-datalake-row-size">
        {did.type === 'FILE'
          ? formatBytes(did.bytes)
          : did.length !== null && did.length !== undefined
            ? trans._n('%1 file', '%1 files', did.length)
            : ''}
      </span>
    </DidRow>
  );
}

/**
 * A DID row: selection on click, drag into notebooks after a few pixels of movement.
 */
function DidRow(p: {
  row: Extract<TreeRow, { kind: 'did' }>;
  index: number;
  style: React.CSSProperties;
  selected: boolean;
  activeClass: string;
  props: ITreeViewProps;
  onActivate: () => void;
  children: React.ReactNode;
}): JSX.Element {
  const { row, index, selected, props } = p;
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
      style={p.style}
      id={rowDomId(index)}
      role="treeitem"
      aria-level={row.depth + 1}
      aria-expanded={did.type !== 'FILE' ? row.expanded : undefined}
      aria-selected={selected}
      data-did={did.did}
      data-type={did.type}
      title={did.did}
      className={`jp-datalake-row${selected ? ' jp-mod-selected' : ''}${p.activeClass}`}
      onClick={() => {
        p.onActivate();
        props.onSelect(did);
      }}
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
 * A virtualized tree over the browse state: only visible rows are in the DOM, and the
 * next page of a list is fetched when its "more" row scrolls into view.
 * Keyboard: arrows move, Right/Left expand/collapse, Enter shows details.
 */
export function TreeView(props: ITreeViewProps): JSX.Element {
  const { tree, trans } = props;
  const rows = tree.rows;
  const [active, setActive] = useState(0);
  const outer = useRef<HTMLDivElement>(null);
  const list = useRef<FixedSizeList>(null);
  const height = useHeight(outer);
  const current = Math.min(active, Math.max(rows.length - 1, 0));

  const move = (index: number) => {
    const next = Math.max(0, Math.min(rows.length - 1, index));
    setActive(next);
    list.current?.scrollToItem(next);
  };

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
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
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
      case 'Enter':
      case ' ':
        if (row.kind === 'did') {
          props.onSelect(row.did);
        } else if (row.kind === 'more' || row.kind === 'error') {
          void row.list.loadMore();
        }
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  const data: IRowData = { rows, props, active: current, setActive };
  return (
    <div
      ref={outer}
      className="jp-datalake-tree"
      role="tree"
      aria-label={props.label}
      aria-activedescendant={rows.length > 0 ? rowDomId(current) : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
      data-row-count={rows.length}
    >
      {rows.length === 0 ? (
        <div className="jp-datalake-muted jp-datalake-empty">
          {tree.root.loading ? trans.__('Searching…') : trans.__('No match.')}
        </div>
      ) : (
        <FixedSizeList
          ref={list}
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
