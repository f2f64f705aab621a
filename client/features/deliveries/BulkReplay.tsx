import { useState } from 'react';
import { useMutation } from 'urql';
import { formatCount } from '../../shared/format';
import { Button, ConfirmDialog, ErrorMessage, Notice } from '../../shared/ui';
import { REPLAY_DELIVERIES, type DeliveryFilter } from './queries';
import { replayStatuses } from './replay';
import { useReplayCount } from './useReplayCount';

/**
 * "Replay all matching": counts the replayable deliveries with the same filter first, asks for
 * confirmation with that number, then calls replayDeliveries(filter) once.
 */
export function BulkReplay({ filter, onDone }: { filter: DeliveryFilter; onDone: (count: number) => void }) {
  const [open, setOpen] = useState(false);
  const counter = useReplayCount();
  const [replay, doReplay] = useMutation<{ replayDeliveries: { count: number } }>(REPLAY_DELIVERIES);
  const { statuses, unsupported } = replayStatuses(filter.statuses);
  const replayFilter: DeliveryFilter = { ...filter, statuses };

  const start = (): void => {
    setOpen(true);
    if (statuses.length) void counter.run(replayFilter);
  };
  const close = (): void => {
    setOpen(false);
    counter.reset();
  };
  const confirm = async (): Promise<void> => {
    const outcome = await doReplay({ filter: replayFilter });
    if (outcome.error) return;
    close();
    onDone(outcome.data?.replayDeliveries.count ?? 0);
  };

  const what = statuses.length === 2 ? 'dead and failed pending' : statuses[0] === 'PENDING' ? 'failed pending' : 'dead';
  return (
    <>
      <Button onClick={start}>Replay all matching…</Button>
      <ConfirmDialog
        open={open}
        title="Replay deliveries"
        confirmLabel={counter.count ? `Replay ${formatCount(counter.count)}${counter.capped ? '+' : ''} deliveries` : 'Replay'}
        busy={replay.fetching}
        confirmDisabled={counter.counting || !counter.count}
        onCancel={close}
        onConfirm={confirm}
      >
        {statuses.length === 0 ? (
          <Notice tone="warning">Only dead deliveries and failed pending ones can be replayed; the status filter selects {unsupported.join(', ')} only.</Notice>
        ) : counter.counting ? (
          <p role="status">Counting the {what} deliveries that match the filter…</p>
        ) : counter.error ? (
          <ErrorMessage message={counter.error} />
        ) : counter.count === 0 ? (
          <p role="status">No {what} delivery matches the current filter: there is nothing to replay.</p>
        ) : counter.count != null ? (
          <div role="status">
            <p>
              <strong data-testid="replay-count">
                {formatCount(counter.count)}
                {counter.capped ? '+' : ''}
              </strong>{' '}
              {what} {counter.count === 1 ? 'delivery' : 'deliveries'} match the current filter and will be attempted again now
              {statuses.includes('DEAD') ? ' (a dead delivery gets one more attempt and returns to dead if it fails)' : ''}.
            </p>
            {unsupported.length > 0 && <p className="muted small">{unsupported.join(', ')} deliveries in the filter are not replayed.</p>}
            {counter.capped && <p className="muted small">Counting stopped at {formatCount(counter.count)}; one replay re-arms at most 100 000.</p>}
          </div>
        ) : null}
        {replay.error && <ErrorMessage error={replay.error} />}
      </ConfirmDialog>
    </>
  );
}
