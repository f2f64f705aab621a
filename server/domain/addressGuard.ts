/**
 * Outbound address guard (SPEC §6): webhooks must never reach private, loopback, link-local,
 * CGNAT, multicast, metadata, unique-local or otherwise non-public addresses unless an operator
 * allowed them with WEBHOOKS_ALLOWED_CIDRS. Pure: the HTTP sender feeds it resolved addresses.
 *
 * Addresses are parsed to octets by ipAddress.ts; allowlists are parsed and matched by cidrList.ts.
 */
import { matchesAny, type Cidr } from './cidrList.js';
import { parseIp, type Bytes } from './ipAddress.js';

/** Why an address is refused; stable strings, shown to users through `describeBlockReason`. */
export type BlockReason =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'invalid';

/** Result of `classifyAddress`: `reason` is null exactly when the address is public. */
export interface AddressClassification {
  readonly blocked: boolean;
  readonly reason: BlockReason | null;
}

/** Result of an address policy: `reason` says why a refused address is refused. */
export interface AddressDecision {
  readonly allowed: boolean;
  readonly reason: BlockReason | null;
}

/** A decision function built once from the allowlist. */
export type AddressPolicy = (ip: string) => AddressDecision;

const PUBLIC: AddressClassification = Object.freeze({ blocked: false, reason: null });
const ALLOWED: AddressDecision = Object.freeze({ allowed: true, reason: null });

// Shared frozen results: the classifier runs on every new connection, so it should not allocate.
const BLOCKED = new Map<BlockReason, AddressClassification>();
const REFUSED = new Map<BlockReason, AddressDecision>();
for (const reason of [
  'unspecified', 'loopback', 'private', 'cgnat', 'link-local', 'metadata', 'unique-local',
  'multicast', 'broadcast', 'documentation', 'benchmarking', 'reserved', 'invalid',
] as const) {
  BLOCKED.set(reason, Object.freeze({ blocked: true, reason }));
  REFUSED.set(reason, Object.freeze({ allowed: false, reason }));
}

const REASON_TEXT: Record<BlockReason, string> = {
  unspecified: 'an unspecified address (0.0.0.0/8 or ::)',
  loopback: 'a loopback address',
  private: 'a private-network address',
  cgnat: 'a carrier-grade NAT address (100.64.0.0/10)',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata service address',
  'unique-local': 'a unique-local IPv6 address (fc00::/7)',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation-only address',
  benchmarking: 'a benchmarking-only address',
  reserved: 'a reserved address',
  invalid: 'not a valid IP address',
};

/** Human phrase for a block reason, e.g. "a loopback address". */
export function describeBlockReason(reason: BlockReason): string {
  return REASON_TEXT[reason];
}

/** Classify one IPv4 or IPv6 address (zone ids allowed) as public or blocked, with the reason. */
export function classifyAddress(ip: string): AddressClassification {
  const bytes = parseIp(stripZone(ip));
  if (bytes === null) return blocked('invalid');
  const reason = bytes.length === 4 ? ipv4Reason(bytes, 0) : ipv6Reason(bytes);
  return reason === null ? PUBLIC : blocked(reason);
}


/**
 * Build the decision function: an address inside an allowlisted CIDR is allowed even when it
 * would be blocked; an IPv4-mapped IPv6 address also matches IPv4 entries (and vice versa),
 * because both spellings reach the same host.
 */
export function createAddressPolicy(allowedCidrs: readonly Cidr[]): AddressPolicy {
  const v4 = allowedCidrs.filter((c) => c.family === 4);
  const v6 = allowedCidrs.filter((c) => c.family === 6);
  return (ip: string): AddressDecision => {
    const bytes = parseIp(stripZone(ip));
    if (bytes === null) return refused('invalid');
    if (bytes.length === 4) {
      if (matchesAny(v4, bytes, 0) || (v6.length > 0 && matchesAny(v6, mapV4(bytes), 0))) return ALLOWED;
      const reason = ipv4Reason(bytes, 0);
      return reason === null ? ALLOWED : refused(reason);
    }
    if (matchesAny(v6, bytes, 0) || (isV4Mapped(bytes) && matchesAny(v4, bytes, 12))) return ALLOWED;
    const reason = ipv6Reason(bytes);
    return reason === null ? ALLOWED : refused(reason);
  };
}

function blocked(reason: BlockReason): AddressClassification {
  return BLOCKED.get(reason) as AddressClassification;
}

function refused(reason: BlockReason): AddressDecision {
  return REFUSED.get(reason) as AddressDecision;
}

function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent === -1 ? ip : ip.slice(0, percent);
}

