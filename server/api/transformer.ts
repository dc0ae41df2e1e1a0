/**
 * The tRPC data transformer: superjson, made safe for documents nested
 * thousands of levels deep.
 *
 * superjson walks values recursively, so a pipeline document nested 10,000
 * levels deep made it throw "Maximum call stack size exceeded" before any
 * procedure ran (and, in the browser, before the request was even sent).
 * Inputs deeper than `TRANSPORT_DEPTH` are clipped there (workflows/model/depth.ts):
 * the clipped document is still far deeper than any limit of the model, so the
 * validator answers with the same issue it gives a document just over its
 * limit, and the procedure refuses it as usual. Nothing the API accepts comes
 * anywhere near this depth. Outputs are the server's own values and go
 * through superjson unchanged.
 */
import superjson from 'superjson';
import { clipDepth, findTooDeep } from '../../workflows/model/depth';

/** Deepest nesting a request may carry whole; deeper parts arrive as `null`. */
export const TRANSPORT_DEPTH = 256;

type Wire = { json?: unknown; meta?: unknown };

export const transformer = {
  serialize(value: unknown) {
    return superjson.serialize(clipDepth(value, TRANSPORT_DEPTH));
  },
  deserialize(wire: unknown) {
    if (wire === null || typeof wire !== 'object' || !findTooDeep((wire as Wire).json, TRANSPORT_DEPTH)) {
      return superjson.deserialize(wire as Parameters<typeof superjson.deserialize>[0]);
    }
    // superjson's meta only describes Dates, undefined, Maps… of the sender's value; a document
    // this deep came from a script or an import, not from our client, and is read as plain JSON.
    return clipDepth((wire as Wire).json, TRANSPORT_DEPTH);
  },
} satisfies { serialize: (value: unknown) => unknown; deserialize: (wire: unknown) => unknown };
