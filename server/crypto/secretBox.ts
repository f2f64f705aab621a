import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (HMAC secrets, Ed25519 seeds, mTLS keys).
 * Stored format: `v1.<keyId>.<base64 iv>.<base64 ciphertext>.<base64 tag>`.
 * The key id (first 8 hex chars of SHA-256 of the key) lets a re-encryption command tell
 * which master key a value was sealed with during a master-key rotation.
 */
export interface SecretBox {
  seal(plaintext: string | Uint8Array): string;
  open(sealed: string): Buffer;
  openText(sealed: string): string;
  readonly keyId: string;
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/** Key id of a master key: short, non-reversible, stable. */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Creates a box sealing with `key` and opening values sealed with `key` or any `previousKeys`. */
export function createSecretBox(key: Buffer, previousKeys: Buffer[] = []): SecretBox {
  if (key.length !== 32) throw new SecretBoxError('master key must be 32 bytes');
  const keyId = masterKeyId(key);
  const keysById = new Map<string, Buffer>([[keyId, key]]);
  for (const k of previousKeys) keysById.set(masterKeyId(k), k);

  function open(sealed: string): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== 'v1') throw new SecretBoxError('sealed value is malformed');
    const k = keysById.get(parts[1]!);
    if (!k) throw new SecretBoxError(`sealed with an unknown master key (id ${parts[1]})`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', k, Buffer.from(parts[2]!, 'base64'));
      decipher.setAuthTag(Buffer.from(parts[4]!, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64')), decipher.final()]);
    } catch {
      throw new SecretBoxError('sealed value failed authentication (wrong master key or tampered data)');
    }
  }

  return {
    keyId,
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      const ct = Buffer.concat([cipher.update(data), cipher.final()]);
      return `v1.${keyId}.${iv.toString('base64')}.${ct.toString('base64')}.${cipher.getAuthTag().toString('base64')}`;
    },
    open,
    openText: (sealed) => open(sealed).toString('utf8'),
  };
}

/** The key id a sealed value was sealed under, or null if it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === 'v1' ? parts[1]! : null;
}
