import type { TransactionSql } from 'postgres';
import type { EndpointScope } from './endpointScope.js';
import { inTransaction, type Database, type Db, type Tx } from '../db/client.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import { createOrganizationsRepo } from '../db/repos/organizations.js';
import { createSigningKeysRepo } from '../db/repos/signingKeys.js';
import type { EndpointRow, SigningKeyRow, signingKeys } from '../db/schema.js';
import { badInput, DomainError, notFound } from '../domain/errors.js';
import { isIdOf } from '../domain/ids.js';
import {
  decodePublicKey,
  ed25519PublicKeyFromSeed,
  encodePublicKey,
  generateHmacSecret,
  publicKeyToJwk,
  type Ed25519PublicJwk,
  type SigningAlgorithm,
} from '../domain/signing.js';
import { newId, random } from '../crypto/random.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Engine } from '../engine/index.js';
import type { Viewer } from './auth.js';
import { createEndpointRefs } from './endpointRefs.js';

export const GRACE_PERIOD_SECONDS = { min: 0, max: 2_592_000, default: 86_400 } as const;

type SigningKeyInsert = typeof signingKeys.$inferInsert;

/**
 * Serialises changes to an organization's Ed25519 key set, so two requests that both find no
 * key do not create two, and a revocation cannot race the rotation that would replace it.
 */
