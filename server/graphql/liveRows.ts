import { DomainError } from '../domain/errors.js';

/**
 * A row a live message knows only in part: the fields its notification carried, and the stored
 * row behind them, loaded the first time a subscriber asks for a field the notification did not
 * carry (once per notification batch, for every subscriber of it: see liveTopics.ts). A stream
 * whose selection stays within the notification's fields costs no query at all.
 */
export class LiveRow<Row extends object> {
  constructor(
    /** Fields known without a query; `undefined` means "not carried", `null` is a value. */
    readonly known: Readonly<Partial<Row>> & { readonly id: string },
    private readonly loadRow: () => Promise<Row | null>,
    private readonly kind: string,
  ) {}

  get id(): string {
    return this.known.id;
  }

  /** The whole stored row. */
  async row(): Promise<Row> {
    const row = await this.loadRow();
    // Retention may have purged it between the attempt and this message.
    if (!row) throw new DomainError('NOT_FOUND', `The ${this.kind} "${this.known.id}" is no longer stored.`);
    return row;
  }

  field<K extends keyof Row>(key: K): Row[K] | Promise<Row[K]> {
    const value = this.known[key];
    if (value !== undefined) return value as Row[K];
    return this.row().then((row) => row[key]);
  }
}

/** What a GraphQL type backed by `Row` resolves from: a stored row, or a live message's partial one. */
export type RowOrLive<Row extends object> = Row | LiveRow<Row>;

/** Field `key` of a stored row, or of a live row (loading it when the notification did not carry the field). */
export function rowField<Row extends object, K extends keyof Row>(parent: RowOrLive<Row>, key: K): Row[K] | Promise<Row[K]> {
  return parent instanceof LiveRow ? parent.field(key) : parent[key];
}

/**
 * Resolvers reading a row's field by name, for types backed by `RowOrLive<Row>`:
 * `const from = rowResolvers<DeliveryRow>()`, then `t.int({ resolve: from('attemptCount') })`.
 */
export function rowResolvers<Row extends object>() {
  return <K extends keyof Row>(key: K) =>
    (parent: RowOrLive<Row>): Row[K] | Promise<Row[K]> =>
      rowField(parent, key);
}

/** Runs `load` once, on first call; every later call shares its promise. */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | null = null;
  return () => (promise ??= load());
}
