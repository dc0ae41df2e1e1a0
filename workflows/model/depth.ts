/**
 * Nesting depth of untrusted documents, measured without recursion.
 *
 * Recursive walkers (JSON.stringify, superjson, structuredClone, zod) overflow
 * the stack somewhere between 1,000 and 10,000 levels, and "Maximum call stack
 * size exceeded" is no answer for a person. Everything here walks with an
 * explicit stack and never descends further than the limit it is asked about,
 * so it costs at most one pass over the document however deep it is.
 */

/** Where a value is nested too deeply: the path (keys and indexes) of the first container at the limit. */
export type TooDeep = { path: (string | number)[] };

/**
 * The first place where objects/arrays inside `value` are nested more than
 * `max` levels deep, or null when they are not. `value` itself is level 0; a
 * cyclic value counts as infinitely deep.
 */
export function findTooDeep(value: unknown, max: number): TooDeep | null {
  const stack: { v: unknown; depth: number; path: (string | number)[] }[] = [{ v: value, depth: 0, path: [] }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return { path };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: [...path, i] });
    } else {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ v: entries[i]![1], depth: depth + 1, path: [...path, entries[i]![0]] });
    }
  }
  return null;
}

/** True when objects/arrays inside `value` are nested more than `max` levels deep. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return findTooDeep(value, max) !== null;
}

/**
 * A copy of a JSON-like value with everything below level `max` replaced by
 * `null` (the same value when it is not that deep). The result is still deeper
 * than any limit below `max`, so a validator that sees it reports the same
 * issue it would for the original, and recursive code can handle it.
 */
export function clipDepth<T>(value: T, max: number): T {
  if (!nestedDeeperThan(value, max)) return value;
  const root: { value: unknown } = { value: undefined };
  const stack: { v: unknown; depth: number; set: (copy: unknown) => void }[] = [{ v: value, depth: 0, set: (c) => (root.value = c) }];
  while (stack.length > 0) {
    const { v, depth, set } = stack.pop()!;
    if (v === null || typeof v !== 'object') {
      set(v);
    } else if (depth >= max) {
      set(null);
    } else if (Array.isArray(v)) {
      const copy: unknown[] = new Array<unknown>(v.length);
      set(copy);
      v.forEach((child, i) => stack.push({ v: child, depth: depth + 1, set: (c) => (copy[i] = c) }));
    } else {
      const copy: Record<string, unknown> = {};
      set(copy);
      // defineProperty: a `__proto__` key stays a key and never becomes the copy's prototype.
      for (const [key, child] of Object.entries(v)) {
        stack.push({ v: child, depth: depth + 1, set: (c) => Object.defineProperty(copy, key, { value: c, enumerable: true, writable: true, configurable: true }) });
      }
    }
  }
  return root.value as T;
}
