import { createHash, timingSafeEqual } from 'node:crypto';
import type { Sql } from 'postgres';
import { CHANNELS, notifyIds, notifyJson, type EndpointChanged } from '../db/notifications.js';
import { createOrganizationsRepo } from '../db/repos/organizations.js';
import type { Database } from '../db/client.js';
import type { Organization } from '../db/schema.js';
import { badInput, DomainError, notFound } from '../domain/errors.js';
import type { Page, PageArgs } from '../domain/pages.js';
import { bearerToken } from './apiKeyTokens.js';
import { PLANS, type OrganizationService } from './organizations.js';

/** The platform operator: creates organizations and sets their plans; reads no organization's data. */
export interface PlatformPrincipal {
  kind: 'platform';
}

/** Organizations whose endpoints one notification names (workers reload them). */
const NOTIFY_CHUNK = 500;

/**
 * Organization provisioning for the platform that resells this service: its customers'
 * organizations are created when they upgrade and change plan when they downgrade.
 *
 * Plans and deliveries: webhooks are an enterprise feature. An organization moved off enterprise
 * keeps its endpoints, keys, event types and history, and the platform may keep publishing (events
 * are stored and returned as usual), but no delivery is made for them. Deliveries already queued
 * when it was downgraded are held, not cancelled: the workers send nothing for its endpoints, and
 * the deliveries wait (their attempts untouched) until it is moved back to enterprise, when they go
 * out in their original order. Events published while downgraded are never delivered.
 */
export function createPlatformService(deps: {
  database: Database;
  organizations: OrganizationService;
  token: string | null;
  /** The api process's own cache of keys (other processes hear it on a channel). */
  forgetOrganizationKeys(orgId: string): void;
}) {
  const { database } = deps;
  const sql: Sql = database.sql;
  const orgs = createOrganizationsRepo(database.db);
  const tokenDigest = deps.token ? createHash('sha256').update(deps.token).digest() : null;

  return {
    /**
     * The platform principal when `authorization` carries the platform token, null for anything
     * else (API keys are then tried). Compared as digests in constant time.
     */
    identify(authorization: string | null | undefined): PlatformPrincipal | null {
      if (!tokenDigest) return null;
      const token = bearerToken(authorization);
      if (!token || token.startsWith('whk_')) return null;
      const digest = createHash('sha256').update(token).digest();
      return timingSafeEqual(digest, tokenDigest) ? { kind: 'platform' } : null;
    },

    /** Creates an organization and its first admin key (returned once). */
    createOrganization(input: { name: string; plan?: string | null }) {
      return deps.organizations.createOrganization({ name: input.name, plan: input.plan ?? 'enterprise' });
    },

    /** Moves an organization to `plan` (see the module comment for what happens to deliveries). */
    async setPlan(orgId: string, plan: string): Promise<Organization> {
      if (!PLANS.includes(plan as Organization['plan'])) throw badInput(`Unknown plan "${plan}" (expected ${PLANS.join(', ')}).`, 'plan');
      const updated = await sql.begin(async (tx) => {
        const [row] = await tx<(Organization & { previous: Organization['plan'] })[]>`
          UPDATE organizations o SET plan = ${plan}::plan, catalog_version = o.catalog_version + 1
          FROM (SELECT id, plan AS previous FROM organizations WHERE id = ${orgId} FOR UPDATE) p
          WHERE o.id = p.id
          RETURNING o.id, o.name, o.plan, o.created_at AS "createdAt", p.previous`;
        if (!row) throw notFound('organization', orgId);
        if (row.previous === row.plan) return row;
        // Workers reload the endpoints (their runtimes carry the plan) and, when webhooks come
        // back, go through the backlog that waited.
        const endpoints = await tx<{ id: string }[]>`SELECT id FROM endpoints WHERE org_id = ${orgId} AND deleted_at IS NULL`;
        for (let i = 0; i < endpoints.length; i += NOTIFY_CHUNK) {
          const chunk = endpoints.slice(i, i + NOTIFY_CHUNK);
          await notifyJson(tx, CHANNELS.endpointChanged, chunk.map((e): EndpointChanged => ({ orgId, endpointId: e.id })));
        }
        if (plan === 'enterprise') await notifyIds(tx, CHANNELS.wake, endpoints.map((e) => e.id));
        await notifyIds(tx, CHANNELS.organizationChanged, [orgId]);
        return row;
      });
      deps.forgetOrganizationKeys(orgId);
      return { id: updated.id, name: updated.name, plan: updated.plan, createdAt: updated.createdAt };
    },

    /** Organizations, newest first. */
    async list(args: PageArgs): Promise<Page<Organization>> {
      return orgs.page(args);
    },
  };
}
export type PlatformService = ReturnType<typeof createPlatformService>;

/** What an organization key gets when it tries a platform operation. */
export function platformOnly(action: string): DomainError {
  return new DomainError(
    'FORBIDDEN',
    `Only the platform operator credential (WEBHOOKS_PLATFORM_TOKEN) may ${action}; organization API keys never can.`,
  );
}
