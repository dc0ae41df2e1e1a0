/**
 * The egress policy of http-check and webhook stages (workflows/stages/egress.ts):
 * which addresses count as the worker's own network, how admins allow targets,
 * and that every host form a URL may take is checked by the address it
 * really reaches (tests/integration/security-forge.test.ts covers the stages).
 */
import { describe, expect, it } from 'vitest';
import {
  classifyAddress,
  decideEgress,
  egressPolicyFromEnv,
  parseEgressAllowList,
  parseIPv6,
  type EgressPolicy,
} from '@/workflows/stages/egress';
import { checkedAddress, EgressRefused } from '@/workflows/stages/egress-request';
import { stageEnvironment } from '@/workflows/stages/stage-env';

const NONE: EgressPolicy = { allow: [], protectedPorts: [7233, 8233, 7243] };

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.10.3', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    // IPv4 written as IPv6: the IPv4 rules apply.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
    // Public neighbours of the ranges above.
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['169.255.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['not-an-ip', 'invalid'],
    ['1.2.3', 'invalid'],
    ['1::2::3', 'invalid'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it('parses IPv6 with an embedded dotted quad into the same bytes as its hex form', () => {
    expect(parseIPv6('::ffff:192.168.0.1')).toEqual(parseIPv6('::ffff:c0a8:1'));
  });
});

describe('allow-list', () => {
  it('parses host:port, host, CIDR, CIDR:port and bracketed IPv6', () => {
    const { rules, errors } = parseEgressAllowList('build.internal:8080, Status.Example.com 10.0.0.0/8:443,127.0.0.1,[fd00::/8]:443 [::1]');
    expect(errors).toEqual([]);
    expect(rules.map((r) => (r.kind === 'host' ? `host ${r.host} ${r.port ?? '*'}` : `cidr ${r.bytes.length * 8}/${r.prefix} ${r.port ?? '*'}`))).toEqual([
      'host build.internal 8080',
      'host status.example.com *',
      'cidr 32/8 443',
      'cidr 32/32 *',
      'cidr 128/8 443',
      'cidr 128/128 *',
    ]);
  });

  it('names every bad entry', () => {
    const { errors } = parseEgressAllowList('host:99999, 10.0.0.0/33, foo_bar, 10.0.0.1/8x, [::1:443');
    expect(errors).toHaveLength(5);
    expect(errors[0]).toContain('"host:99999"');
    expect(errors[1]).toContain('/33');
    expect(errors[2]).toContain('foo_bar');
    expect(errors[4]).toContain('missing "]"');
  });

  it('is empty when unset', () => {
    expect(parseEgressAllowList(undefined)).toEqual({ rules: [], errors: [] });
  });

  it('protects the configured Temporal ports, from the same variables the app reads', () => {
    const policy = egressPolicyFromEnv({ TEMPORAL_ADDRESS: '127.0.0.1:41000', TEMPORAL_UI_URL: 'http://localhost:41001/', TEMPORAL_DEV_HTTP_PORT: '41002' });
    expect(policy.protectedPorts).toEqual(expect.arrayContaining([7233, 8233, 41000, 41001, 41002]));
    expect(policy.errors).toEqual([]);
  });
});

