/**
 * EventSubscription patterns for the event-type picker (mirrors SPEC §3; the server checks
 * again). A pattern is a full type (`pipeline.run.failed`), a prefix ending in `.*`
 * (`security.*`: every type below it, any depth) or `*` (everything).
 * Pure: no imports, so it is unit-tested directly.
 */

export interface CatalogType {
  name: string;
  category: string;
  description?: string;
}

export interface CategoryGroup {
  category: string;
  /** The wildcard that selects the whole category (`security.*`), when its types share a prefix. */
  wildcard: string | null;
  types: CatalogType[];
}

const SEGMENT = '[a-z][a-z0-9_]*';
const TYPE_RE = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})+$`);
const PREFIX_RE = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*\\.\\*$`);

/** `*`, a full event type, or a dot-prefix ending in `.*`. */
export function isValidPattern(pattern: string): boolean {
  return pattern.length <= 128 && (pattern === '*' || TYPE_RE.test(pattern) || PREFIX_RE.test(pattern));
}

export function isWildcard(pattern: string): boolean {
  return pattern === '*' || pattern.endsWith('.*');
}

/** True when `pattern` selects event `type`. */
export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** True when every type `inner` can select is also selected by `outer` (and they differ). */
export function patternCovers(outer: string, inner: string): boolean {
  if (outer === inner) return false;
  if (outer === '*') return true;
  if (!outer.endsWith('.*')) return false;
  const prefix = outer.slice(0, -1);
  return inner !== '*' && inner.startsWith(prefix);
}

/** Catalog names the pattern selects. */
export function matchingTypes(pattern: string, catalog: readonly CatalogType[]): string[] {
  return catalog.filter((t) => matchesPattern(pattern, t.name)).map((t) => t.name);
}

/** The selected wildcard that already selects `type` (shown as "via security.*"), if any. */
export function coveringPattern(type: string, selected: readonly string[]): string | null {
  return selected.find((p) => isWildcard(p) && matchesPattern(p, type)) ?? null;
}

/** Longest common dot-prefix of names ("security.api_key.created", "security.policy.changed" → "security"). */
function commonPrefix(names: string[]): string {
  if (names.length === 0) return '';
  let parts = names[0]!.split('.').slice(0, -1);
  for (const name of names.slice(1)) {
    const other = name.split('.');
    let i = 0;
    while (i < parts.length && parts[i] === other[i] && i < other.length - 1) i++;
    parts = parts.slice(0, i);
  }
  return parts.join('.');
}

/** Types grouped by category (categories and types sorted by name), each with its wildcard. */
export function groupByCategory(catalog: readonly CatalogType[]): CategoryGroup[] {
  const groups = new Map<string, CatalogType[]>();
  for (const t of catalog) {
    const list = groups.get(t.category) ?? [];
    list.push(t);
    groups.set(t.category, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([category, types]) => {
      const sorted = [...types].sort((a, b) => a.name.localeCompare(b.name));
      // A wildcard is only offered when it selects exactly this category's types: the category
      // name itself (`pipeline.*`, which also covers types added later), else their common prefix.
      const exact = (w: string): boolean => isValidPattern(w) && catalog.every((t) => matchesPattern(w, t.name) === (t.category === category));
      const prefix = commonPrefix(sorted.map((t) => t.name));
      const wildcard = [`${category}.*`, prefix ? `${prefix}.*` : null].find((w): w is string => w !== null && exact(w)) ?? null;
      return { category, wildcard, types: sorted };
    });
}

/**
 * Adds or removes a pattern. Adding a wildcard drops the patterns it makes redundant (so the
 * list shows what the user meant); adding something already covered is a no-op.
 */
export function togglePattern(selected: readonly string[], pattern: string): string[] {
  if (selected.includes(pattern)) return selected.filter((p) => p !== pattern);
  if (selected.some((p) => patternCovers(p, pattern))) return [...selected];
  return [...selected.filter((p) => !patternCovers(pattern, p)), pattern];
}

/**
 * Why a typed pattern cannot be added, or null when it can: bad syntax, matches nothing in the
 * catalog (with the closest names), or already selected.
 */
export function checkCustomPattern(input: string, catalog: readonly CatalogType[], selected: readonly string[]): string | null {
  const pattern = input.trim();
  if (!pattern) return 'Type a pattern, e.g. pipeline.run.* or security.api_key.created.';
  if (!isValidPattern(pattern)) {
    return 'Use a full type (pipeline.run.failed), a prefix ending in ".*" (security.*) or "*"; lowercase letters, digits and "_" between dots.';
  }
  if (selected.includes(pattern)) return `${pattern} is already selected.`;
  const covering = selected.find((p) => patternCovers(p, pattern));
  if (covering) return `${pattern} is already covered by ${covering}.`;
  if (matchingTypes(pattern, catalog).length === 0) {
    const close = closestNames(pattern.replace(/\.\*$/, ''), catalog.map((t) => t.name), 3);
    return `${pattern} matches no event type in the catalog${close.length ? `; did you mean ${close.join(', ')}?` : '.'}`;
  }
  return null;
}

/** A short description of what a pattern selects, e.g. "3 types" or "every event type". */
export function describePattern(pattern: string, catalog: readonly CatalogType[]): string {
  if (pattern === '*') return 'every event type, including ones added later';
  const n = matchingTypes(pattern, catalog).length;
  if (!isWildcard(pattern)) return n ? 'one type' : 'not in the catalog';
  return `${n} type${n === 1 ? '' : 's'} now, and any added below ${pattern.slice(0, -2)}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const curr = [i];
    for (let j = 1; j <= b.length; j++) {
      curr[j] = Math.min(prev[j]! + 1, curr[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = curr;
  }
  return prev[b.length]!;
}

/** Up to `n` names closest to `input` (edit distance, then alphabetical). */
export function closestNames(input: string, names: readonly string[], n: number): string[] {
  return [...new Set(names)]
    .map((name) => ({ name, d: Math.min(editDistance(input, name), name.startsWith(input) ? 1 : Infinity) }))
    .sort((x, y) => x.d - y.d || x.name.localeCompare(y.name))
    .slice(0, n)
    .map((x) => x.name);
}
