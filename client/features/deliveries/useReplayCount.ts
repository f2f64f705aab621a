import { useCallback, useState } from 'react';
import { useClient, type OperationResult } from 'urql';
import { DELIVERY_COUNT_QUERY, type DeliveryFilter } from './queries';
import { isReplayable, type Replayable } from './replay';

const PAGE = 500;
/** Counting stops here; the dialog then says "more than". */
export const COUNT_LIMIT = 20_000;

interface CountPage {
  deliveries: { edges: { node: Replayable & { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

/**
 * Counts the deliveries a bulk replay would re-arm, with the very filter the replay will use,
 * by paging through them (the API has no count field).
 */
export function useReplayCount() {
  const client = useClient();
  const [state, setState] = useState<{ counting: boolean; count: number | null; capped: boolean; error: string | null }>({
    counting: false,
    count: null,
    capped: false,
    error: null,
  });

  const run = useCallback(
    async (filter: DeliveryFilter): Promise<void> => {
      setState({ counting: true, count: null, capped: false, error: null });
      let after: string | null = null;
      let total = 0;
      let seen = 0;
      for (;;) {
        const result: OperationResult<CountPage> = await client
          .query<CountPage>(DELIVERY_COUNT_QUERY, { filter, first: PAGE, after }, { requestPolicy: 'network-only' })
          .toPromise();
        if (result.error || !result.data) {
          setState({ counting: false, count: null, capped: false, error: result.error?.message ?? 'Could not count the deliveries.' });
          return;
        }
        const { edges, pageInfo } = result.data.deliveries;
        total += edges.filter((e) => isReplayable(e.node)).length;
        seen += edges.length;
        if (!pageInfo.hasNextPage) break;
        if (seen >= COUNT_LIMIT) {
          setState({ counting: false, count: total, capped: true, error: null });
          return;
        }
        after = pageInfo.endCursor;
      }
      setState({ counting: false, count: total, capped: false, error: null });
    },
    [client],
  );

  return { ...state, run, reset: () => setState({ counting: false, count: null, capped: false, error: null }) };
}
