import { describe, expect, it } from 'vitest';
import { classifyAddress, createAddressPolicy, describeBlockReason, type BlockReason } from '../../server/domain/addressGuard.js';
import { parseCidrList, type Cidr } from '../../server/domain/cidrList.js';

const blocked: Array<[string, BlockReason]> = [
  // IPv4
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.0.0.1', 'reserved'],
  ['192.0.2.10', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['254.1.2.3', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  // IPv6
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::2', 'reserved'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'],
  ['fc00::1', 'unique-local'],
  ['fdff:ffff::1', 'unique-local'],
  ['fd00:ec2::254', 'metadata'],
  ['FD00:EC2:0:0:0:0:0:254', 'metadata'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  ['100::1', 'reserved'],
  ['5f00::1', 'reserved'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['2001::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  // IPv4-mapped: dotted and hex spellings lead to the embedded IPv4 host
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::FFFF:C0A8:0101', 'private'],
  // IPv4-compatible (deprecated)
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'loopback'],
  ['::10.1.2.3', 'private'],
  ['::8.8.8.8', 'reserved'],
  // IPv4-translated ::ffff:0:a.b.c.d
  ['::ffff:0:8.8.8.8', 'reserved'],
  // NAT64 embedding a non-public IPv4
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  ['64:ff9b:1::1', 'private'],
  // 6to4 embedding a non-public IPv4
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a00:1::', 'private'],
  ['2002:c0a8:101::1', 'private'],
  ['2002:a9fe:a9fe::', 'metadata'],
];

const publicAddresses = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.0.1.1',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001::1',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::8.8.8.8',
  '2002:808:808::1',
  '2001:db9::1',
];

describe('classifyAddress', () => {
  it.each(blocked)('blocks %s as %s', (ip, reason) => {
    expect(classifyAddress(ip)).toEqual({ blocked: true, reason });
  });

  it.each(publicAddresses)('lets public %s through', (ip) => {
    expect(classifyAddress(ip)).toEqual({ blocked: false, reason: null });
  });

  it.each([
    '',
    'localhost',
    '127.1',
    '2130706433',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '127.000.0.1',
    '256.0.0.1',
    '1.2.3.4.5',
    '1.2.3.',
    ' 1.2.3.4',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    'g::1',
    '::ffff:1.2.3',
    '1.2.3.4::',
    ':1::',
  ])('refuses unparseable input %j as invalid (fail closed)', (ip) => {
    expect(classifyAddress(ip)).toEqual({ blocked: true, reason: 'invalid' });
  });

  it('accepts every IPv6 spelling, including :: at either end and 7 groups plus ::', () => {
    expect(classifyAddress('1:2:3:4:5:6:7::').reason).toBe('reserved');
    expect(classifyAddress('::2:3:4:5:6:7:8').reason).toBe('reserved');
    expect(classifyAddress('2606:4700:0:0:0:0:0:1111').blocked).toBe(false);
  });

  it('describes every reason for people', () => {
    expect(describeBlockReason('loopback')).toBe('a loopback address');
    expect(describeBlockReason('metadata')).toMatch(/metadata/);
  });
});

function cidrs(csv: string): Cidr[] {
  const parsed = parseCidrList(csv);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.cidrs;
}

describe('parseCidrList', () => {
  it('parses an empty list (the default) and ignores blanks', () => {
    expect(parseCidrList('')).toEqual({ ok: true, cidrs: [] });
    expect(parseCidrList(' , ,')).toEqual({ ok: true, cidrs: [] });
  });

  it('parses IPv4 and IPv6 CIDRs and bare addresses, with canonical text', () => {
    const list = cidrs(' 10.0.0.0/8 , 192.168.1.7, FD00:0:0::/8 ,::1, 0.0.0.0/0, ::/0, 2001:DB8:0:0:1:0:0:0/96');
    expect(list.map((c) => c.text)).toEqual([
      '10.0.0.0/8',
      '192.168.1.7/32',
      'fd00::/8',
      '::1/128',
      '0.0.0.0/0',
      '::/0',
      '2001:db8:0:0:1::/96',
    ]);
    expect(list.map((c) => c.family)).toEqual([4, 4, 6, 6, 4, 6, 6]);
    expect(list[0]?.bytes).toEqual([10, 0, 0, 0]);
  });

  it.each([
    ['10.0.0.0/33', /prefix length must be a whole number from 0 to 32/],
    ['::/129', /0 to 128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['10.0.0.0/8/8', /prefix length/],
    ['10.0.0.0/ 8', /prefix length/],
    ['10.0.0.1/8', /bits set outside the \/8 prefix; use 10\.0\.0\.0\/8, or 10\.0\.0\.1\/32/],
    ['fd00::1/8', /use fd00::\/8, or fd00::1\/128/],
    ['example.com', /not an IPv4 or IPv6 address/],
    ['10.0.0/8', /not an IPv4 or IPv6 address/],
    ['fe80::1%eth0/64', /zone ids/],
  ])('rejects %j', (csv, message) => {
    const parsed = parseCidrList(`127.0.0.0/8,${csv}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toMatch(message);
      expect(parsed.error).toContain(`"${csv.trim()}"`);
    }
  });
});

describe('createAddressPolicy', () => {
  it('with an empty allowlist refuses exactly what classifyAddress blocks', () => {
    const policy = createAddressPolicy([]);
    for (const [ip, reason] of blocked) expect(policy(ip)).toEqual({ allowed: false, reason });
    for (const ip of publicAddresses) expect(policy(ip)).toEqual({ allowed: true, reason: null });
    expect(policy('not-an-ip')).toEqual({ allowed: false, reason: 'invalid' });
  });

  it('allows blocked addresses inside an allowlisted CIDR, and only those', () => {
    const policy = createAddressPolicy(cidrs('10.1.0.0/16,fd12:3456::/32,169.254.169.254'));
    expect(policy('10.1.2.3')).toEqual({ allowed: true, reason: null });
    expect(policy('10.2.0.1')).toEqual({ allowed: false, reason: 'private' });
    expect(policy('fd12:3456::9')).toEqual({ allowed: true, reason: null });
    expect(policy('fd12:3457::9')).toEqual({ allowed: false, reason: 'unique-local' });
    expect(policy('169.254.169.254')).toEqual({ allowed: true, reason: null });
    expect(policy('169.254.169.253')).toEqual({ allowed: false, reason: 'link-local' });
  });

  it('checks IPv4-mapped IPv6 against IPv4 entries, in both spellings', () => {
    const policy = createAddressPolicy(cidrs('127.0.0.0/8'));
    expect(policy('::ffff:127.0.0.1')).toEqual({ allowed: true, reason: null });
    expect(policy('::ffff:7f00:1')).toEqual({ allowed: true, reason: null });
    expect(policy('::ffff:10.0.0.1')).toEqual({ allowed: false, reason: 'private' });
    // Other embeddings reach another host (a NAT64 gateway, a 6to4 relay): no v4 match for them.
    expect(policy('64:ff9b::127.0.0.1')).toEqual({ allowed: false, reason: 'loopback' });
    expect(policy('2002:7f00:1::1')).toEqual({ allowed: false, reason: 'loopback' });
    expect(policy('::1')).toEqual({ allowed: false, reason: 'loopback' });
  });

  it('checks IPv4 addresses against IPv4-mapped IPv6 entries', () => {
    const policy = createAddressPolicy(cidrs('::ffff:10.0.0.0/104'));
    expect(policy('10.9.9.9')).toEqual({ allowed: true, reason: null });
    expect(policy('::ffff:10.9.9.9')).toEqual({ allowed: true, reason: null });
    expect(policy('11.0.0.1')).toEqual({ allowed: true, reason: null });
    expect(policy('127.0.0.1')).toEqual({ allowed: false, reason: 'loopback' });
  });

  it('honours prefix boundaries that are not byte aligned', () => {
    const policy = createAddressPolicy(cidrs('100.64.0.0/10,fe80::/10'));
    expect(policy('100.127.255.255').allowed).toBe(true);
    expect(policy('100.128.0.0').allowed).toBe(true); // public anyway
    const narrow = createAddressPolicy(cidrs('172.16.0.0/13'));
    expect(narrow('172.23.255.255').allowed).toBe(true);
    expect(narrow('172.24.0.0')).toEqual({ allowed: false, reason: 'private' });
    expect(policy('febf::1').allowed).toBe(true);
    expect(policy('fec0::1')).toEqual({ allowed: false, reason: 'private' });
  });

  it('allows everything with 0.0.0.0/0 and ::/0, but never unparseable input', () => {
    const policy = createAddressPolicy(cidrs('0.0.0.0/0,::/0'));
    expect(policy('127.0.0.1').allowed).toBe(true);
    expect(policy('ff02::1').allowed).toBe(true);
    expect(policy('2130706433')).toEqual({ allowed: false, reason: 'invalid' });
  });

  it('allows zone-scoped addresses by their address', () => {
    const policy = createAddressPolicy(cidrs('fe80::/64'));
    expect(policy('fe80::1%eth0').allowed).toBe(true);
    expect(policy('fe80:1::1%eth0')).toEqual({ allowed: false, reason: 'link-local' });
  });
});
