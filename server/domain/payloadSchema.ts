import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped in `default`.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export type PayloadValidator = (data: unknown) => string | null;

/** One Ajv per schema: Ajv registers schemas by `$id`, so two event types sharing one would clash. */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

/**
 * Compiles the JSON Schema of a custom event type. Returns a validator giving a readable
 * message for the first few problems, or an error naming what is wrong with the schema.
 */
export function compilePayloadSchema(schema: unknown): { ok: true; validate: PayloadValidator } | { ok: false; error: string } {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { ok: false, error: 'A JSON Schema must be a JSON object, e.g. {"type": "object", "properties": {...}}.' };
  }
  const ajv = newAjv();
  try {
    if (!ajv.validateSchema(schema)) {
      return { ok: false, error: `Invalid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}.` };
    }
    const check = ajv.compile(schema);
    return {
      ok: true,
      validate: (data) => {
        if (check(data)) return null;
        const problems = (check.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
        return `data does not match the event type's schema: ${problems.join('; ')}.`;
      },
    };
  } catch (err) {
    return { ok: false, error: `Invalid JSON Schema: ${(err as Error).message}.` };
  }
}
