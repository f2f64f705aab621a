/** The few GraphQL calls the orchestrator makes to set scenarios up (through the public API). */
export interface Api {
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

export function apiClient(apiUrl: string, apiKey: string): Api {
  return {
    async data(query, variables) {
      const res = await fetch(`${apiUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors?.length || !body.data) throw new Error(`GraphQL ${res.status}: ${JSON.stringify(body.errors ?? body)}`);
      return body.data;
    },
  };
}

export interface BenchEndpoint {
  id: string;
  secret: string;
  url: string;
}

export async function createEventType(api: Api, name: string): Promise<void> {
  await api.data('mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }', {
    input: { name, category: 'bench', description: 'benchmark traffic' },
  });
}

/** Creates `count` endpoints with `urlOf(i)`, subscribed to `patterns`, with extra settings. */
export async function createEndpoints(
  api: Api,
  count: number,
  urlOf: (i: number) => string,
  patterns: string[] | ((i: number) => string[]),
  settings: Record<string, unknown> = {},
): Promise<BenchEndpoint[]> {
  const out: BenchEndpoint[] = new Array(count);
  // Eight at a time, as an admin's script would (the first version deadlocked on concurrent
  // createEndpoint calls: each created a queue partition; endpoints no longer have one).
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const url = urlOf(n);
      const data = await api.data('mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } secret } }', {
        input: { url, patterns: typeof patterns === 'function' ? patterns(n) : patterns, description: `bench ${n}`, ...settings },
      });
      out[n] = { id: data.createEndpoint.endpoint.id as string, secret: data.createEndpoint.secret as string, url };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

export async function deleteEndpoints(api: Api, endpoints: { id: string }[]): Promise<void> {
  for (const e of endpoints) {
    for (let attempt = 0; ; attempt++) {
      try {
        await api.data('mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }', { id: e.id });
        break;
      } catch (err) {
        // Teardown is not what is measured: a failed delete under load is tried again.
        if (attempt >= 5 || !String(err).includes('INTERNAL_SERVER_ERROR')) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
      }
    }
  }
}
