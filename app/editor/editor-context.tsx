'use client';
/** The editor store in React: one store per open editor, read with narrow selectors. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { EditorActions, EditorState, EditorStore } from './store';

export const EditorStoreContext = createContext<EditorStore | null>(null);

export function useEditorStore(): EditorStore {
  const store = useContext(EditorStoreContext);
  if (!store) throw new Error('useEditorStore must be used inside <EditorStoreContext.Provider>');
  return store;
}

/** Subscribes to one slice of the editor state; re-renders only when that slice changes (Object.is). */
export function useEditor<T>(selector: (s: EditorState) => T): T {
  return useStore(useEditorStore(), selector);
}

/** The actions never change; components that only act never re-render. */
export function useEditorActions(): EditorActions {
  return useEditorStore().getState().actions;
}
