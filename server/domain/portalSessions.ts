/**
 * Embeddable portal sessions (SPEC §10): what a platform may ask for when it creates one, and the
 * label scope a session sees endpoints through. Pure.
 */
import type { InputProblem } from './errors.js';
import type { ApiKeyRole } from './roles.js';
import { ENDPOINT_LIMITS } from './endpointSettings.js';

export const PORTAL_LIMITS = {
  ttlSeconds: { min: 60, max: 86_400, default: 3_600 },
  displayNameLength: 100,
} as const;

/** Roles a portal session can have: the console's roles (a publisher has no console). */
export const PORTAL_ROLES: readonly ApiKeyRole[] = ['admin', 'operator', 'viewer'];

export interface PortalSessionRequest {
  role: ApiKeyRole;
  ttlSeconds?: number | null;
  labels?: readonly string[] | null;
  displayName?: string | null;
  accentColor?: string | null;
}

export interface PortalSessionSettings {
  role: ApiKeyRole;
  ttlSeconds: number;
  /** Null: every endpoint of the organization. */
  labels: string[] | null;
  displayName: string | null;
  /** `#rrggbb`, lower case. */
  accentColor: string | null;
}

/** Validates a createPortalSession request; every problem names its argument. */
export function validatePortalSession(input: PortalSessionRequest): { ok: true; value: PortalSessionSettings } | { ok: false; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  if (!PORTAL_ROLES.includes(input.role)) {
    problems.push({ field: 'role', message: `role must be ADMIN, OPERATOR or VIEWER (got ${String(input.role).toUpperCase()}): a portal is the console, and publishers have none.` });
  }
  const ttl = input.ttlSeconds ?? PORTAL_LIMITS.ttlSeconds.default;
  if (!Number.isInteger(ttl) || ttl < PORTAL_LIMITS.ttlSeconds.min || ttl > PORTAL_LIMITS.ttlSeconds.max) {
    problems.push({ field: 'ttlSeconds', message: `ttlSeconds must be a whole number from ${PORTAL_LIMITS.ttlSeconds.min} to ${PORTAL_LIMITS.ttlSeconds.max} (got ${ttl}).` });
  }
  let labels: string[] | null = null;
  if (input.labels !== undefined && input.labels !== null) {
    labels = [...new Set(input.labels.map((l) => l.trim()))];
    if (labels.length === 0) {
      problems.push({ field: 'labels', message: 'labels is empty: give the labels whose endpoints the session may see (e.g. ["team:security"]), or leave it out for every endpoint.' });
    } else if (labels.length > ENDPOINT_LIMITS.labels) {
      problems.push({ field: 'labels', message: `labels has ${labels.length} entries; the limit is ${ENDPOINT_LIMITS.labels}.` });
    } else if (labels.some((l) => l.length < 1 || l.length > ENDPOINT_LIMITS.labelLength)) {
      problems.push({ field: 'labels', message: `each label must be 1 to ${ENDPOINT_LIMITS.labelLength} characters.` });
    }
  }
  const displayName = input.displayName?.trim() || null;
  if (displayName !== null && (displayName.length > PORTAL_LIMITS.displayNameLength || /[\u0000-\u001f\u007f]/.test(displayName))) {
    problems.push({ field: 'displayName', message: `displayName must be at most ${PORTAL_LIMITS.displayNameLength} printable characters.` });
  }
  let accentColor = input.accentColor?.trim() || null;
  if (accentColor !== null) {
    if (!/^#[0-9a-f]{6}$/i.test(accentColor)) problems.push({ field: 'accentColor', message: `accentColor must be a colour like "#0a7d5c" (got ${JSON.stringify(accentColor)}).` });
    accentColor = accentColor.toLowerCase();
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { role: input.role, ttlSeconds: ttl, labels, displayName, accentColor } };
}

/** True when an endpoint with `labels` is visible to a session scoped to `scope` (null: unscoped). */
export function labelsInScope(scope: readonly string[] | null, labels: readonly string[]): boolean {
  return scope === null || labels.some((l) => scope.includes(l));
}
