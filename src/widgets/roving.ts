import type React from 'react';
import { useState } from 'react';

const NEXT = ['ArrowDown', 'ArrowRight'];
const PREVIOUS = ['ArrowUp', 'ArrowLeft'];

/**
 * Roving tabindex for a list of buttons: the list is one tab stop, arrows (and Home/End)
 * move between its items. Items carry `data-roving`; give each `tabIndex={tabIndex(i)}`.
 */
export function useRovingFocus(count: number): {
  tabIndex: (index: number) => 0 | -1;
  onKeyDown: (event: React.KeyboardEvent<HTMLElement>) => void;
  onFocus: (index: number) => void;
} {
  const [active, setActive] = useState(0);
  const current = Math.min(active, Math.max(count - 1, 0));
  return {
    tabIndex: index => (index === current ? 0 : -1),
    onFocus: setActive,
    onKeyDown: event => {
      let next: number;
      if (NEXT.includes(event.key)) {
        next = Math.min(count - 1, current + 1);
      } else if (PREVIOUS.includes(event.key)) {
        next = Math.max(0, current - 1);
      } else if (event.key === 'Home') {
        next = 0;
      } else if (event.key === 'End') {
        next = count - 1;
      } else {
        return;
      }
      event.preventDefault();
      const items =
        event.currentTarget.querySelectorAll<HTMLElement>('[data-roving]');
      items[next]?.focus();
      setActive(next);
    }
  };
}
