/**
 * Ids for new stages and connections: readable, valid identifiers
 * (`deploy`, `deploy-2`, `build-test`), unique within a pipeline.
 */
import { LIMITS } from '@/workflows/model';

/** Turns any text into something `identifierSchema` accepts (`Smoke test!` → `smoke-test`). */
export function slugify(text: string, fallback = 'stage'): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-0-9]+|-+$/g, '');
  return (slug || fallback).slice(0, LIMITS.idLength - 4);
}

/** `base`, or `base-2`, `base-3`, … whichever is not taken yet; adds the result to `taken`. */
export function uniqueId(base: string, taken: Set<string>, maxLength: number = LIMITS.idLength): string {
  const root = base.slice(0, maxLength - 4) || 'stage';
  let id = root;
  for (let n = 2; taken.has(id); n++) id = `${root}-${n}`;
  taken.add(id);
  return id;
}

/** A new connection id from its ends (`build-test`). */
export function edgeIdFor(from: string, to: string, taken: Set<string>): string {
  return uniqueId(`${from}-${to}`, taken, LIMITS.idLength * 2 + 16);
}

/**
 * How many other stages refer to stage `id` by id (`${{ stages.<id>… }}`, `$PW_OUTPUT_<id>_…`): found by
 * the same remapping a rename applies, so "referenced" means exactly "a rename would have to change them".
 * Connections do not count (they follow a rename by themselves).
 */
export function idReferences(nodes: readonly { id: string; config: unknown }[], id: string, remap: (value: unknown, ids: ReadonlyMap<string, string>) => unknown): number {
  const probe = new Map([[id, `${id}-renamed-probe`]]);
  return nodes.filter((n) => n.id !== id && JSON.stringify(remap(n.config, probe)) !== JSON.stringify(n.config)).length;
}

/**
 * The id a stage's name suggests (`Deploy to production` → `deploy-to-production`), unique among the
 * other stages' ids; the stage's own id counts as free.
 */
export function idForName(name: string, id: string, allIds: Iterable<string>): string {
  const taken = new Set([...allIds].filter((x) => x !== id));
  return uniqueId(slugify(name), taken);
}
