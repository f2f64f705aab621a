import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  /** Header text; also the label shown before each cell when the table stacks on a phone. */
  header: string;
  render: (row: T) => ReactNode;
  className?: string;
}

export interface Selection<T> {
  selected: ReadonlySet<string>;
  onChange: (next: Set<string>) => void;
  /** Rows that cannot be selected get no checkbox (e.g. deliveries that cannot be replayed). */
  canSelect?: (row: T) => boolean;
  /** Accessible name of a row's checkbox, e.g. "Select delivery dlv_…". */
  label: (row: T) => string;
}

/**
 * A plain table with a caption. On narrow screens each row stacks into a card with the
 * header before each value (CSS reads data-label).
 */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  selection,
  rowClassName,
  className,
}: {
  caption: string;
  /** Extra class of the table (layout variants, e.g. the compact live attempts). */
  className?: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  selection?: Selection<T>;
  rowClassName?: (row: T) => string | undefined;
}) {
  const selectable = selection ? rows.filter((r) => selection.canSelect?.(r) ?? true) : [];
  const allSelected = selection !== undefined && selectable.length > 0 && selectable.every((r) => selection.selected.has(rowKey(r)));
  const toggleAll = (): void => {
    if (!selection) return;
    selection.onChange(allSelected ? new Set() : new Set(selectable.map(rowKey)));
  };
  const toggle = (row: T): void => {
    if (!selection) return;
    const next = new Set(selection.selected);
    const key = rowKey(row);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    selection.onChange(next);
  };
  return (
    <div className="table-wrap">
      <table className={className ? `table ${className}` : 'table'}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {selection && (
              <th scope="col" className="table__select">
                <input type="checkbox" aria-label="Select all rows" checked={allSelected} onChange={toggleAll} disabled={selectable.length === 0} />
              </th>
            )}
            {columns.map((c) => (
              <th scope="col" key={c.key} className={c.className}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const key = rowKey(row);
            return (
              <tr key={key} className={rowClassName?.(row)}>
                {selection && (
                  <td className="table__select">
                    {(selection.canSelect?.(row) ?? true) && (
                      <input type="checkbox" aria-label={selection.label(row)} checked={selection.selected.has(key)} onChange={() => toggle(row)} />
                    )}
                  </td>
                )}
                {columns.map((c) => (
                  <td key={c.key} className={c.className} data-label={c.header}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
