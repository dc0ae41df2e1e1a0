/**
 * Size limits of a pipeline document. They keep a single run inside Temporal's
 * history limits (2 MB per payload, 51,200 events) and keep the editor usable.
 */
export const LIMITS = {
  maxNodes: 2000,
  maxEdges: 6000,
  maxParameters: 100,
  idLength: 64,
  nameLength: 120,
  descriptionLength: 2000,
  /** Longest single string value in a stage config or a parameter value. */
  valueLength: 16_000,
  /** Largest serialized config of one stage, in characters. */
  configSize: 64_000,
  /** Deepest nesting of objects and arrays inside a stage config (deeper values overflow the stack of recursive walkers). */
  configDepth: 64,
  /**
   * Deepest nesting anywhere in a pipeline document: a stage config at its
   * deepest plus the few levels of the document around it (`nodes[i].config`).
   */
  documentDepth: 72,
  /** Largest serialized spec, in characters (well below Temporal's 2 MB payload limit). */
  specSize: 1_500_000,
  maxAttempts: 20,
  maxTimeoutSeconds: 7 * 24 * 3600,
  maxRunTimeoutSeconds: 90 * 24 * 3600,
} as const;
