import { useQuery } from 'urql';
import { ENDPOINT_QUERY, type EndpointDetail } from './queries';

/** One endpoint with all its settings (shared by the detail page's panels through the cache). */
export function useEndpoint(id: string) {
  const [result, reexecute] = useQuery<{ endpoint: EndpointDetail }>({ query: ENDPOINT_QUERY, variables: { id } });
  return {
    endpoint: result.data?.endpoint ?? null,
    fetching: result.fetching,
    error: result.error,
    refetch: () => reexecute({ requestPolicy: 'network-only' }),
  };
}
