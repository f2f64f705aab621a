/**
 * What a content filter (domain/contentFilter.ts) may spend and the names it may read: the bounds
 * checked when it is compiled (contentFilterInspection.ts) and charged while it runs
 * (contentFilterFunctions.ts).
 */
export const FILTER_LIMITS = {
  /** Characters of the expression. */
  length: 1_000,
  /** Nodes of the parsed expression (a comparison like `data.a == "x"` is 4). */
  nodes: 120,
  /** Elements iterated by comprehension macros, per evaluation, all comprehensions together. */
  iterations: 1_000,
  /** Characters (or bytes, or list elements) handled by string/bytes/list operations, per evaluation. */
  work: 1_048_576,
  /** Distinct regex patterns kept compiled (patterns are literals of stored filters). */
  cachedPatterns: 1_000,
} as const;

/** The variables a filter sees. */
export const FILTER_VARIABLES = ['type', 'data', 'orderingKey', 'timestamp'] as const;
