/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header:
 * `{version}-{trace-id}-{parent-id}-{trace-flags}`, e.g.
 * `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`. Pure: new span ids are passed in.
 */

/** A parsed traceparent (lowercase hex). */
export interface TraceParent {
  /** 32 hex digits, not all zero: the whole trace. */
  traceId: string;
  /** 16 hex digits, not all zero: the caller's span, the parent of ours. */
  spanId: string;
  /** Bit 0: the caller sampled (records) this trace. */
  sampled: boolean;
}

const HEADER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Parses a traceparent header value as the specification says a receiver must: version `ff` and
 * all-zero ids are invalid, version `00` has exactly four fields, a later version may carry more
 * after a dash (read as version 00), upper-case hex is invalid. Surrounding spaces are allowed.
 * Null when invalid.
 */
export function parseTraceparent(value: string): TraceParent | null {
  const m = HEADER.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

/** The version-00 header for `context` (only the sampled flag is carried: the one flag version 00 defines). */
export function formatTraceparent(context: TraceParent): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

/** The header a child of `parent` sends: same trace, same sampling decision, span `spanId` (16 hex, not all zero). */
export function childTraceparent(parent: TraceParent, spanId: string): string {
  return formatTraceparent({ ...parent, spanId });
}
