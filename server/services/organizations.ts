import type { Database } from '../db/client.js';
import { createOrganizationsRepo } from '../db/repos/organizations.js';
import type { Organization } from '../db/schema.js';
import { badInput } from '../domain/errors.js';
import type { ApiKeyRole } from '../domain/roles.js';
import { newId } from '../crypto/random.js';
import type { Publisher } from '../engine/publish.js';
import { issueApiKey } from './apiKeys.js';

export const PLANS = ['enterprise', 'professional', 'starter'] as const;
export const ROLES: readonly ApiKeyRole[] = ['admin', 'operator', 'publisher', 'viewer'];

/** Creating organizations and keys outside GraphQL: the admin CLI and the first start. */
export function createOrganizationService(deps: { database: Database; publisher: Publisher }) {
  const { database, publisher } = deps;
  const orgs = createOrganizationsRepo(database.db);

  return {
    /** Creates an organization and an admin key for it; the key is returned once. */
    async createOrganization(input: { name: string; plan?: string }): Promise<{ org: Organization; apiKey: string }> {
      const name = input.name.trim();
      if (!name || name.length > 100) throw badInput('Organization name must be 1 to 100 characters.', 'name');
      const plan = (input.plan ?? 'enterprise') as Organization['plan'];
      if (!PLANS.includes(plan)) throw badInput(`Unknown plan "${input.plan}" (expected ${PLANS.join(', ')}).`, 'plan');
      if (await orgs.findByName(name)) throw badInput(`An organization named "${name}" already exists.`, 'name');
      return (await database.sql.begin(async (tx) => {
        const [org] = await tx<Organization[]>`
          INSERT INTO organizations (id, name, plan) VALUES (${newId('organization')}, ${name}, ${plan})
          RETURNING id, name, plan, created_at AS "createdAt"`;
        const { key } = await issueApiKey(tx, publisher, { orgId: org!.id, role: 'admin', name: 'Initial admin key', createdBy: null });
        return { org: org!, apiKey: key };
      })) as { org: Organization; apiKey: string };
    },

    /** Creates another key for an organization (CLI); the key is returned once. */
    async createApiKey(orgId: string, role: ApiKeyRole, name: string) {
      return (await database.sql.begin((tx) => issueApiKey(tx, publisher, { orgId, role, name, createdBy: null }))) as Awaited<
        ReturnType<typeof issueApiKey>
      >;
    },

    /** On an empty database, creates the `default` enterprise org; returns its admin key once. */
    async bootstrapDefault(): Promise<{ org: Organization; apiKey: string } | null> {
      if ((await orgs.count()) > 0) return null;
      try {
        return await this.createOrganization({ name: 'default', plan: 'enterprise' });
      } catch (err) {
        // Another process bootstrapped at the same moment: that one prints the key.
        if ((await orgs.findByName('default')) !== null) return null;
        throw err;
      }
    },

    findOrganization: (id: string) => orgs.findById(id),
  };
}
export type OrganizationService = ReturnType<typeof createOrganizationService>;