// Reads the IPv4 address at b[o..o+3], so embedded addresses are judged without copying.
function ipv4Reason(b: Bytes, o: number): BlockReason | null {
  const a0 = b[o] ?? 0;
  const a1 = b[o + 1] ?? 0;
  const a2 = b[o + 2] ?? 0;
  const a3 = b[o + 3] ?? 0;
  // Metadata endpoints first: they sit inside wider blocked ranges but deserve the precise name.
  if (a0 === 169 && a1 === 254 && ((a2 === 169 && a3 === 254) || (a2 === 170 && a3 === 2))) return 'metadata';
  if (a0 === 100 && a1 === 100 && a2 === 100 && a3 === 200) return 'metadata'; // Alibaba Cloud
  if (a0 === 192 && a1 === 0 && a2 === 0 && a3 === 192) return 'metadata'; // Oracle Cloud
  if (a0 === 0) return 'unspecified';
  if (a0 === 10) return 'private';
  if (a0 === 100 && (a1 & 0xc0) === 64) return 'cgnat';
  if (a0 === 127) return 'loopback';
  if (a0 === 169 && a1 === 254) return 'link-local';
  if (a0 === 172 && (a1 & 0xf0) === 16) return 'private';
  if (a0 === 192 && a1 === 168) return 'private';
  if (a0 === 192 && a1 === 0 && a2 === 0) return 'reserved'; // IETF protocol assignments
  if (a0 === 192 && a1 === 0 && a2 === 2) return 'documentation';
  if (a0 === 192 && a1 === 88 && a2 === 99) return 'reserved'; // deprecated 6to4 relay anycast
  if (a0 === 198 && (a1 & 0xfe) === 18) return 'benchmarking';
  if (a0 === 198 && a1 === 51 && a2 === 100) return 'documentation';
  if (a0 === 203 && a1 === 0 && a2 === 113) return 'documentation';
  if ((a0 & 0xf0) === 224) return 'multicast';
  if (a0 === 255 && a1 === 255 && a2 === 255 && a3 === 255) return 'broadcast';
  if (a0 >= 240) return 'reserved';
  return null;
}

function ipv6Reason(b: Bytes): BlockReason | null {
  const b0 = b[0] ?? 0;
  const b1 = b[1] ?? 0;
  // NAT64 64:ff9b::/96 forwards to the embedded IPv4 address, so that address decides.
  if (isNat64(b)) return ipv4Reason(b, 12);
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215) translates into a site's own networks.
  if (b0 === 0 && b1 === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0 && b[5] === 1) return 'private';
  if (b0 === 0) {
    if (zeroRun(b, 0, 15)) return b[15] === 0 ? 'unspecified' : b[15] === 1 ? 'loopback' : 'reserved';
    // ::ffff:a.b.c.d reaches the IPv4 host itself on dual-stack sockets.
    if (isV4Mapped(b)) return ipv4Reason(b, 12);
    // Deprecated IPv4-compatible ::a.b.c.d: name the embedded class, and never let it through.
    if (zeroRun(b, 0, 12)) return ipv4Reason(b, 12) ?? 'reserved';
    return 'reserved';
  }
  if (b0 === 0xff) return 'multicast';
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return 'link-local';
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return 'private'; // deprecated site-local fec0::/10
  if ((b0 & 0xfe) === 0xfc) return isAwsMetadataV6(b) ? 'metadata' : 'unique-local';
  // Only 2000::/3 is allocated for global unicast; everything else is reserved or special.
  if ((b0 & 0xe0) !== 0x20) return 'reserved';
  if (b0 === 0x20 && b1 === 0x02) return ipv4Reason(b, 2); // 6to4 2002:aabb:ccdd::/48
  if (b0 === 0x20 && b1 === 0x01) {
    const b2 = b[2] ?? 0;
    const b3 = b[3] ?? 0;
    if (b2 === 0x0d && b3 === 0xb8) return 'documentation';
    if (b2 === 0 && b3 === 0) return 'reserved'; // Teredo tunnels embed obfuscated IPv4 addresses
    if (b2 === 0 && b3 === 2 && b[4] === 0 && b[5] === 0) return 'benchmarking';
    if (b2 === 0 && ((b3 & 0xf0) === 0x10 || (b3 & 0xf0) === 0x20)) return 'reserved'; // ORCHID
  }
  if (b0 === 0x3f && b1 === 0xff && ((b[2] ?? 0) & 0xf0) === 0) return 'documentation';
  return null;
}

function isV4Mapped(b: Bytes): boolean {
  return b.length === 16 && zeroRun(b, 0, 10) && b[10] === 0xff && b[11] === 0xff;
}

function isNat64(b: Bytes): boolean {
  return b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeroRun(b, 4, 12);
}

function isAwsMetadataV6(b: Bytes): boolean {
  // fd00:ec2::254
  return b[0] === 0xfd && b[1] === 0 && b[2] === 0x0e && b[3] === 0xc2 && zeroRun(b, 4, 14) && b[14] === 0x02 && b[15] === 0x54;
}

function zeroRun(b: Bytes, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function mapV4(b: Bytes): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0] ?? 0, b[1] ?? 0, b[2] ?? 0, b[3] ?? 0];
}
