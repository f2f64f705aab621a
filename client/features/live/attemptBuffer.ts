/**
 * The live stream's list and pause buffer. While paused, new attempts are BUFFERED (up to
 * `bufferLimit`; past that the oldest buffered ones are dropped and counted) and shown on
 * resume. The visible list keeps the newest `limit` rows. Pure (unit-tested).
 */
export interface StreamState<T> {
  rows: T[];
  buffer: T[];
  dropped: number;
  received: number;
}

export function emptyStream<T>(): StreamState<T> {
  return { rows: [], buffer: [], dropped: 0, received: 0 };
}

/** Adds newly received items (oldest first) to the list, or to the buffer while paused. */
export function receive<T>(state: StreamState<T>, items: readonly T[], paused: boolean, limit: number, bufferLimit: number): StreamState<T> {
  if (items.length === 0) return state;
  const newestFirst = [...items].reverse();
  if (!paused) return { ...state, rows: [...newestFirst, ...state.rows].slice(0, limit), received: state.received + items.length };
  const buffer = [...newestFirst, ...state.buffer];
  const overflow = Math.max(0, buffer.length - bufferLimit);
  return { ...state, buffer: buffer.slice(0, bufferLimit), dropped: state.dropped + overflow, received: state.received + items.length };
}

/** Resuming shows the buffered attempts (newest first, as if they had arrived live). */
export function flush<T>(state: StreamState<T>, limit: number): StreamState<T> {
  return { ...state, rows: [...state.buffer, ...state.rows].slice(0, limit), buffer: [] };
}
