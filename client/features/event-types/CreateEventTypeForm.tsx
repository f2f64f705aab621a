import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorCode, errorMessage, fieldProblems } from '../../shared/errors';
import { Button, Field, Notice } from '../../shared/ui';
import { CREATE_EVENT_TYPE, type EventType } from './queries';

/** A custom event type: name, category, description and an optional JSON Schema for payloads. */
export function CreateEventTypeForm({ onCreated, onCancel }: { onCreated: (type: EventType) => void; onCancel: () => void }) {
  const [name, setName] = useState('');
  const [category, setCategory] = useState('');
  const [description, setDescription] = useState('');
  const [schema, setSchema] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [result, create] = useMutation<{ createEventType: EventType }>(CREATE_EVENT_TYPE);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = 'Give the type a name, e.g. acme.invoice.paid.';
    let parsedSchema: unknown = undefined;
    if (schema.trim()) {
      try {
        parsedSchema = JSON.parse(schema);
        if (typeof parsedSchema !== 'object' || parsedSchema === null || Array.isArray(parsedSchema)) local.schema = 'The schema must be a JSON object.';
      } catch (err) {
        local.schema = `Not valid JSON: ${(err as Error).message}`;
      }
    }
    setProblems(local);
    setGeneral(null);
    if (Object.keys(local).length) return;
    const outcome = await create({
      input: { name: name.trim(), category: category.trim() || undefined, description: description.trim() || undefined, schema: parsedSchema },
    });
    if (outcome.error) {
      const fields = fieldProblems(outcome.error);
      const known = ['name', 'category', 'description', 'schema'];
      setProblems(Object.fromEntries(Object.entries(fields).filter(([f]) => known.includes(f))));
      const placed = Object.keys(fields).some((f) => known.includes(f));
      if (!placed || errorCode(outcome.error) !== 'BAD_USER_INPUT') setGeneral(errorMessage(outcome.error));
      return;
    }
    if (outcome.data) onCreated(outcome.data.createEventType);
  };

  return (
    <form className="form card" onSubmit={submit} noValidate aria-label="New event type">
      <h2 className="card__title">New event type</h2>
      {general && (
        <div className="alert alert--danger" role="alert">
          {general}
        </div>
      )}
      <div className="form-grid">
        <Field label="Name" name="name" error={problems.name} hint='Dot-separated lowercase segments, e.g. "acme.invoice.paid".'>
          {(p) => <input {...p} value={name} spellCheck={false} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Category" name="category" error={problems.category} hint="Defaults to the first segment of the name.">
          {(p) => <input {...p} value={category} onChange={(e) => setCategory(e.target.value)} />}
        </Field>
      </div>
      <Field label="Description" name="description" error={problems.description}>
        {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <Field label="JSON Schema (optional)" name="schema" error={problems.schema} hint="Draft 2020-12. Published payloads of this type must satisfy it.">
        {(p) => (
          <textarea
            {...p}
            className="mono"
            rows={8}
            spellCheck={false}
            value={schema}
            placeholder={'{\n  "type": "object",\n  "required": ["invoiceId"],\n  "properties": { "invoiceId": { "type": "string" } }\n}'}
            onChange={(e) => setSchema(e.target.value)}
          />
        )}
      </Field>
      <Notice>Endpoints subscribed with a matching wildcard (for example acme.*) start receiving the new type at once.</Notice>
      <div className="form-actions">
        <Button type="submit" variant="primary" busy={result.fetching} busyLabel="Creating…">
          Create event type
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