describe('decision', () => {
  const target = (address: string, port = 80, host = address) => ({ host, port, address });

  it('refuses the worker\'s own network by default and says how to allow it', () => {
    const d = decideEgress(NONE, target('127.0.0.1', 3000));
    expect(d).toEqual({ ok: false, reason: expect.stringContaining('loopback') });
    expect(!d.ok && d.reason).toContain('PIPEWRIGHT_STAGE_EGRESS_ALLOW="127.0.0.1:3000"');
    expect(decideEgress(NONE, target('169.254.169.254'))).toMatchObject({ ok: false });
    expect(decideEgress(NONE, target('::1', 80))).toMatchObject({ ok: false, reason: expect.stringContaining('[::1]:80') });
    // Temporal's own ports: no hint on how to allow them.
    const ui = decideEgress(NONE, target('127.0.0.1', 8233));
    expect(ui).toMatchObject({ ok: false, reason: expect.stringContaining('belongs to the Temporal server') });
    expect(!ui.ok && ui.reason).not.toContain('PIPEWRIGHT_STAGE_EGRESS_ALLOW=');
  });

  it('allows public addresses', () => {
    expect(decideEgress(NONE, target('93.184.216.34', 443, 'example.com'))).toEqual({ ok: true });
  });

  it('allows an allow-listed target, by address range and port or by host name', () => {
    const policy: EgressPolicy = { ...NONE, allow: parseEgressAllowList('127.0.0.1:3000, 10.0.0.0/8, build.internal:8080').rules };
    expect(decideEgress(policy, target('127.0.0.1', 3000))).toEqual({ ok: true });
    expect(decideEgress(policy, target('127.0.0.1', 3001))).toMatchObject({ ok: false });
    expect(decideEgress(policy, target('10.9.8.7', 5000))).toEqual({ ok: true });
    expect(decideEgress(policy, target('::ffff:10.9.8.7', 5000))).toEqual({ ok: true });
    expect(decideEgress(policy, target('192.168.0.10', 8080, 'build.internal'))).toEqual({ ok: true });
    expect(decideEgress(policy, target('192.168.0.10', 8081, 'build.internal'))).toMatchObject({ ok: false });
  });

  it('keeps Temporal\'s ports refused under a broad allow entry, unless an entry names the port', () => {
    const broad: EgressPolicy = { ...NONE, allow: parseEgressAllowList('127.0.0.0/8').rules };
    expect(decideEgress(broad, target('127.0.0.1', 3000))).toEqual({ ok: true });
    const ui = decideEgress(broad, target('127.0.0.1', 8233));
    expect(ui).toMatchObject({ ok: false, reason: expect.stringContaining('Temporal') });
    expect(decideEgress(broad, target('127.0.0.1', 7243))).toMatchObject({ ok: false });
    const named: EgressPolicy = { ...NONE, allow: parseEgressAllowList('127.0.0.0/8:8233').rules };
    expect(decideEgress(named, target('127.0.0.1', 8233))).toEqual({ ok: true });
  });
});

describe('resolving what a URL reaches', () => {
  const refusedReason = async (url: string, resolve?: (h: string) => Promise<{ address: string; family: number }[]>) => {
    const err = await checkedAddress(new URL(url), NONE, resolve).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EgressRefused);
    return (err as Error).message;
  };

  it.each([
    'http://127.0.0.1:8233/api/v1/namespaces',
    'http://2130706433:8233/', // decimal
    'http://0x7f.0.0.1:8233/', // hex part
    'http://0177.0.0.1:8233/', // octal part
    'http://127.1:8233/', // short form
    'http://[::ffff:127.0.0.1]:8233/',
    'http://[::1]:8233/',
    'http://0.0.0.0:8233/',
    'http://169.254.169.254/latest/meta-data/',
  ])('refuses %s', async (url) => {
    expect(await refusedReason(url)).toMatch(/refused to connect to .* port (8233|80)/);
  });

  it('refuses localhost through the system resolver', async () => {
    expect(await refusedReason('http://localhost:8233/')).toMatch(/localhost \((127\.0\.0\.1|::1)\) port 8233/);
  });

  it('refuses a name when any of its addresses is internal, and connects to the checked one otherwise', async () => {
    const mixed = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    expect(await refusedReason('https://rebind.example/', mixed)).toContain('10.0.0.5');
    const pub = await checkedAddress(new URL('https://ok.example/'), NONE, async () => [{ address: '93.184.216.34', family: 4 }]);
    expect(pub).toEqual({ address: '93.184.216.34', family: 4 });
  });
});

describe('stage environment', () => {
  it('gives executors only what stage kinds need, not the worker\'s secrets', () => {
    const env = stageEnvironment({
      PATH: '/usr/bin',
      PIPEWRIGHT_WEBHOOK_SECRET: 'k0',
      PIPEWRIGHT_WEBHOOK_KEY_CHAT: 'k1',
      PIPEWRIGHT_STAGE_EGRESS_ALLOW: '10.0.0.0/8',
      PIPEWRIGHT_ADMIN_PASSWORD: 'hunter22hunter22',
      BETTER_AUTH_SECRET: 'x'.repeat(40),
      PIPEWRIGHT_SECRET_KEY: 'y',
      DATABASE_URL: 'file:app.db',
    });
    expect(Object.keys(env).sort()).toEqual(['PATH', 'PIPEWRIGHT_STAGE_EGRESS_ALLOW', 'PIPEWRIGHT_WEBHOOK_KEY_CHAT', 'PIPEWRIGHT_WEBHOOK_SECRET']);
  });
});
