import { GraphQLError, validate, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { createComplexityRule } from '@pothos/plugin-complexity';
import { badInput } from '../domain/errors.js';
import { requestError } from './errors.js';

/** What one GraphQL document may ask for; docs/configuration.md says how to tune each. */
export interface QueryLimits {
  /** Lexical tokens of the document (checked while parsing: a 16 MB alias bomb stops at the limit). */
  tokens: number;
  /** Aliased fields, `__typename` included. */
  aliases: number;
  /** Selection-set depth (fragments followed). */
  depth: number;
  /** Directives in the document. */
  directives: number;
  /** Cost: every field 1, list fields times their page size (`first`), payload fields more (see costs.ts). */
  complexity: number;
  /** Fields selected side by side, summed over the document (Pothos "breadth"). */
  breadth: number;
  /** Bracket nesting of the document text, checked before the (recursive) parser runs. */
  nesting: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  tokens: 10_000,
  aliases: 30,
  depth: 12,
  directives: 20,
  complexity: 20_000,
  breadth: 250,
  nesting: 128,
};

/** A refusal by one of the limits: the caller's input, so BAD_USER_INPUT (HTTP 400 under the GraphQL-over-HTTP spec). */
function limitError(message: string): GraphQLError {
  return requestError(badInput(message));
}

/**
 * The plugins that bound a GraphQL request before anything runs for it. Order matters:
 * 1. nesting: a scan of the text (no recursion) refuses documents nested past `nesting` before
 *    graphql-js's recursive-descent parser could overflow its stack (a 20,000-level document was
 *    an INTERNAL_SERVER_ERROR with a stack in the log);
 * 2. tokens (graphql-armor): the parser stops at the limit, so a 16 MB alias bomb costs only the
 *    tokens read up to it;
 * 3. aliases, depth, directives (graphql-armor): validation rules, run before the context (and so
 *    before authentication) is built, cached per document by yoga;
 * 4. cost (Pothos complexity with the request's variables, so `first: $n` counts): just before
 *    execution, since yoga caches validation per document and the cost depends on variables.
 */
export function createQueryLimitPlugins(limits: QueryLimits): Plugin[] {
  // graphql-armor rules report by throwing a codeless "Syntax Error: ..." GraphQLError, which is
  // thrown on as soon as this returns: it gets the API's code (from requestError, the one
  // mapping) and a message a person can act on.
  const reject = (what: string) => [
    (_ctx: ValidationContext | null, error: GraphQLError) => {
      const found = /found (\d+)/.exec(error.message)?.[1];
      const mapped = requestError(badInput(`The query is over the ${what} limit${found ? ` (${found})` : ''}; ${HINTS[what]}`));
      Object.assign(error.extensions as Record<string, unknown>, mapped.extensions, { limit: what });
      (error as { message: string }).message = mapped.message;
    },
  ];
  return [
    {
      onParse({ params }) {
        const text = typeof params.source === 'string' ? params.source : params.source.body;
        const nesting = maxNesting(text, limits.nesting);
        if (nesting > limits.nesting) {
          throw limitError(`The query is nested more than ${limits.nesting} levels deep; pass deep JSON as a variable, and select fewer levels.`);
        }
      },
    },
    maxTokensPlugin({ n: limits.tokens, onReject: reject('tokens') }),
    // graphql-armor exempts `__typename` by default: a million `aN: __typename` aliases went through.
    maxAliasesPlugin({ n: limits.aliases, allowList: [], onReject: reject('aliases') }),
    maxDepthPlugin({ n: limits.depth, onReject: reject('depth'), flattenFragments: true }),
    maxDirectivesPlugin({ n: limits.directives, onReject: reject('directives') }),
    costPlugin(limits),
  ];
}

const HINTS: Record<string, string> = {
  tokens: 'send a smaller document (pass data as variables, not literals).',
  aliases: 'ask for fewer aliased fields (__typename included) per request.',
  depth: 'select fewer nested levels.',
  directives: 'use fewer directives.',
};

/** The cost check of `limits`, with the operation's variables. */
function costPlugin(limits: QueryLimits): Plugin {
  function check(schema: GraphQLSchema, document: Parameters<typeof validate>[1], operationName: string | null | undefined, variables: unknown) {
    const rule = createComplexityRule({
      variableValues: (variables && typeof variables === 'object' ? variables : {}) as Record<string, unknown>,
      operationName: operationName ?? undefined,
      context: {},
      maxComplexity: limits.complexity,
      maxDepth: limits.depth,
      maxBreadth: limits.breadth,
    });
    const errors = validate(schema, document, [rule]);
    if (errors.length === 0) return null;
    // Variable errors are left for execution to report as usual; only the limits are ours.
    const over = errors.find((e) => /exceeds max/.test(e.message));
    if (!over) return null;
    // Pothos says e.g. "Query complexity of 61501 exceeds max complexity of 20000".
    return limitError(`${over.message.replace(/^Query /, 'The query\'s ')}: ask for smaller pages ("first") or fewer fields; payload fields (data, responseBody) cost more.`);
  }
  const run = ({ args, setResultAndStopExecution }: { args: { schema: GraphQLSchema; document: Parameters<typeof validate>[1]; operationName?: string | null; contextValue: unknown }; setResultAndStopExecution: (r: { errors: GraphQLError[] }) => void }) => {
    // The raw variables as sent (yoga's `params`); graphql-ws passes its payload the same way.
    const params = (args.contextValue as { params?: { variables?: unknown } }).params;
    const error = check(args.schema, args.document, args.operationName, params?.variables);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return { onExecute: run, onSubscribe: run } as Plugin;
}

/**
 * The deepest bracket nesting ({, [, ( outside strings and comments) of a GraphQL document, or
 * `limit + 1` as soon as it is passed: linear, no recursion, stops early.
 */
export function maxNesting(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        i = end < 0 ? text.length : end + 2;
      } else {
        for (i++; i < text.length && text.charCodeAt(i) !== 0x22 && text.charCodeAt(i) !== 0x0a; i++) if (text.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x23 /* # */) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}