export async function lockOrgEd25519Keys(sql: TransactionSql, orgId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(7164031, hashtext(${orgId}))`;
}

/**
 * A new HMAC key for an endpoint. The `whsec_` text is what gets sealed: the delivery worker
 * opens it with `decodeHmacSecret(secretBox.openText(...))`.
 */
export function newHmacKey(secretBox: SecretBox, orgId: string, endpointId: string): { row: SigningKeyInsert; secret: string } {
  const secret = generateHmacSecret(random(32));
  return {
    row: { id: newId('signingKey'), orgId, endpointId, algorithm: 'HMAC_SHA256', secretSealed: secretBox.seal(secret), publicKey: null },
    secret,
  };
}

/** A new Ed25519 key pair of the organization; only the public half leaves the seal. */
export function newOrgEd25519Key(secretBox: SecretBox, orgId: string): SigningKeyInsert {
  const seed = random(32);
  return {
    id: newId('signingKey'),
    orgId,
    endpointId: null,
    algorithm: 'ED25519',
    secretSealed: secretBox.seal(seed),
    publicKey: encodePublicKey(ed25519PublicKeyFromSeed(seed)),
  };
}

/**
 * The organization's current Ed25519 key (usable, not in a grace period), created when there is
 * none. Call after `lockOrgEd25519Keys` in the same transaction.
 */
export async function ensureOrgEd25519Key(db: Db, secretBox: SecretBox, orgId: string): Promise<SigningKeyRow> {
  const repo = createSigningKeysRepo(db);
  const current = (await repo.usableEd25519ForOrg(orgId, db)).find((k) => k.expiresAt === null);
  return current ?? repo.insert(newOrgEd25519Key(secretBox, orgId), db);
}

function graceUntil(gracePeriodSeconds: number): Date {
  return new Date(Date.now() + gracePeriodSeconds * 1000);
}

/** Signing keys: per-endpoint HMAC secrets and the organization's Ed25519 key pairs. */
export function createSigningKeyService(deps: { database: Database; secretBox: SecretBox; engine: Engine; scope: EndpointScope }) {
  const { database, secretBox, engine, scope } = deps;
  const keys = createSigningKeysRepo(database.db);
  const endpoints = createEndpointsRepo(database.db);
  const orgs = createOrganizationsRepo(database.db);

  const refs = createEndpointRefs(database.db, scope);
  const requireEndpoint = (viewer: Viewer, idOrUid: string, db?: Db, lock = false): Promise<EndpointRow> =>
    lock ? refs.lock(viewer, idOrUid, db!) : refs.find(viewer, idOrUid, db);

  async function notifyOrgEndpoints(sql: TransactionSql, db: Db, orgId: string): Promise<void> {
    for (const endpointId of await endpoints.liveIdsForOrg(orgId, db)) {
      await engine.notifyEndpointChanged(sql, { orgId, endpointId });
    }
  }

  /**
   * The rotation itself, on an endpoint the caller locked in `tx` (rotateSigningKey, and
   * applyConfiguration when a document changes an endpoint's signing algorithm).
   */
  async function rotateLocked(
    { sql, db }: Tx,
    viewer: Viewer,
    endpoint: EndpointRow,
    algorithm: SigningAlgorithm,
    gracePeriodSeconds: number = GRACE_PERIOD_SECONDS.default,
  ): Promise<{ signingKey: SigningKeyRow; secret: string | null }> {
    const until = graceUntil(gracePeriodSeconds);

    if (algorithm === 'HMAC_SHA256') {
      // Expire before inserting: the new key must not fall under its own grace period.
      await keys.expireUsable({ endpointId: endpoint.id }, until, db);
      const { row, secret } = newHmacKey(secretBox, viewer.orgId, endpoint.id);
      const signingKey = await keys.insert(row, db);
      await endpoints.update(
        endpoint.id,
        endpoint.signingAlgorithm === 'ED25519' ? { signingAlgorithm: 'HMAC_SHA256', ed25519GraceUntil: until } : {},
        db,
      );
      await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
      return { signingKey, secret };
    }

    await lockOrgEd25519Keys(sql, viewer.orgId);
    if (endpoint.signingAlgorithm === 'ED25519') {
      if (scope.scopeOf(viewer) !== null) {
        throw new DomainError('FORBIDDEN', "Rotating the organization's Ed25519 key changes the signatures of endpoints outside this session's labels; ask an admin of the platform.");
      }
      await keys.expireUsable({ orgId: viewer.orgId }, until, db);
      const signingKey = await keys.insert(newOrgEd25519Key(secretBox, viewer.orgId), db);
      await notifyOrgEndpoints(sql, db, viewer.orgId);
      return { signingKey, secret: null };
    }
    const signingKey = await ensureOrgEd25519Key(db, secretBox, viewer.orgId);
    await keys.expireUsable({ endpointId: endpoint.id }, until, db);
    await endpoints.update(endpoint.id, { signingAlgorithm: 'ED25519', ed25519GraceUntil: null }, db);
    await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
    return { signingKey, secret: null };
  }

  return {
    /**
     * The keys that concern an endpoint, newest first: its HMAC keys, plus the organization's
     * Ed25519 keys while it signs with Ed25519 or is inside the grace period of leaving it.
     * Expired and revoked keys are included as history.
     */
    async list(viewer: Viewer, endpointId: string): Promise<SigningKeyRow[]> {
      const endpoint = await requireEndpoint(viewer, endpointId);
      const hmac = await keys.listHmacForEndpoint(endpoint.id);
      const usesEd25519 =
        endpoint.signingAlgorithm === 'ED25519' || (endpoint.ed25519GraceUntil !== null && endpoint.ed25519GraceUntil.getTime() > Date.now());
      const ed25519 = usesEd25519 ? await keys.listEd25519ForOrg(viewer.orgId) : [];
      return [...hmac, ...ed25519].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    },

    /**
     * HMAC: a new endpoint secret (returned once); the endpoint's previous keys keep signing for
     * the grace period. ED25519 on an endpoint that already signs with it: a new organization key
     * (every Ed25519 endpoint of the org moves to it). ED25519 on an HMAC endpoint: the endpoint
     * switches to the organization's key.
     */
    async rotate(
      viewer: Viewer,
      endpointId: string,
      algorithm: SigningAlgorithm = 'HMAC_SHA256',
      gracePeriodSeconds: number = GRACE_PERIOD_SECONDS.default,
    ): Promise<{ signingKey: SigningKeyRow; secret: string | null }> {
      const { min, max } = GRACE_PERIOD_SECONDS;
      if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < min || gracePeriodSeconds > max) {
        throw badInput(
          `gracePeriodSeconds must be a whole number between ${min} and ${max} (30 days); got ${gracePeriodSeconds}. Use 0 to stop the old key at once.`,
          'gracePeriodSeconds',
        );
      }
      if (algorithm !== 'HMAC_SHA256' && algorithm !== 'ED25519') {
        throw badInput(`algorithm must be HMAC_SHA256 or ED25519 (got ${String(algorithm)}).`, 'algorithm');
      }
      await requireEndpoint(viewer, endpointId);
      return inTransaction(database, async (tx) => rotateLocked(tx, viewer, await requireEndpoint(viewer, endpointId, tx.db, true), algorithm, gracePeriodSeconds));
    },

    rotateLocked,

    /**
     * Revokes a key at once. Refuses to revoke the current key of an endpoint (or, for the org's
     * Ed25519 key, of any endpoint signing with it): rotating first hands over without a gap.
     */
    async revoke(viewer: Viewer, id: string): Promise<SigningKeyRow> {
      if (!isIdOf('signingKey', id)) throw notFound('signing key', id);
      return inTransaction(database, async ({ sql, db }) => {
        const existing = await keys.findForOrg(viewer.orgId, id, db);
        if (!existing) throw notFound('signing key', id);
        // A label-scoped session sees only its endpoints' own keys, never the organization's.
        if (scope.scopeOf(viewer) !== null && (existing.endpointId === null || !(await scope.seesId(viewer, existing.endpointId)))) throw notFound('signing key', id);

        if (existing.endpointId !== null) {
          const endpoint = await endpoints.lockForOrg(viewer.orgId, existing.endpointId, db);
          if (existing.revokedAt) return existing;
          if (endpoint && endpoint.signingAlgorithm === 'HMAC_SHA256' && existing.expiresAt === null) {
            const others = (await keys.usableHmacForEndpoint(endpoint.id, db)).filter((k) => k.id !== id && k.expiresAt === null);
            if (others.length === 0) {
              throw badInput(
                `Key "${id}" is the signing key endpoint "${endpoint.id}" uses now; revoking it would leave the endpoint unable to sign. ` +
                  'Rotate first (rotateSigningKey, with gracePeriodSeconds: 0 to stop this key at once), then revoke it if it must stop before its grace period ends.',
                'id',
              );
            }
          }
          const revoked = await keys.revoke(id, db);
          if (endpoint) await engine.notifyEndpointChanged(sql, { orgId: viewer.orgId, endpointId: endpoint.id });
          return revoked;
        }

        await lockOrgEd25519Keys(sql, viewer.orgId);
        if (existing.revokedAt) return existing;
        if (existing.expiresAt === null) {
          const others = (await keys.usableEd25519ForOrg(viewer.orgId, db)).filter((k) => k.id !== id && k.expiresAt === null);
          const users = await endpoints.countSigningWith(viewer.orgId, 'ED25519', db);
          if (others.length === 0 && users > 0) {
            throw badInput(
              `Key "${id}" is the organization's current Ed25519 key, used by ${users} endpoint${users === 1 ? '' : 's'}; revoking it would leave them unable to sign. ` +
                'Rotate first (rotateSigningKey with algorithm ED25519 on one of those endpoints), then revoke this key.',
              'id',
            );
          }
        }
        const revoked = await keys.revoke(id, db);
        await notifyOrgEndpoints(sql, db, viewer.orgId);
        return revoked;
      });
    },

    /** The organization's JWKS: every Ed25519 public key that still signs (grace periods included); null for an unknown org. */
    async jwks(orgId: string): Promise<{ keys: Ed25519PublicJwk[] } | null> {
      if (!isIdOf('organization', orgId)) return null;
      const org = await orgs.findById(orgId);
      if (!org) return null;
      const usable = await keys.usableEd25519ForOrg(orgId);
      return {
        keys: usable.filter((k) => k.publicKey !== null).map((k) => publicKeyToJwk(decodePublicKey(k.publicKey!), k.id)),
      };
    },
  };
}
export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
