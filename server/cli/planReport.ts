/**
 * A configuration plan as a person reads it in a terminal or a CI log: one line per object that
 * changes (+ create, ~ update, - delete) with its changed settings as `before → after`, secret
 * values never shown, then a summary line.
 */

export interface PlanFieldChange {
  field: string;
  before: unknown;
  after: unknown;
  secret: boolean;
}

export interface PlanChange {
  kind: 'ENDPOINT' | 'EVENT_TYPE';
  key: string;
  action: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNCHANGED';
  changedFields: string[];
  fields: PlanFieldChange[];
  id: string | null;
  secret: string | null;
}

export interface PlanResult {
  applied: boolean;
  dryRun: boolean;
  changes: PlanChange[];
  unmanaged: { kind: 'ENDPOINT' | 'EVENT_TYPE'; key: string }[];
}

const SIGN = { CREATE: '+', UPDATE: '~', DELETE: '-', UNCHANGED: '=' } as const;
const NOUN = { ENDPOINT: 'endpoint', EVENT_TYPE: 'event type' } as const;
const MAX_VALUE = 100;

/** A value on one line, shortened. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function fieldLine(f: PlanFieldChange, action: PlanChange['action']): string {
  if (f.secret) return `      ${f.field}: (secret value ${action === 'CREATE' ? 'set' : 'changed'})`;
  if (action === 'CREATE') return `      ${f.field}: ${showValue(f.after)}`;
  return `      ${f.field}: ${showValue(f.before)} → ${showValue(f.after)}`;
}

/** Counts by action. */
export function summarize(plan: PlanResult): Record<PlanChange['action'], number> {
  const counts = { CREATE: 0, UPDATE: 0, DELETE: 0, UNCHANGED: 0 };
  for (const c of plan.changes) counts[c.action]++;
  return counts;
}

/** True when applying the plan would change something. */
export function hasChanges(plan: PlanResult): boolean {
  return plan.changes.some((c) => c.action !== 'UNCHANGED');
}

/** The report lines (without secrets: those are handled by the caller). */
export function renderPlan(plan: PlanResult): string[] {
  const lines: string[] = [];
  for (const change of plan.changes) {
    if (change.action === 'UNCHANGED') continue;
    const note =
      change.action === 'DELETE' && change.kind === 'EVENT_TYPE'
        ? ' (deprecated: event types are never removed)'
        : change.action === 'UPDATE' && change.changedFields.includes('signingAlgorithm')
          ? ` (signing key rotation: the old key keeps signing for 24 h)`
          : '';
    lines.push(`  ${SIGN[change.action]} ${NOUN[change.kind]} ${change.key}${note}`);
    if (change.action !== 'DELETE') lines.push(...change.fields.map((f) => fieldLine(f, change.action)));
  }
  const counts = summarize(plan);
  if (plan.unmanaged.length > 0) {
    lines.push('  Not in the document, left as they are (--prune deletes such endpoints and deprecates such event types):');
    lines.push(...plan.unmanaged.map((u) => `    ${NOUN[u.kind]} ${u.key}`));
  }
  const verb = plan.dryRun ? 'would be' : 'were';
  lines.push(
    `${counts.CREATE} to create, ${counts.UPDATE} to update, ${counts.DELETE} to delete, ${counts.UNCHANGED} unchanged` +
      (plan.dryRun ? ' (dry run: nothing was changed).' : hasChanges(plan) ? ` — applied.` : ' — nothing to do.'),
  );
  if (!hasChanges(plan) && lines.length === 1) lines.unshift(`  Everything is as the document says; nothing ${verb} changed.`);
  return lines;
}

/** The new signing secrets of a plan, by endpoint key. */
export function newSecrets(plan: PlanResult): Record<string, string> {
  return Object.fromEntries(plan.changes.filter((c) => c.secret).map((c) => [c.key, c.secret!]));
}
