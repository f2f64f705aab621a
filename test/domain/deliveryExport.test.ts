import { describe, expect, it } from 'vitest';
import { csvField, csvHeader, csvLine, EXPORT_COLUMNS, exportFrame, jsonElement, type ExportRow } from '../../server/domain/deliveryExport.js';

const row: ExportRow = {
  deliveryId: 'dlv_1',
  status: 'DEAD',
  eventId: 'evt_1',
  eventType: 'pipeline.run.failed',
  endpointId: 'ep_1',
  endpointUrl: 'https://hooks.example.com/a?x=1',
  attempts: 8,
  isTest: false,
  orderingKey: null,
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  lastAttemptAt: new Date('2026-12-01T11:00:00.000Z'),
  nextAttemptAt: null,
  completedAt: new Date('2026-12-01T11:00:00.100Z'),
  lastResponseStatus: 500,
  lastErrorClass: 'HTTP_STATUS',
  lastErrorMessage: 'Endpoint answered 500 Internal Server Error, "oops"\nmore',
};

describe('delivery export encoding', () => {
  it('quotes CSV fields that need it and neutralises spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');
    expect(csvField(false)).toBe('false');
    for (const formula of ['=SUM(A1)', '+1', '-2', '@cmd', '\tx']) expect(csvField(formula)).toBe(`'${formula}`);
    expect(csvField('=a,b')).toBe(`"'=a,b"`);
  });

  it('writes one line per row in column order, CRLF-terminated', () => {
    expect(csvHeader()).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
    expect(csvLine(row)).toBe(
      'dlv_1,DEAD,evt_1,pipeline.run.failed,ep_1,https://hooks.example.com/a?x=1,8,false,,2026-12-01T10:00:00.000Z,2026-12-01T11:00:00.000Z,,2026-12-01T11:00:00.100Z,500,HTTP_STATUS,"Endpoint answered 500 Internal Server Error, ""oops""\nmore"\r\n',
    );
  });

  it('frames a valid JSON array whatever the number of rows', () => {
    const frame = exportFrame('json');
    expect(JSON.parse(frame.start + frame.end)).toEqual([]);
    const text = frame.start + [row, row].map((r, i) => frame.row(r, i)).join('') + frame.end;
    const parsed = JSON.parse(text);
    expect(parsed).toHaveLength(2);
    expect(Object.keys(parsed[0])).toEqual([...EXPORT_COLUMNS]);
    expect(parsed[0].createdAt).toBe('2026-12-01T10:00:00.000Z');
    expect(JSON.parse(jsonElement(row)).lastErrorMessage).toBe(row.lastErrorMessage);
  });
});
