/**
 * The plan of a configuration document: for every object it names (and, with `prune`, every one
 * it leaves out) what applying it does — CREATE, UPDATE with the settings that differ, DELETE or
 * UNCHANGED — and the inputs the endpoint and event-type services then validate and write.
 * Pure: the caller supplies the current state (secrets in clear, for comparison only).
 */
import { uidProblem } from '../clientIds.js';
import type { InputProblem } from '../errors.js';
import { isIdOf } from '../ids.js';
import type { SigningAlgorithm } from '../signing.js';
import { parseDocument, type ParsedDocument } from './document.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, endpointFieldOf, type CurrentEndpoint } from './endpointFields.js';
import { EVENT_TYPE_FIELD_NAMES, EVENT_TYPE_FIELDS, type CurrentEventType } from './eventTypeFields.js';
import { INVALID, pathOf, readObject, type ReadContext } from './shapes.js';

export type ConfigurationKind = 'ENDPOINT' | 'EVENT_TYPE';

/** One changed setting (or part) as a person reads it in a plan: values of secret ones are never shown. */
export interface FieldChange {
  field: string;
  /** null for a CREATE, and for secret values. */
  before: unknown;
  after: unknown;
  secret: boolean;
}
export type ConfigurationAction = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNCHANGED';

export interface EndpointChange {
  kind: 'ENDPOINT';
  /** The endpoint's key in the document (its uid, or its id). */
  key: string;
  action: ConfigurationAction;
  /** What differs: setting names, or parts of them (`retryPolicy.maxAttempts`, `headers.X-Team`). */
  changedFields: string[];
  /** changedFields with their values before and after (secret ones masked). */
  fields: FieldChange[];
  current: CurrentEndpoint | null;
  /** CREATE: a CreateEndpointInput; UPDATE: an UpdateEndpointInput of the settings that differ. */
  input: Record<string, unknown>;
  /** UPDATE: the signing algorithm to rotate to, when it differs. */
  rotateTo: SigningAlgorithm | null;
}

export interface EventTypeChange {
  kind: 'EVENT_TYPE';
  /** The type's name. */
  key: string;
  action: ConfigurationAction;
  changedFields: string[];
  fields: FieldChange[];
  current: CurrentEventType | null;
  /** CREATE: a CreateEventTypeInput; UPDATE and DELETE (deprecation): an UpdateEventTypeInput. */
  input: Record<string, unknown>;
}

export type ConfigurationChange = EventTypeChange | EndpointChange;

export interface CurrentState {
  endpoints: readonly CurrentEndpoint[];
  /** The organization's own types (built-in ones are not configuration). */
  eventTypes: readonly CurrentEventType[];
  builtInEventTypes: readonly string[];
}

export interface Plan {
  /** Event types first, then endpoints, each in document order (deletions last). */
  changes: ConfigurationChange[];
  /** Objects the document leaves out and `prune` was not asked for: kept as they are. */
  unmanaged: { kind: ConfigurationKind; key: string }[];
  /** Event-type names EventSubscription patterns may match once the plan is applied. */
  catalog: string[];
}

/** The path of an object in a document, e.g. `endpoints["billing-alerts"]`. */
export function objectPath(kind: ConfigurationKind, key: string): string {
  return pathOf(kind === 'ENDPOINT' ? 'endpoints' : 'eventTypes', key);
}

/**
 * Compares a document with the current state. Problems go to `problems` (every one found, each
 * with its path); the plan holds the objects that could be read, so the caller can check those
 * with the services' rules too and report everything at once. A plan with problems is not applied.
 */
export function planConfiguration(raw: unknown, current: CurrentState, options: { prune: boolean }, problems: InputProblem[]): Plan {
  const document = parseDocument(raw, problems);
  const eventTypes = planEventTypes(document, current, options, problems);
  const endpoints = planEndpoints(document, current, options, problems);
  const deprecatedAfter = new Map(current.eventTypes.map((t) => [t.name, t.deprecated]));
  for (const change of eventTypes.changes) {
    const deprecated = change.input.deprecated;
    if (change.action === 'CREATE') deprecatedAfter.set(change.key, deprecated === true);
    else if (typeof deprecated === 'boolean') deprecatedAfter.set(change.key, deprecated);
  }
  const catalog = [...current.builtInEventTypes, ...[...deprecatedAfter].filter(([, d]) => !d).map(([name]) => name)];
  return {
    changes: [...eventTypes.changes, ...endpoints.changes],
    unmanaged: [...eventTypes.unmanaged, ...endpoints.unmanaged],
    catalog,
  };
}

