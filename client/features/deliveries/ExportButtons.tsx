import { useState } from 'react';
import { useMutation } from 'urql';
import { errorMessage } from '../../shared/errors';
import { Button } from '../../shared/ui';
import { CREATE_DELIVERY_EXPORT, type DeliveryFilter } from './queries';

type Format = 'CSV' | 'JSON';

/**
 * "Export CSV / JSON" of every delivery matching the filter, not just the page shown. A plain
 * download cannot carry the Authorization header, so the console asks the API for a one-minute
 * link (createDeliveryExport) and lets the browser download it: the server streams the file and
 * the browser writes it to disk as it comes, however large (no copy in the page's memory).
 */
export function ExportButtons({ filter, disabled }: { filter: DeliveryFilter; disabled?: boolean }) {
  const [result, create] = useMutation<{ createDeliveryExport: { url: string; expiresAt: string } }>(CREATE_DELIVERY_EXPORT);
  const [status, setStatus] = useState<{ tone: 'info' | 'danger'; text: string } | null>(null);
  const [busy, setBusy] = useState<Format | null>(null);

  const start = async (format: Format): Promise<void> => {
    setBusy(format);
    setStatus(null);
    const outcome = await create({ filter, format });
    setBusy(null);
    const link = outcome.data?.createDeliveryExport;
    if (outcome.error || !link) {
      setStatus({ tone: 'danger', text: `The export could not start: ${errorMessage(outcome.error)}` });
      return;
    }
    const a = document.createElement('a');
    a.href = link.url;
    a.download = '';
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
    setStatus({ tone: 'info', text: `Downloading every matching delivery as ${format}; your browser saves the file as it arrives.` });
  };

  return (
    <span className="export-buttons">
      <span className="export-buttons__group" role="group" aria-label="Export the matching deliveries">
        <Button size="sm" onClick={() => start('CSV')} disabled={disabled || result.fetching} busy={busy === 'CSV'} busyLabel="Preparing…">
          Export CSV
        </Button>
        <Button size="sm" onClick={() => start('JSON')} disabled={disabled || result.fetching} busy={busy === 'JSON'} busyLabel="Preparing…">
          Export JSON
        </Button>
      </span>
      {status && (
        <span className={`export-buttons__status small${status.tone === 'danger' ? ' text-danger' : ' muted'}`} role="status">
          {status.text}
        </span>
      )}
    </span>
  );
}
