/**
 * EventSubscription patterns (SPEC §3): a full event type (`pipeline.run.failed`), a prefix
 * ending in `.*` (`security.*` matches every type below `security` at any depth, not
 * `security` itself), or `*` (everything).
 */

export const MAX_EVENT_TYPE_LENGTH = 128;

const SEGMENT = '[a-z][a-z0-9_]*';
const EVENT_TYPE_RE = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})+$`);
const PREFIX_PATTERN_RE = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*\\.\\*$`);
const MAX_SUGGESTIONS = 3;
const SUGGESTION_SLACK = 2;

/** True for a well-formed event type name: ≥ 2 dot-separated `[a-z][a-z0-9_]*` segments, ≤ 128 chars. */
export function isValidEventTypeName(name: string): boolean {
  return typeof name === 'string' && name.length <= MAX_EVENT_TYPE_LENGTH && EVENT_TYPE_RE.test(name);
}

/** True for a syntactically valid pattern: `*`, an event type, or a prefix ending in `.*`. */
export function isValidPattern(pattern: string): boolean {
  if (typeof pattern !== 'string' || pattern.length > MAX_EVENT_TYPE_LENGTH) return false;
  return pattern === '*' || EVENT_TYPE_RE.test(pattern) || PREFIX_PATTERN_RE.test(pattern);
}

/** True when `pattern` selects event `type`. */
export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** Compiles patterns into a fast predicate (Set lookup for exact types, prefix scan for wildcards). */
export function compileMatcher(patterns: readonly string[]): (type: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith('.*')) prefixes.push(p.slice(0, -1)); // keep the dot: "security." ≠ "securityx."
    else exact.add(p);
  }
  if (prefixes.length === 0) return (type) => exact.has(type);
  return (type) => {
    if (exact.has(type)) return true;
    for (const prefix of prefixes) if (type.startsWith(prefix)) return true;
    return false;
  };
}

/** Levenshtein distance, two rows: names are short and this runs only on a rejected input. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let curr = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      curr[j] = Math.min(prev[j]! + 1, curr[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length]!;
}

function rankByDistance(input: string, names: readonly string[]): { name: string; d: number }[] {
  return [...new Set(names)]
    .map((name) => ({ name, d: editDistance(input, name) }))
    .sort((x, y) => x.d - y.d || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** Up to `n` names closest to `input` by edit distance, ties broken alphabetically. */
export function closestNames(input: string, names: readonly string[], n: number): string[] {
  return rankByDistance(input, names)
    .slice(0, Math.max(0, n))
    .map((x) => x.name);
}

/**
 * The closest names, dropping those clearly worse than the best one, so that an obvious typo
 * ("pipeline.run.faild") names just its fix while a vaguer input still gets up to three.
 */
function suggestions(input: string, names: readonly string[]): string[] {
  const ranked = rankByDistance(input, names);
  const best = ranked[0]?.d ?? 0;
  return ranked
    .filter((x) => x.d <= best + SUGGESTION_SLACK)
    .slice(0, MAX_SUGGESTIONS)
    .map((x) => x.name);
}

function quoteList(names: readonly string[]): string {
  const q = names.map((s) => `"${s}"`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** Every `a.*`, `a.b.*`, … prefix pattern that matches at least one catalog type. */
function catalogPrefixPatterns(catalog: readonly string[]): string[] {
  const out = new Set<string>();
  for (const type of catalog) {
    const segments = type.split('.');
    for (let i = 1; i < segments.length; i++) out.add(`${segments.slice(0, i).join('.')}.*`);
  }
  return [...out];
}

export type PatternValidation = { ok: true; patterns: string[] } | { ok: false; problems: string[] };

/** Checks syntax, duplicates and that each pattern matches a catalog type (suggesting the closest names). */
export function validatePatterns(patterns: readonly string[], catalog: readonly string[]): PatternValidation {
  const problems: string[] = [];
  const seen = new Set<string>();
  const reportedDuplicates = new Set<string>();
  let prefixCandidates: string[] | null = null;

  for (const pattern of patterns) {
    if (!isValidPattern(pattern)) {
      problems.push(
        `Invalid pattern ${JSON.stringify(pattern)}: use a full event type such as "pipeline.run.failed", ` +
          `a prefix ending in ".*" such as "security.*", or "*" (lowercase letters, digits and "_", ` +
          `segments separated by ".", at most ${MAX_EVENT_TYPE_LENGTH} characters).`,
      );
      continue;
    }
    if (seen.has(pattern)) {
      if (!reportedDuplicates.has(pattern)) problems.push(`Duplicate pattern "${pattern}".`);
      reportedDuplicates.add(pattern);
      continue;
    }
    seen.add(pattern);
    if (catalog.some((type) => matchesPattern(pattern, type))) continue;

    if (pattern === '*') {
      problems.push('Pattern "*" matches no event type: the catalog is empty.');
    } else if (pattern.endsWith('.*')) {
      prefixCandidates ??= catalogPrefixPatterns(catalog);
      const hint = suggestions(pattern, prefixCandidates);
      problems.push(`No event type matches "${pattern}".${hint.length ? ` Did you mean ${quoteList(hint)}?` : ''}`);
    } else {
      const hint = suggestions(pattern, catalog);
      problems.push(`Unknown event type "${pattern}".${hint.length ? ` Did you mean ${quoteList(hint)}?` : ''}`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, patterns: [...patterns] };
}
