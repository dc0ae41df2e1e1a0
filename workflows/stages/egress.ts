/**
 * Where HTTP-speaking stages (http-check, webhook) may connect: the egress
 * policy, shared by their executors. Pure: no I/O (resolving and connecting are
 * in `egress-request.ts`), so every rule here is table-tested.
 *
 * 1. By default a stage may reach only public addresses. Refused: loopback
 *    (127/8, ::1), unspecified (0/8, ::), link-local (169.254/16 with the cloud
 *    metadata service, fe80::/10), private (10/8, 172.16/12, 192.168/16,
 *    fc00::/7, fec0::/10), carrier-grade NAT (100.64/10), multicast and reserved
 *    ranges — and the same IPv4 ranges written as IPv6 (`::ffff:127.0.0.1`,
 *    `::127.0.0.1`, NAT64 `64:ff9b::7f00:1`). A stage is authored by any author;
 *    what listens on the worker's own network (Temporal's HTTP API and UI, the
 *    app, cloud metadata) must not become reachable through one.
 * 2. Admins allow targets with `PIPEWRIGHT_STAGE_EGRESS_ALLOW`: comma-separated
 *    `host:port`, `host`, `CIDR`, `CIDR:port` (IPv6 in brackets when a port
 *    follows: `[fd00::/8]:443`). A host entry matches the URL's host name as
 *    written; a CIDR entry matches the resolved address.
 * 3. Even allow-listed, the configured Temporal ports (frontend, UI, HTTP API)
 *    stay refused unless an entry names that port explicitly: allowing
 *    `127.0.0.1` for a test service must not open the workflow engine.
 */

/** The variable admins set; declared (and documented) in server/env.ts. */
export const EGRESS_ALLOW_VAR = 'PIPEWRIGHT_STAGE_EGRESS_ALLOW';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'unspecified'
  | 'link-local'
  | 'private'
  | 'carrier-grade NAT'
  | 'multicast'
  | 'reserved'
  | 'invalid';

/** An IP address as bytes (4 for IPv4, 16 for IPv6). */
type Bytes = number[];

export type EgressRule =
  | { kind: 'host'; host: string; port?: number; text: string }
  | { kind: 'cidr'; bytes: Bytes; prefix: number; port?: number; text: string };

export type EgressPolicy = {
  allow: EgressRule[];
  /** Ports of the Temporal frontend, UI and HTTP API: refused unless an allow entry names the port. */
  protectedPorts: number[];
};

// ── Addresses ────────────────────────────────────────────────────────────────

/** Dotted-quad IPv4 (strict: four decimal parts; URL parsing has already normalised other forms). */
export function parseIPv4(text: string): Bytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: Bytes = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

