'use client';
/**
 * Editor-wide commands that need more than the store: the canvas viewport
 * (jump to a stage), the system clipboard, dialogs and notices. Provided by
 * the editor; used by the canvas, the panels and the keyboard shortcuts.
 */
import { createContext, useContext } from 'react';

export type JumpTarget = { nodeId?: string | null; edgeId?: string | null; path?: string };

export type EditorUi = {
  /** Opens "Connect to…" for this stage (keyboard-only connecting). */
  openConnect(fromId: string): void;
  /** Selects, centres and opens the configuration of a stage or connection. */
  jumpTo(target: JumpTarget): void;
  copy(): void;
  cut(): void;
  paste(at?: { x: number; y: number }): void;
  duplicate(): void;
  autoLayout(): void;
  /** A short message in the corner (screen readers hear it too). */
  notify(message: string, tone?: 'info' | 'error' | 'success'): void;
  openShortcuts(): void;
};

export const EditorUiContext = createContext<EditorUi | null>(null);

export function useEditorUi(): EditorUi {
  const ui = useContext(EditorUiContext);
  if (!ui) throw new Error('useEditorUi must be used inside the editor');
  return ui;
}

const MEMORY_KEY = 'pipewright.clipboard';
let memory: string | null = null;

/** Keeps a copy for browsers that refuse the system clipboard (and for other tabs). */
export function rememberClipboard(text: string) {
  memory = text;
  try {
    localStorage.setItem(MEMORY_KEY, text);
  } catch {
    // private mode or full storage: the in-memory copy still works in this tab
  }
}

export function recalledClipboard(): string | null {
  if (memory) return memory;
  try {
    return localStorage.getItem(MEMORY_KEY);
  } catch {
    return null;
  }
}

export async function writeSystemClipboard(text: string): Promise<void> {
  rememberClipboard(text);
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // permission refused: the remembered copy is used for pasting
  }
}

export async function readSystemClipboard(): Promise<string | null> {
  try {
    return await navigator.clipboard.readText();
  } catch {
    return null;
  }
}

/** True when keyboard focus is in something that takes text (shortcuts stay out of its way). */
export function isTextTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
  }
  return false;
}
