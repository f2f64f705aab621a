/**
 * IP address text to octets and back, for the address guard (addressGuard.ts) and allowlists
 * (cidrList.ts).
 *
 * Addresses are parsed here rather than with node:net so the domain stays free of I/O imports
 * and so IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) can be judged
 * by the IPv4 address they really lead to.
 */

/** An address's octets (4 or 16), read in place: embedded IPv4 addresses are judged without copying. */
export type Bytes = ArrayLike<number>;

/** The octets of an IPv4 (4) or IPv6 (16) address in text, or null when it is neither. */
export function parseIp(text: string): Uint8Array | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

const DECIMAL_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

// Strict dotted decimal only: resolver output and WHATWG-normalized hosts are always in this form,
// and anything looser (octal, hex, short forms) is refused rather than guessed at.
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? '';
    if (!DECIMAL_OCTET.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const groups: number[] = [];
  const tailGroups: number[] = [];
  if (!pushGroups(head, groups, halves.length === 1)) return null;
  if (!pushGroups(tail, tailGroups, true)) return null;
  const total = groups.length + tailGroups.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const out = new Uint8Array(16);
  const write = (group: number, index: number): void => {
    out[index * 2] = group >> 8;
    out[index * 2 + 1] = group & 0xff;
  };
  groups.forEach((g, i) => write(g, i));
  tailGroups.forEach((g, i) => write(g, 8 - tailGroups.length + i));
  return out;
}

// A dotted IPv4 tail is only legal as the very last piece of the address.
function pushGroups(parts: string[], into: number[], mayEndWithIpv4: boolean): boolean {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (part.includes('.')) {
      if (!mayEndWithIpv4 || i !== parts.length - 1) return false;
      const v4 = parseIpv4(part);
      if (v4 === null) return false;
      into.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!HEXTET.test(part)) return false;
      into.push(parseInt(part, 16));
    }
  }
  return true;
}

// RFC 5952 text: lower-case hex, the longest run (>= 2) of zero groups compressed to "::".
export function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