/** IPv6 (with `::`, an embedded dotted quad, brackets and a zone id tolerated) as 16 bytes. */
export function parseIPv6(text: string): Bytes | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (!t.includes(':')) return undefined;
  // A trailing dotted quad (::ffff:127.0.0.1) stands for the last two groups.
  const lastColon = t.lastIndexOf(':');
  const last = t.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    t = `${t.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const groupsWanted = 8;
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  let groups: string[];
  if (halves.length === 2) {
    const missing = groupsWanted - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== groupsWanted) return undefined;
  const bytes: Bytes = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return bytes;
}

export function parseIP(text: string): Bytes | undefined {
  return parseIPv4(text) ?? parseIPv6(text);
}

function inRange(bytes: Bytes, net: Bytes, prefix: number): boolean {
  if (bytes.length !== net.length) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

const V4_RANGES: [string, number, AddressClass][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['169.254.0.0', 16, 'link-local'],
  ['192.0.0.0', 24, 'reserved'],
  ['198.18.0.0', 15, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6_RANGES: [string, number, AddressClass][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fe80::', 10, 'link-local'],
  ['fc00::', 7, 'private'],
  ['fec0::', 10, 'private'],
  ['ff00::', 8, 'multicast'],
  ['100::', 64, 'reserved'],
];

/** IPv6 forms that carry an IPv4 address in their last 32 bits: mapped, compatible, NAT64, 6to4 (bits 16–48). */
function embeddedIPv4(bytes: Bytes): Bytes | undefined {
  if (bytes.length !== 16) return undefined;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12); // ::ffff:a.b.c.d
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1)) return bytes.slice(12); // ::a.b.c.d (deprecated)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return bytes.slice(12); // 64:ff9b::/96
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6); // 2002::/16 (6to4)
  return undefined;
}

/** What kind of address `ip` is; anything but `public` is refused unless allow-listed. */
export function classifyAddress(ip: string): AddressClass {
  const bytes = parseIP(ip);
  if (!bytes) return 'invalid';
  return classifyBytes(bytes);
}

function classifyBytes(bytes: Bytes): AddressClass {
  if (bytes.length === 4) {
    for (const [net, prefix, cls] of V4_RANGES) if (inRange(bytes, parseIPv4(net)!, prefix)) return cls;
    return 'public';
  }
  const v4 = embeddedIPv4(bytes);
  if (v4) return classifyBytes(v4);
  for (const [net, prefix, cls] of V6_RANGES) if (inRange(bytes, parseIPv6(net)!, prefix)) return cls;
  return 'public';
}

// ── The allow-list ───────────────────────────────────────────────────────────

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function parseRule(entry: string): EgressRule | string {
  let target = entry;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return `"${entry}": missing "]"`;
    target = entry.slice(1, close);
    const after = entry.slice(close + 1);
    if (after) {
      if (!after.startsWith(':')) return `"${entry}": expected ":port" after "]"`;
      portText = after.slice(1);
    }
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    [target, portText] = entry.split(':') as [string, string];
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = parsePort(portText);
    if (port === undefined) return `"${entry}": "${portText}" is not a port (1–65535)`;
  }
  const slash = target.indexOf('/');
  const addressText = slash >= 0 ? target.slice(0, slash) : target;
  const bytes = parseIP(addressText);
  if (bytes) {
    const max = bytes.length * 8;
    const prefixText = slash >= 0 ? target.slice(slash + 1) : String(max);
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= max)) return `"${entry}": "/${prefixText}" is not a prefix length (0–${max})`;
    return { kind: 'cidr', bytes, prefix, port, text: entry };
  }
  if (slash >= 0) return `"${entry}": "${addressText}" is not an IP address`;
  const host = target.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
    return `"${entry}": not a host name, IP address or CIDR`;
  }
  return { kind: 'host', host, port, text: entry };
}

/** Parses the allow-list (`host:port`, `host`, `CIDR`, `CIDR:port`, comma- or space-separated); errors name each bad entry. */
export function parseEgressAllowList(text: string | undefined): { rules: EgressRule[]; errors: string[] } {
  const rules: EgressRule[] = [];
  const errors: string[] = [];
  for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const r = parseRule(entry);
    if (typeof r === 'string') errors.push(r);
    else rules.push(r);
  }
  return { rules, errors };
}

function portOf(address: string | undefined): number | undefined {
  const m = address ? /:(\d{1,5})\/?$/.exec(address) : null;
  return m ? parsePort(m[1]!) : undefined;
}

/**
 * The policy from the worker's environment: the allow-list, and the Temporal
 * ports to protect (defaults as in server/env.ts: 7233, 8233, 7243, plus the
 * ports of TEMPORAL_ADDRESS and TEMPORAL_UI_URL).
 */
export function egressPolicyFromEnv(env: Readonly<Record<string, string | undefined>>): EgressPolicy & { errors: string[] } {
  const { rules, errors } = parseEgressAllowList(env[EGRESS_ALLOW_VAR]);
  const num = (v: string | undefined, fallback: number) => (v && /^\d+$/.test(v) ? Number(v) : fallback);
  const ports = [
    num(env.TEMPORAL_DEV_PORT, 7233),
    num(env.TEMPORAL_DEV_UI_PORT, 8233),
    num(env.TEMPORAL_DEV_HTTP_PORT, 7243),
    portOf(env.TEMPORAL_ADDRESS),
    portOf(env.TEMPORAL_UI_URL),
  ].filter((p): p is number => p !== undefined && p > 0);
  return { allow: rules, protectedPorts: [...new Set(ports)], errors };
}

// ── The decision ─────────────────────────────────────────────────────────────

export type EgressTarget = {
  /** Host name as written in the URL (lower case, brackets removed for IPv6). */
  host: string;
  port: number;
  /** The address the connection will use (what `host` resolved to). */
  address: string;
};

export type EgressDecision = { ok: true } | { ok: false; reason: string };

function ruleMatches(rule: EgressRule, t: EgressTarget): boolean {
  if (rule.port !== undefined && rule.port !== t.port) return false;
  if (rule.kind === 'host') return rule.host === t.host.toLowerCase().replace(/\.$/, '');
  const bytes = parseIP(t.address);
  if (!bytes) return false;
  // An allowed IPv4 range also covers the same addresses written as IPv6 (::ffff:10.0.0.5).
  const candidates = [bytes, ...(bytes.length === 16 && embeddedIPv4(bytes) ? [embeddedIPv4(bytes)!] : [])];
  return candidates.some((b) => inRange(b, rule.bytes, rule.prefix));
}

/** Whether a stage may connect to `t`; the reason names the address and how to allow it. */
export function decideEgress(policy: EgressPolicy, t: EgressTarget): EgressDecision {
  const where = `${t.host === t.address ? t.address : `${t.host} (${t.address})`} port ${t.port}`;
  const cls = classifyAddress(t.address);
  const temporalPort = policy.protectedPorts.includes(t.port);
  const matching = policy.allow.filter((r) => ruleMatches(r, t));
  if (matching.length === 0) {
    if (cls === 'public') return { ok: true };
    if (temporalPort) {
      return { ok: false, reason: `refused to connect to ${where}: it is a ${cls} address, and that port belongs to the Temporal server (frontend, UI or HTTP API), which stages may never reach.` };
    }
    const entry = t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
    return {
      ok: false,
      reason: `refused to connect to ${where}: it is a ${cls} address, which stages may not reach by default. An admin can allow it on the workers with ${EGRESS_ALLOW_VAR}="${entry}".`,
    };
  }
  if (temporalPort && !matching.some((r) => r.port === t.port)) {
    return {
      ok: false,
      reason: `refused to connect to ${where}: that port belongs to the Temporal server (frontend, UI or HTTP API). ${EGRESS_ALLOW_VAR} allows it only with an entry that names the port.`,
    };
  }
  return { ok: true };
}
