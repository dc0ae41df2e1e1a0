import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { transformer, TRANSPORT_DEPTH } from '@/server/api/transformer';
import { clipDepth, findTooDeep } from '@/workflows/model';

function nest(depth: number, leaf: unknown = 'v'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe('nesting depth without recursion', () => {
  it('finds the first place deeper than the limit, with its path', () => {
    expect(findTooDeep({ a: [1, { b: {} }] }, 3)).toEqual({ path: ['a', 1, 'b'] });
    expect(findTooDeep({ a: [1, { b: {} }] }, 4)).toBeNull();
    expect(findTooDeep(nest(100_000), 64)?.path).toHaveLength(64);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(findTooDeep(cyclic, 10)).not.toBeNull();
  });

  it('clips only what is too deep and keeps keys as keys', () => {
    const shallow = { a: [1, 2] };
    expect(clipDepth(shallow, 5)).toBe(shallow);
    expect(clipDepth({ a: { b: { c: 1 } }, d: 2 }, 2)).toEqual({ a: { b: null }, d: 2 });
    const withProto = clipDepth(JSON.parse('{"__proto__": {"x": {"y": 1}}}') as object, 2);
    expect(Object.getPrototypeOf(withProto)).toBe(Object.prototype);
    expect(Object.keys(withProto)).toEqual(['__proto__']);
  });
});

describe('the tRPC transformer', () => {
  it('carries ordinary values exactly like superjson', () => {
    const value = { when: new Date(0), none: undefined, list: [1, 'two', { three: 3n }], set: new Set([1]) };
    const wire = transformer.serialize(value);
    expect(wire).toEqual(superjson.serialize(value));
    expect(transformer.deserialize(JSON.parse(JSON.stringify(wire)))).toEqual(value);
  });

  it('reads a request nested 10,000 levels deep instead of overflowing the stack', () => {
    const deep = { spec: nest(10_000) };
    expect(() => superjson.serialize(deep)).toThrow(/call stack/);
    const wire = JSON.parse(JSON.stringify(transformer.serialize(deep))) as unknown;
    const back = transformer.deserialize(wire);
    expect(findTooDeep(back, TRANSPORT_DEPTH - 1)).not.toBeNull();
    expect(findTooDeep(back, TRANSPORT_DEPTH + 1)).toBeNull();
    // What a script sends: plain JSON without superjson's meta.
    let text = '';
    for (let i = 0; i < 10_000; i++) text += '{"a":';
    text += '1' + '}'.repeat(10_000);
    expect(findTooDeep(transformer.deserialize(JSON.parse(`{"json":${text}}`)), TRANSPORT_DEPTH + 1)).toBeNull();
  });
});