function planEventTypes(document: ParsedDocument, current: CurrentState, options: { prune: boolean }, problems: InputProblem[]) {
  const changes: EventTypeChange[] = [];
  const unmanaged: Plan['unmanaged'] = [];
  const builtIn = new Set(current.builtInEventTypes);
  const byName = new Map(current.eventTypes.map((t) => [t.name, t]));
  const listed = new Set<string>();
  for (const [name, raw] of document.eventTypes) {
    const at = objectPath('EVENT_TYPE', name);
    listed.add(name);
    if (builtIn.has(name)) {
      problems.push({ field: at, message: `${at}: "${name}" is a built-in event type, which is not configuration; leave it out of the document.` });
      continue;
    }
    const ctx: ReadContext = { at, problems };
    const entry = raw === null ? {} : readObject(raw, EVENT_TYPE_FIELD_NAMES, ctx);
    if (entry === INVALID) continue;
    const desired: Record<string, unknown> = {};
    let ok = true;
    for (const field of EVENT_TYPE_FIELDS) {
      const value = entry[field.name] === undefined ? field.absent(name) : field.read(entry[field.name], { at: pathOf(at, field.name), problems });
      if (value === INVALID) ok = false;
      else desired[field.name] = value;
    }
    if (!ok) continue;
    const existing = byName.get(name) ?? null;
    if (!existing) {
      const given = EVENT_TYPE_FIELDS.filter((f) => entry[f.name] !== undefined).map((f) => f.name);
      const fields = given.map((f) => ({ field: f, before: null, after: desired[f], secret: false }));
      changes.push({ kind: 'EVENT_TYPE', key: name, action: 'CREATE', changedFields: given, fields, current: null, input: { name, ...desired } });
      continue;
    }
    const changedTypeFields = EVENT_TYPE_FIELDS.filter((f) => !f.same(desired[f.name], f.current(existing)));
    const changed = changedTypeFields.map((f) => f.name);
    changes.push({
      kind: 'EVENT_TYPE',
      key: name,
      action: changed.length > 0 ? 'UPDATE' : 'UNCHANGED',
      changedFields: changed,
      fields: changedTypeFields.map((f) => ({ field: f.name, before: f.current(existing), after: desired[f.name], secret: false })),
      current: existing,
      input: Object.fromEntries(changed.map((f) => [f, desired[f]])),
    });
  }
  for (const type of current.eventTypes) {
    if (listed.has(type.name) || type.deprecated) continue;
    // Types are never removed (published events keep their type): pruning one deprecates it.
    if (options.prune) {
      const fields = [{ field: 'deprecated', before: false, after: true, secret: false }];
      changes.push({ kind: 'EVENT_TYPE', key: type.name, action: 'DELETE', changedFields: ['deprecated'], fields, current: type, input: { deprecated: true } });
    }
    else unmanaged.push({ kind: 'EVENT_TYPE', key: type.name });
  }
  return { changes, unmanaged };
}

function planEndpoints(document: ParsedDocument, current: CurrentState, options: { prune: boolean }, problems: InputProblem[]) {
  const changes: EndpointChange[] = [];
  const unmanaged: Plan['unmanaged'] = [];
  const byId = new Map(current.endpoints.map((e) => [e.id, e]));
  const byUid = new Map(current.endpoints.filter((e) => e.uid !== null).map((e) => [e.uid!, e]));
  const claimedBy = new Map<string, string>();
  for (const [key, raw] of document.endpoints) {
    const at = objectPath('ENDPOINT', key);
    let existing: CurrentEndpoint | null;
    if (isIdOf('endpoint', key)) {
      existing = byId.get(key) ?? null;
      if (!existing) {
        problems.push({ field: at, message: `${at}: no endpoint has the id "${key}" in this organization; key a new endpoint by a uid of your choice (e.g. "billing-alerts").` });
        continue;
      }
    } else {
      const problem = uidProblem(key);
      if (problem) {
        problems.push({ field: at, message: `${at}: the key is the endpoint's uid, which ${problem}.` });
        continue;
      }
      existing = byUid.get(key) ?? null;
    }
    if (existing) {
      const other = claimedBy.get(existing.id);
      if (other !== undefined) {
        problems.push({ field: at, message: `${at} and ${objectPath('ENDPOINT', other)} are the same endpoint (${existing.id}); list it once.` });
        continue;
      }
      claimedBy.set(existing.id, key);
    }
    const change = planEndpoint(key, raw, existing, problems);
    if (change) changes.push(change);
  }
  for (const endpoint of current.endpoints) {
    if (claimedBy.has(endpoint.id)) continue;
    const key = endpoint.uid ?? endpoint.id;
    if (options.prune) changes.push({ kind: 'ENDPOINT', key, action: 'DELETE', changedFields: [], fields: [], current: endpoint, input: {}, rotateTo: null });
    else unmanaged.push({ kind: 'ENDPOINT', key });
  }
  return { changes, unmanaged };
}

