import { useState } from 'react';
import { Button, EmptyState, ErrorMessage, Section } from '../../shared/ui';
import { AttemptTable } from './AttemptTable';
import { LiveIndicator } from './LiveIndicator';
import { useAttemptStream } from './useAttemptStream';

/** Live attempts to one endpoint, for its detail page. */
export function LiveAttempts({ endpointId }: { endpointId: string }) {
  const [paused, setPaused] = useState(false);
  const stream = useAttemptStream({ endpointId, paused, limit: 50, bufferLimit: 200 });
  return (
    <Section
      title="Live attempts"
      description="Attempts to this endpoint as they happen."
      actions={
        <>
          <LiveIndicator paused={paused} />
          <Button size="sm" aria-pressed={paused} onClick={() => setPaused((p) => !p)}>
            {paused ? `Resume stream${stream.buffered ? ` (${stream.buffered} new)` : ''}` : 'Pause stream'}
          </Button>
        </>
      }
    >
      {stream.error && <ErrorMessage error={stream.error} title="The live stream stopped" />}
      {stream.attempts.length === 0 ? (
        <EmptyState title="Waiting for attempts…">New attempts to this endpoint appear here without reloading.</EmptyState>
      ) : (
        <AttemptTable attempts={stream.attempts} showEndpoint={false} caption="Live attempts to this endpoint" />
      )}
    </Section>
  );
}
