/**
 * Operator allowlists of networks (WEBHOOKS_ALLOWED_CIDRS): parsed into canonical network
 * addresses, and matched octet by octet against a parsed address, at an offset so an embedded
 * IPv4 address matches without being copied.
 */
import { formatIp, parseIp, type Bytes } from './ipAddress.js';

/** One allowlist entry; `bytes` holds the network address (4 or 16 octets). */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: readonly number[];
  readonly prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `fd00::/8`. */
  readonly text: string;
}

/** Parse a comma-separated CIDR list (bare addresses mean a single host); empty input is an empty list. */
export function parseCidrList(csv: string): { ok: true; cidrs: Cidr[] } | { ok: false; error: string } {
  const cidrs: Cidr[] = [];
  for (const raw of csv.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const parsed = parseCidr(entry);
    if (typeof parsed === 'string') return { ok: false, error: `"${entry}": ${parsed}` };
    cidrs.push(parsed);
  }
  return { ok: true, cidrs };
}

export function matchesAny(cidrs: readonly Cidr[], b: Bytes, offset: number): boolean {
  for (const cidr of cidrs) if (matches(cidr, b, offset)) return true;
  return false;
}

function matches(cidr: Cidr, b: Bytes, offset: number): boolean {
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((((b[offset + i] ?? 0) ^ (cidr.bytes[i] ?? 0)) & mask) !== 0) return false;
  }
  return true;
}

function parseCidr(entry: string): Cidr | string {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? null : entry.slice(slash + 1);
  if (addressText.includes('%')) return 'zone ids (%) are not allowed in CIDRs';
  const bytes = parseIp(addressText);
  if (bytes === null) return 'not an IPv4 or IPv6 address (expected e.g. 10.0.0.0/8 or fd00::/8)';
  const family = bytes.length === 4 ? 4 : 6;
  const maxPrefix = bytes.length * 8;
  let prefix = maxPrefix;
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      return `prefix length must be a whole number from 0 to ${maxPrefix}`;
    }
    prefix = Number(prefixText);
  }
  const network = Array.from(bytes);
  for (let i = 0; i < network.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    network[i] = (network[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  const networkText = formatIp(network);
  if (network.some((v, i) => v !== bytes[i])) {
    return `address has bits set outside the /${prefix} prefix; use ${networkText}/${prefix}, or ${formatIp(Array.from(bytes))}/${maxPrefix} for one address`;
  }
  return Object.freeze({ family, bytes: Object.freeze(network), prefix, text: `${networkText}/${prefix}` });
}
