import { getNullableType, GraphQLList, type GraphQLOutputType } from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/pages.js';

/** Plain lists without a size argument (attempts, labels, headers...): what one usually holds. */
const LIST_MULTIPLIER = 10;

/**
 * Costs of fields that carry payloads or receiver answers (up to 256 KiB and 4 KiB each): a page
 * of 500 events with `data` stays within the default limit once, not sixty times over.
 */
export const PAYLOAD_FIELD_COST = { eventData: 20, responseBody: 5, headers: 2 } as const;

/**
 * The cost of a field for the Pothos complexity calculation (queryLimits.ts runs it with the
 * request's variables): a paginated field multiplies its selection by its page size (`first`,
 * default 50), a connection's `edges` by 1 (already counted), other lists by 10.
 */
export function fieldComplexity(args: Record<string, unknown>, _ctx: unknown, field: { name: string; type: GraphQLOutputType; args: readonly { name: string }[] }): { field: number; multiplier: number } {
  if (field.args.some((a) => a.name === 'first')) {
    const first = typeof args.first === 'number' && Number.isFinite(args.first) ? args.first : DEFAULT_PAGE_SIZE;
    return { field: 1, multiplier: Math.min(Math.max(Math.trunc(first), 1), MAX_PAGE_SIZE) };
  }
  if (field.name === 'edges') return { field: 1, multiplier: 1 };
  return { field: 1, multiplier: getNullableType(field.type) instanceof GraphQLList ? LIST_MULTIPLIER : 1 };
}
