import { useQuery } from 'urql';
import { shortUrl } from './format';
import { ENDPOINT_OPTIONS_QUERY } from './queries';

/** The "Endpoint" field of a filter bar: every endpoint of the organization, or all of them (''). */
export function EndpointSelect({ value, onChange }: { value: string; onChange: (endpointId: string | null) => void }) {
  const [endpoints] = useQuery<{ endpoints: { edges: { node: { id: string; url: string; description: string } }[] } }>({ query: ENDPOINT_OPTIONS_QUERY });
  return (
    <label className="toolbar__field">
      <span>Endpoint</span>
      <select value={value} onChange={(e) => onChange(e.target.value || null)}>
        <option value="">All endpoints</option>
        {endpoints.data?.endpoints.edges.map(({ node }) => (
          <option key={node.id} value={node.id}>
            {node.description ? `${node.description} — ` : ''}
            {shortUrl(node.url, 50)}
          </option>
        ))}
      </select>
    </label>
  );
}
