import { badInput } from '../domain/errors.js';
import type { Page, PageArgs } from '../domain/pages.js';

interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Forward-only page arguments; lists are newest first, so `first`/`after` cover every use. */
export function pageArgs(args: ConnectionArgs): PageArgs {
  if (args.last != null || args.before != null) {
    throw badInput('Lists page forwards only: use "first" and "after" (cursors come from pageInfo.endCursor).', 'last');
  }
  return { first: args.first, after: args.after };
}

/** A Relay connection from a page whose nodes carry their id (the id is the cursor). */
export function toConnection<T extends { id: string }>(page: Page<T>) {
  const edges = page.nodes.map((node) => ({ cursor: node.id, node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
