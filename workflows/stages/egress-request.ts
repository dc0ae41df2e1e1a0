/**
 * HTTP requests of stages under the egress policy (Node only; see egress.ts).
 *
 * 1. The host is resolved once, every address it resolves to is checked, and
 *    the connection goes to the checked address (a `lookup` that answers only
 *    that address): a DNS answer that changes between check and connect
 *    (rebinding) cannot move the request to the worker's own network. TLS
 *    still verifies the certificate for the host name (SNI unchanged).
 * 2. Redirects are followed only when asked (http-check: up to 5), and every
 *    hop is resolved and checked again; credentials are dropped when a redirect
 *    leaves the origin.
 * 3. A refused target is a `StageFailure` (never retried) whose message names
 *    the address and the variable that would allow it.
 * 4. The answer's body is read only when the caller needs it (and at most
 *    `MAX_BODY_BYTES`); otherwise it is drained and only its size is kept.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { decideEgress, egressPolicyFromEnv, EGRESS_ALLOW_VAR, type EgressPolicy } from './egress';
import { StageFailure } from './executor-types';

/** Most of an answer's body kept in memory (the rest is counted, not kept). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export class EgressRefused extends StageFailure {
  constructor(reason: string) {
    super(reason, 'StageFailed');
  }
}

export type EgressAnswer = {
  status: number;
  /** Body text (empty unless `readBody`). */
  body: string;
  /** Bytes received in the body. */
  size: number;
  /** The URL that answered (after redirects). */
  url: URL;
};

export type EgressRequest = {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  readBody: boolean;
  /** Follow redirects (each hop checked); default false: a 3xx is the answer. */
  followRedirects?: boolean;
};

type Resolver = (host: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** The policy from the executor's environment; a bad allow-list fails the stage with the variable's problems. */
export function policyFromStageEnv(env: Readonly<Record<string, string | undefined>>): EgressPolicy {
  const policy = egressPolicyFromEnv(env);
  if (policy.errors.length > 0) throw new StageFailure(`${EGRESS_ALLOW_VAR} on the worker is invalid: ${policy.errors.join('; ')}`, 'InvalidConfig');
  return policy;
}

/** Host name of a URL as the policy sees it (IPv6 without brackets). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * Resolves `url`'s host and checks every address against the policy; the
 * address to connect to, or an `EgressRefused`.
 */
export async function checkedAddress(url: URL, policy: EgressPolicy, resolve: Resolver = systemResolver): Promise<LookupAddress> {
  const host = hostOf(url);
  const port = defaultPort(url);
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await resolve(host);
  if (addresses.length === 0) throw Object.assign(new Error(`${host}: no address`), { code: 'ENOTFOUND' });
  // Every address, not just the first: a name that also resolves to a private
  // address is refused rather than connected to by luck of the order.
  for (const a of addresses) {
    const decision = decideEgress(policy, { host, port, address: a.address });
    if (!decision.ok) throw new EgressRefused(decision.reason);
  }
  return addresses[0]!;
}

/** One request under the policy; network errors are thrown as they come (with their `code`). */
export async function egressRequest(url: URL, req: EgressRequest, policy: EgressPolicy, resolve: Resolver = systemResolver): Promise<EgressAnswer> {
  let current = url;
  let method = req.method;
  let body = req.body;
  const headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    const answer = await once(current, { ...req, method, body, headers }, await checkedAddress(current, policy, resolve));
    const location = answer.location;
    if (!req.followRedirects || !location || answer.status < 300 || answer.status >= 400 || answer.status === 304) return answer;
    if (hop >= MAX_REDIRECTS) throw new StageFailure(`${url.origin}: more than ${MAX_REDIRECTS} redirects`, 'StageFailed');
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      return answer;
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') return answer;
    // As browsers do: 303 (and 301/302 after a POST) continue as GET without a body.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    if (next.origin !== current.origin) {
      for (const name of Object.keys(headers)) if (/^(authorization|cookie|proxy-authorization)$/i.test(name)) delete headers[name];
    }
    current = next;
  }
}

function once(url: URL, req: EgressRequest, pinned: LookupAddress): Promise<EgressAnswer & { location?: string }> {
  // The connection may only go to the checked address, whatever DNS says now.
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const options: RequestOptions = {
    method: req.method,
    host: hostOf(url),
    port: defaultPort(url),
    path: `${url.pathname}${url.search}`,
    headers: { ...req.headers, ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}) },
    signal: req.signal,
    lookup,
    // No connection reuse: every request is checked and pinned on its own.
    agent: false,
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = send(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (req.readBody && kept < MAX_BODY_BYTES) {
          const part = chunk.subarray(0, MAX_BODY_BYTES - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: req.readBody ? Buffer.concat(chunks).toString('utf8') : '',
          size,
          url,
          location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
        }),
      );
      res.on('error', reject);
      // A connection that closes mid-body settles the request too (a no-op after 'end').
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('connection closed unexpectedly'), { code: 'ECONNRESET' }));
      });
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

/** A short description of a network error (`connection refused`, `host not found`, …). */
export function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  switch (e?.code ?? e?.cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'host not found';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'connection closed unexpectedly';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
  }
  return e?.cause?.message ?? e?.message ?? String(err);
}
