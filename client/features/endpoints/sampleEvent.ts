/**
 * Example payloads for the transformation editor's test run: a payload shaped by an event type's
 * JSON Schema when there is no recent event to borrow. Pure.
 */

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[]; const?: unknown; examples?: unknown[]; default?: unknown; format?: string };

/** A value satisfying the common parts of `schema` (examples, enum, const, types, properties). */
export function exampleFromSchema(schema: unknown, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 6) return null;
  const s = schema as Schema;
  if (s.examples?.length) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type ?? (s.properties ? 'object' : undefined)) {
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, exampleFromSchema(v, depth + 1)]));
    case 'array':
      return s.items ? [exampleFromSchema(s.items, depth + 1)] : [];
    case 'string':
      return s.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'example';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    default:
      return null;
  }
}

/** A starting payload for `type`: the schema's example, or a generic one. */
export function examplePayload(type: string, schema: unknown): Record<string, unknown> {
  const fromSchema = exampleFromSchema(schema);
  if (fromSchema && typeof fromSchema === 'object' && !Array.isArray(fromSchema)) return fromSchema as Record<string, unknown>;
  return { example: true, type };
}

export const EXAMPLE_TRANSFORMATION = `// Runs before signing; what it returns is what the endpoint receives.
// webhook: { id, type, timestamp, data, headers }. Return it changed, or:
//   { body: ... } to send another body, { cancel: true } to skip this delivery.
function handler(webhook) {
  webhook.headers['X-Event-Type'] = webhook.type;
  return webhook;
}
`;
