/**
 * An endpoint's URL (SPEC §3): scheme, credentials, fragment and length, and, for an IP literal,
 * the private-address policy (a hostname is judged on its resolved address at connect time).
 */
import { createAddressPolicy, describeBlockReason, type AddressPolicy } from './addressGuard.js';
import { parseCidrList } from './cidrList.js';
import type { InputProblem } from './errors.js';

/** Longest URL accepted, as given and once normalised. */
export const URL_MAX_LENGTH = 2048;

/** What URL checks depend on: the server's WEBHOOKS_ALLOW_HTTP and WEBHOOKS_ALLOWED_CIDRS. */
export interface UrlRules {
  allowHttp: boolean;
  addressPolicy: AddressPolicy;
}

/** Builds the URL rules from configuration; fails with the CIDR parser's message on a bad allowlist. */
export function createUrlRules(options: { allowHttp: boolean; allowedCidrs: string }): { ok: true; rules: UrlRules } | { ok: false; error: string } {
  const parsed = parseCidrList(options.allowedCidrs);
  if (!parsed.ok) return { ok: false, error: `WEBHOOKS_ALLOWED_CIDRS ${parsed.error}` };
  return { ok: true, rules: { allowHttp: options.allowHttp, addressPolicy: createAddressPolicy(parsed.cidrs) } };
}

/** The normalised URL, or null after adding a problem saying what is wrong with it. */
export function checkUrl(raw: unknown, rules: UrlRules, problems: InputProblem[]): string | null {
  const fail = (message: string): null => {
    problems.push({ field: 'url', message });
    return null;
  };
  if (typeof raw !== 'string' || raw.trim() === '') {
    return fail('url is required: give the absolute https:// URL that should receive the webhooks.');
  }
  const text = raw.trim();
  if (text.length > URL_MAX_LENGTH) {
    return fail(`url is ${text.length} characters long; the limit is ${URL_MAX_LENGTH}.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`url ${JSON.stringify(text)} is not a valid absolute URL; use the form https://hooks.example.com/path.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(`url must use https:// (got ${url.protocol}//).`);
  }
  if (url.protocol === 'http:' && !rules.allowHttp) {
    return fail('url must use https://; plain http:// is accepted only when the server runs with WEBHOOKS_ALLOW_HTTP=true.');
  }
  if (url.username !== '' || url.password !== '') {
    return fail(
      'url must not contain a username or password: send credentials in a custom header (e.g. "Authorization") instead, where they are hidden from viewers.',
    );
  }
  if (text.includes('#')) {
    return fail('url must not contain a fragment ("#..."): fragments are never sent to the server; remove it.');
  }
  if (url.hostname === '') return fail('url must name a host, e.g. https://hooks.example.com/path.');
  if (url.href.length > URL_MAX_LENGTH) {
    return fail(`url is ${url.href.length} characters long once normalised; the limit is ${URL_MAX_LENGTH}.`);
  }
  // Hostnames are checked on the resolved address at connect time; an IP literal can be judged
  // now, which spares the user a delivery that could never succeed.
  const ip = ipLiteral(url.hostname);
  if (ip !== null) {
    const decision = rules.addressPolicy(ip);
    if (!decision.allowed) {
      return fail(
        `url points to ${ip}, ${describeBlockReason(decision.reason ?? 'reserved')}, which webhooks may not reach. ` +
          'Use a public address, or ask the operator to add its network to WEBHOOKS_ALLOWED_CIDRS.',
      );
    }
  }
  return url.href;
}

/** The IP of an IP-literal hostname as WHATWG URL normalises it (`[::1]`, `127.0.0.1`), else null. */
function ipLiteral(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)) return hostname;
  return null;
}
