/**
 * Runs in a worker thread (see pool.ts): checks payloads against their event types' JSON
 * Schemas, so no schema and no payload can hold the service's event loop. Validators are
 * compiled once per event type id (a type's schema never changes) and kept per thread.
 */
import { compilePayloadSchema, type PayloadValidator } from '../../domain/payloadSchema.js';

export interface ValidationTask {
  /** Schemas the items name, by event type id. */
  schemas: [string, unknown][];
  /** Payloads as JSON text (strings cross to the thread far cheaper than objects). */
  items: { typeId: string; dataJson: string }[];
}

const validators = new Map<string, PayloadValidator>();

function validatorFor(typeId: string, schema: unknown): PayloadValidator {
  let validator = validators.get(typeId);
  if (!validator) {
    const compiled = compilePayloadSchema(schema);
    // Schemas are checked when the type is created. One stored before a rule was added (a
    // lookahead, which RE2 cannot run) can no longer be enforced safely: its events are refused
    // (publishing them unvalidated would break the type's promise), saying what to do.
    const refusal = compiled.ok ? null : `data cannot be checked: the event type's JSON Schema can no longer be enforced (${compiled.error}); an admin must create a replacement type.`;
    validator = compiled.ok ? compiled.validate : () => refusal;
    if (validators.size > 1000) validators.clear();
    validators.set(typeId, validator);
  }
  return validator;
}

/** The problem with each item, or null when it matches its schema. */
export default function validatePayloads(task: ValidationTask): (string | null)[] {
  const schemas = new Map(task.schemas);
  return task.items.map((item) => validatorFor(item.typeId, schemas.get(item.typeId))(JSON.parse(item.dataJson)));
}
