import { describe, expect, it } from 'vitest';
import { envelopeBody } from '../../server/domain/deliveryPlan.js';
import { checkTransformationSource, interpretTransformationOutput, transformationInputJson, TRANSFORMATION_LIMITS, type TransformationInput } from '../../server/domain/transformation.js';

const input: TransformationInput = { id: 'evt_1', type: 'pipeline.run.failed', timestamp: '2026-12-01T10:00:00.000Z', dataJson: '{"runId":"r1","n":1}', headers: { 'X-Token': 'secret' } };
const envelope = (dataJson: string) => envelopeBody({ id: input.id, type: input.type, timestamp: input.timestamp, dataJson });
const interpret = (output: unknown) => interpretTransformationOutput(output, input, envelope);
const webhook = () => JSON.parse(transformationInputJson(input));

describe('transformation contract', () => {
  it('hands the handler id, type, timestamp, data and the custom headers', () => {
    expect(webhook()).toEqual({ id: 'evt_1', type: 'pipeline.run.failed', timestamp: '2026-12-01T10:00:00.000Z', data: { runId: 'r1', n: 1 }, headers: { 'X-Token': 'secret' } });
  });

  it('sends the unchanged envelope when the webhook comes back as it was', () => {
    expect(interpret(webhook())).toEqual({ kind: 'send', body: envelope(input.dataJson), headers: input.headers, bodyChanged: false });
  });

  it('keeps the envelope (id, type, timestamp) around changed data', () => {
    const w = webhook();
    w.data.n = 2;
    w.id = 'forged';
    const out = interpret(w);
    expect(out).toMatchObject({ kind: 'send', bodyChanged: true });
    expect(JSON.parse((out as { body: string }).body)).toEqual({ id: 'evt_1', type: 'pipeline.run.failed', timestamp: input.timestamp, data: { runId: 'r1', n: 2 } });
  });

  it('sends `body` as the whole body: strings as they are, other values as JSON', () => {
    expect(interpret({ body: 'plain text' })).toMatchObject({ kind: 'send', body: 'plain text', bodyChanged: true });
    expect(interpret({ body: { text: 'hi' } })).toMatchObject({ kind: 'send', body: '{"text":"hi"}' });
  });

  it('replaces the custom headers with `headers`', () => {
    expect(interpret({ ...webhook(), headers: { 'X-Team': 'security' } })).toMatchObject({ headers: { 'X-Team': 'security' } });
  });

  it('cancels on cancel: true', () => {
    expect(interpret({ cancel: true })).toEqual({ kind: 'cancel' });
    expect(interpret({ ...webhook(), cancel: false })).toMatchObject({ kind: 'send' });
  });

  it.each([
    [null, /must return the webhook object/],
    [[1], /got an array/],
    ['text', /got a string/],
    [{ cancel: 'yes' }, /cancel must be true or false/],
    [{ headers: { 'webhook-signature': 'x' }, data: {} }, /set by the webhook sender/],
    [{ headers: { 'Content-Length': '1' }, data: {} }, /set by the webhook sender/],
    [{ headers: { 'bad name': 'x' }, data: {} }, /not a valid HTTP header name/],
    [{ headers: { 'X-A': 1 }, data: {} }, /must be a string/],
    [{ headers: { 'X-A': 'a\r\nInjected: 1' }, data: {} }, /line breaks/],
    [{ headers: { 'X-A': 'a', 'x-a': 'b' }, data: {} }, /given twice/],
    [{ headers: [], data: {} }, /headers must be an object/],
    [{ type: 'x' }, /no data/],
    [{ body: 'x'.repeat(TRANSFORMATION_LIMITS.bodyBytes + 1) }, /limit is 262144 bytes/],
  ])('refuses %j', (output, message) => {
    const out = interpret(output);
    expect(out.kind).toBe('error');
    expect((out as { message: string }).message).toMatch(message);
  });

  it('checks source length before running anything', () => {
    expect(checkTransformationSource('  ')).toMatch(/empty/);
    expect(checkTransformationSource('x'.repeat(TRANSFORMATION_LIMITS.codeLength + 1))).toMatch(/limit is 65536/);
    expect(checkTransformationSource('function handler(w) { return w }')).toBeNull();
  });
});

describe('unchanged data in another JSON rendering', () => {
  it('is not a change (the stored payload comes back from Postgres with spaces)', () => {
    const spaced: TransformationInput = { ...input, dataJson: '{"n": 1, "runId": "r1"}' };
    const out = interpretTransformationOutput({ data: { n: 1, runId: 'r1' } }, spaced, envelope);
    expect(out).toEqual({ kind: 'send', body: envelope('{"n": 1, "runId": "r1"}'), headers: input.headers, bodyChanged: false });
  });
});
