/**
 * When single-key shortcuts (c, Delete, Backspace, /, ?, Shift+L, …) may fire.
 * Only while the person works on the canvas: never while typing, and not after
 * they worked in a side panel or a form control, even when focus then fell to
 * the page body (a removed chip, a closed popover) — until they come back to
 * the canvas (a click or focus there). Modifier shortcuts (Ctrl+Z, Ctrl+S) are
 * not affected.
 */
export type ShortcutScope = {
  /** A pointer press or focus change: on the canvas, or elsewhere (a panel, a form control, a toolbar). */
  interaction(where: 'canvas' | 'elsewhere'): void;
  /** Whether a single-key shortcut may act on this key press. */
  allowsSingleKey(target: { isText: boolean; inCanvas: boolean }): boolean;
};

export function createShortcutScope(): ShortcutScope {
  let onCanvas = true;
  return {
    interaction(where) {
      onCanvas = where === 'canvas';
    },
    allowsSingleKey({ isText, inCanvas }) {
      if (isText) return false;
      return inCanvas || onCanvas;
    },
  };
}
