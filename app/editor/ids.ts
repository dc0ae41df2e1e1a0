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
