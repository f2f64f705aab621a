/**
 * Rows of a delivery export (CSV or JSON) and their encoding. Pure: rows come in, text goes out.
 * Exports carry what the delivery list shows, never payloads, response bodies or headers, so
 * every role that reads deliveries may export them; URL query strings are masked for viewers.
 */

export type ExportFormat = 'csv' | 'json';

export interface ExportRow {
  deliveryId: string;
  status: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  endpointUrl: string;
  attempts: number;
  isTest: boolean;
  orderingKey: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  completedAt: Date | null;
  lastResponseStatus: number | null;
  lastErrorClass: string | null;
  lastErrorMessage: string | null;
}

/** Column order of the CSV header, and key order of each JSON object. */
export const EXPORT_COLUMNS: readonly (keyof ExportRow)[] = [
  'deliveryId',
  'status',
  'eventId',
  'eventType',
  'endpointId',
  'endpointUrl',
  'attempts',
  'isTest',
  'orderingKey',
  'createdAt',
  'lastAttemptAt',
  'nextAttemptAt',
  'completedAt',
  'lastResponseStatus',
  'lastErrorClass',
  'lastErrorMessage',
];

function plain(value: ExportRow[keyof ExportRow]): string | number | boolean | null {
  return value instanceof Date ? value.toISOString() : value;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (= + - @, tab, carriage return) gets a leading apostrophe.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV header line (with CRLF, as RFC 4180 has it). */
export function csvHeader(): string {
  return `${EXPORT_COLUMNS.map((c) => csvField(c)).join(',')}\r\n`;
}

export function csvLine(row: ExportRow): string {
  return `${EXPORT_COLUMNS.map((c) => csvField(plain(row[c]))).join(',')}\r\n`;
}

/** One element of the JSON array, keys in column order. */
export function jsonElement(row: ExportRow): string {
  return JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, plain(row[c])])));
}

/**
 * Pieces of the whole document around the rows: a CSV header, or a JSON array written one
 * element at a time (`[`, elements separated by `,\n`, `]`).
 */
export function exportFrame(format: ExportFormat): { start: string; row: (row: ExportRow, index: number) => string; end: string } {
  if (format === 'csv') return { start: csvHeader(), row: (r) => csvLine(r), end: '' };
  return { start: '[\n', row: (r, i) => `${i ? ',\n' : ''}${jsonElement(r)}`, end: '\n]\n' };
}
