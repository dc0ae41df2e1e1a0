/**
 * Registers Pipewright's custom search attributes on a namespace.
 *
 * 1. Used by the start script (embedded dev server or an external cluster) and by
 *    the integration tests' global setup.
 * 2. One `operatorService.addSearchAttributes` call per attribute; "already
 *    exists" (older servers) is fine, newer servers skip existing ones silently.
 *    Transient failures (UNAVAILABLE, a concurrent registration) are retried.
 * 3. Registration is eventually consistent: afterwards `listSearchAttributes` is
 *    polled until every attribute is visible with the right type.
 * 4. A name registered with another type is an error that names it.
 */
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
// @temporalio/proto is CommonJS without named-export hints: take the default export (works in Node ESM, tsx, vitest and bundlers).
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const TYPE_TO_PROTO: Record<SearchAttributeType, IndexedValueType> = {
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** `--search-attribute Name=Type` spelling of the Temporal CLI. */
export const CLI_SEARCH_ATTRIBUTE_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** What `defineSearchAttributeKey` returns. */
export interface SearchAttributeDef {
  name: string;
  type: SearchAttributeType;
}

export function toIndexedValueType(type: SearchAttributeType): IndexedValueType {
  return TYPE_TO_PROTO[type];
}

export interface RegisterSearchAttributesOptions {
  /** Attributes to register. Default: Pipewright's `SEARCH_ATTRIBUTES`. */
  attributes?: readonly SearchAttributeDef[];
  /** How long to wait for them to become visible. Default 30 s. */
  timeoutMs?: number;
}

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAlreadyExists(err: unknown): boolean {
  return isGrpcServiceError(err) && (err.code === GRPC_ALREADY_EXISTS || /already (exists|registered)/i.test(err.details ?? err.message));
}

function isTransient(err: unknown): boolean {
  if (!isGrpcServiceError(err)) return false;
  return err.code === GRPC_UNAVAILABLE || err.code === GRPC_DEADLINE_EXCEEDED || /race condition|concurrent/i.test(err.details ?? err.message);
}

/**
 * Adds the attributes to `namespace` and waits until `listSearchAttributes`
 * shows all of them. Returns the names registered.
 */
export async function registerSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
  opts: RegisterSearchAttributesOptions = {},
): Promise<string[]> {
  const attributes = opts.attributes ?? SEARCH_ATTRIBUTES;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);

  const current = await listCustom(connection, namespace);
  for (const attr of attributes) {
    const want = toIndexedValueType(attr.type);
    const have = current[attr.name];
    if (have === want) continue;
    if (have !== undefined) {
      throw new Error(
        `Search attribute ${attr.name} already exists on namespace "${namespace}" with type ${IndexedValueType[have]}, ` +
          `but Pipewright needs ${attr.type}. Remove it (temporal operator search-attribute remove --name ${attr.name}) and restart.`,
      );
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [attr.name]: want } });
        break;
      } catch (err) {
        if (isAlreadyExists(err)) break;
        if (isTransient(err) && attempt < 10 && Date.now() < deadline) {
          await sleep(Math.min(200 * attempt, 2000));
          continue;
        }
        throw err;
      }
    }
  }

  // Eventually consistent: wait until every attribute is listed with its type.
  for (;;) {
    const listed = await listCustom(connection, namespace).catch((err: unknown): Record<string, IndexedValueType> => {
      if (isTransient(err)) return {};
      throw err;
    });
    const missing = attributes.filter((a) => listed[a.name] !== toIndexedValueType(a.type));
    if (missing.length === 0) return attributes.map((a) => a.name);
    if (Date.now() >= deadline) {
      throw new Error(
        `Search attributes not visible on namespace "${namespace}" after registration: ${missing.map((a) => a.name).join(', ')}`,
      );
    }
    await sleep(250);
  }
}

async function listCustom(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<Record<string, IndexedValueType>> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  return (res.customAttributes ?? {}) as Record<string, IndexedValueType>;
}
