import { badInput } from './errors.js';

/** Relay-style forward pagination arguments. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Validated page size; lists are newest first and keyed by their time-ordered id. */
export function pageSize(args: PageArgs): number {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE} (got ${first}).`, 'first');
  }
  return first;
}

/** Turns a LIMIT n+1 result into a page of n and whether more exist. */
export function toPage<T>(rows: T[], args: PageArgs): Page<T> {
  const size = pageSize(args);
  return { nodes: rows.slice(0, size), hasNextPage: rows.length > size };
}