function planEndpoint(key: string, raw: unknown, existing: CurrentEndpoint | null, problems: InputProblem[]): EndpointChange | null {
  const at = objectPath('ENDPOINT', key);
  const entry = readObject(raw, ENDPOINT_FIELD_NAMES, { at, problems });
  if (entry === INVALID) return null;
  if (entry.url === undefined) {
    problems.push({ field: pathOf(at, 'url'), message: `${pathOf(at, 'url')} is required: the https:// URL that receives the webhooks.` });
    return null;
  }
  const desired: Record<string, unknown> = {};
  let ok = true;
  for (const field of ENDPOINT_FIELDS) {
    const value = entry[field.name] === undefined ? field.absent() : field.read(entry[field.name], { at: pathOf(at, field.name), problems }, existing);
    if (value === INVALID) ok = false;
    else desired[field.name] = value;
  }
  if (!ok) return null;
  if (!existing) {
    const given = ENDPOINT_FIELDS.filter((f) => entry[f.name] !== undefined);
    const fields = given.map((f) => shownChange(f.name, null, desired[f.name], f.show));
    return { kind: 'ENDPOINT', key, action: 'CREATE', changedFields: given.map((f) => f.name), fields, current: null, input: { uid: key, ...desired }, rotateTo: null };
  }
  const changedFields: string[] = [];
  const fields: FieldChange[] = [];
  const input: Record<string, unknown> = {};
  let rotateTo: SigningAlgorithm | null = null;
  for (const field of ENDPOINT_FIELDS) {
    const now = field.current(existing);
    const parts = field.diff(desired[field.name], now);
    if (parts.length === 0) continue;
    changedFields.push(...parts);
    fields.push(...parts.map((part) => shownChange(part, field.show(now, part), field.show(desired[field.name], part), null)));
    if (field.writtenBy === 'signingKeyRotation') rotateTo = desired[field.name] as SigningAlgorithm;
    else input[field.name] = desired[field.name];
  }
  return { kind: 'ENDPOINT', key, action: changedFields.length > 0 ? 'UPDATE' : 'UNCHANGED', changedFields, fields, current: existing, input, rotateTo };
}

/**
 * A changed part with the values a person may see: `show` (when given) turns input-form values
 * into shown ones; undefined means secret, and a secret part shows no value on either side.
 */
function shownChange(field: string, before: unknown, after: unknown, show: ((value: unknown, part: string) => unknown) | null): FieldChange {
  const shownAfter = show ? show(after, field) : after;
  const secret = before === undefined || shownAfter === undefined;
  return { field, before: secret ? null : (before ?? null), after: secret ? null : (shownAfter ?? null), secret };
}

/**
 * Settles an endpoint UPDATE once the endpoint service has normalised the changed settings (a URL
 * written `https://Hooks.example.com` is stored as `https://hooks.example.com/`): settings equal
 * to the current ones once normalised are no change. Returns the change with what still differs.
 */
export function settleEndpointUpdate(change: EndpointChange, normalized: Record<string, unknown>): EndpointChange {
  if (change.action !== 'UPDATE' || !change.current) return change;
  const endpoint = change.current;
  const input: Record<string, unknown> = {};
  const changedFields: string[] = [];
  for (const name of change.changedFields) {
    const field = endpointFieldOf(name);
    if (!field || field.writtenBy !== 'endpointInput') {
      changedFields.push(name);
      continue;
    }
    const value = field.name in normalized ? normalized[field.name] : change.input[field.name];
    if (field.diff(value, field.current(endpoint)).includes(name)) {
      changedFields.push(name);
      input[field.name] = change.input[field.name];
    }
  }
  const fields = change.fields.filter((f) => changedFields.includes(f.field));
  return { ...change, action: changedFields.length > 0 ? 'UPDATE' : 'UNCHANGED', changedFields, fields, input };
}

/** Prefixes an object's validation problems (from the services) with its path in the document. */
export function withinObject(kind: ConfigurationKind, key: string, problems: readonly InputProblem[]): InputProblem[] {
  const at = objectPath(kind, key);
  return problems.map((p) => ({ field: p.field ? `${at}.${p.field}` : at, message: `${at}: ${p.message}` }));
}
