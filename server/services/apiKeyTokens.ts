import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'whk_';

/** A fresh API key; only `hash` and `prefix` are ever stored. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 12) };
}

/** SHA-256 hex of an API key: a lookup key that cannot be turned back into the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Extracts the key from `Authorization: Bearer whk_...`, or null when absent. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : header.trim();
}
