/**
 * graphql-ws operations open at once, per socket and per organization (on this api process).
 * Subscriptions stay open and cost memory and work for every message their topic carries (5,000
 * on one socket made ten attempts take 13.7 s to fan out); queries and mutations sent over a
 * socket count only while they run. Reserving is a counter check: a flood of refused operations
 * costs next to nothing.
 */
export function createSubscriptionLimits(limits: { perSocket: number; perOrganization: number }) {
  const bySocket = new WeakMap<object, Map<string, string>>();
  const byOrganization = new Map<string, number>();

  function end(socket: object, id: string): void {
    const mine = bySocket.get(socket);
    const orgId = mine?.get(id);
    if (orgId === undefined) return;
    mine!.delete(id);
    const left = (byOrganization.get(orgId) ?? 1) - 1;
    if (left > 0) byOrganization.set(orgId, left);
    else byOrganization.delete(orgId);
  }

  return {
    /** Counts an operation that starts; a message when it would pass a limit (then it is not counted). */
    reserve(socket: object, id: string, orgId: string): string | null {
      let mine = bySocket.get(socket);
      if (!mine) bySocket.set(socket, (mine = new Map()));
      if (mine.size >= limits.perSocket) {
        return `This connection already has ${limits.perSocket} operations open (live subscriptions), the most one connection may hold; complete some, or filter one subscription instead of opening many.`;
      }
      if ((byOrganization.get(orgId) ?? 0) >= limits.perOrganization) {
        return `This organization already has ${limits.perOrganization} live subscriptions on this server, the most it may hold; close some first.`;
      }
      mine.set(id, orgId);
      byOrganization.set(orgId, (byOrganization.get(orgId) ?? 0) + 1);
      return null;
    },
    /** Releases an operation (completed, failed or refused after reserving). */
    end,
    closeSocket(socket: object): void {
      for (const id of [...(bySocket.get(socket)?.keys() ?? [])]) end(socket, id);
    },
    /** Operations open for an organization on this process (metrics, tests). */
    countFor: (orgId: string): number => byOrganization.get(orgId) ?? 0,
  };
}
