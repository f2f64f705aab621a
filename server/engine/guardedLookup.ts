/** The private-address guard where Node resolves hostnames, and the refusal message it shares with IP literals. */
import dns from 'node:dns';
import type net from 'node:net';
import { describeBlockReason, type AddressPolicy, type BlockReason } from '../domain/addressGuard.js';
import { BLOCKED_CODE, CodedError } from './sendErrors.js';

export function blockedMessage(host: string, address: string, reason: BlockReason): string {
  const resolved = host === address ? address : `${host} (resolved to ${address})`;
  const single = address.includes(':') ? `${address}/128` : `${address}/32`;
  return `refused to connect to ${resolved}: ${describeBlockReason(reason)}; webhooks only go to public addresses unless the address is inside WEBHOOKS_ALLOWED_CIDRS (e.g. add ${single})`;
}

// Node calls this for hostnames only; every address it may connect to must pass the policy,
// because with autoSelectFamily Node tries several of them.
export function createGuardedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      for (const entry of addresses) {
        const decision = policy(entry.address);
        if (!decision.allowed) {
          callback(new CodedError(BLOCKED_CODE, blockedMessage(hostname, entry.address, decision.reason ?? 'invalid')), '');
          return;
        }
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND' }), '');
      } else if (options.all) {
        callback(null, addresses);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}
