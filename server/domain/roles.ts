/** Roles an API key can have (SPEC §2). */
export type ApiKeyRole = 'admin' | 'operator' | 'publisher' | 'viewer';

/** What a request may do; GraphQL fields declare the capability they need. */
export type Capability = 'read' | 'readPayload' | 'operate' | 'manage' | 'publish';

const RIGHTS: Record<ApiKeyRole, ReadonlySet<Capability>> = {
  admin: new Set(['read', 'readPayload', 'operate', 'manage', 'publish']),
  // Operators recover deliveries, so they see what they replay.
  operator: new Set(['read', 'readPayload', 'operate']),
  // Publishers only publish; they may read back the event they just sent.
  publisher: new Set(['publish', 'readPayload']),
  viewer: new Set(['read']),
};

const DESCRIPTIONS: Record<Capability, string> = {
  read: 'read endpoints, events and deliveries',
  readPayload: 'read event payloads',
  operate: 'replay deliveries, pause or resume endpoints and send test events',
  manage: 'change endpoints, subscriptions, signing keys, event types and API keys',
  publish: 'publish events',
};

/** True when `role` grants `capability`. */
export function roleCan(role: ApiKeyRole, capability: Capability): boolean {
  return RIGHTS[role].has(capability);
}

/** The roles that grant `capability`, most specific first. */
export function rolesWith(capability: Capability): ApiKeyRole[] {
  return (['viewer', 'publisher', 'operator', 'admin'] as const).filter((r) => RIGHTS[r].has(capability));
}

/** A FORBIDDEN message a person can act on. */
export function forbiddenMessage(role: ApiKeyRole, capability: Capability): string {
  const needed = rolesWith(capability).join(' or ');
  return `This API key has the ${role} role, which cannot ${DESCRIPTIONS[capability]}. Use a key with the ${needed} role.`;
}
