export interface GraphQLResponse<T = any> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface GraphQLClient {
  request<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Like request, but throws unless there are no errors; returns data. */
  data<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Like request, but throws unless it failed; returns the first error's code and message. */
  error(query: string, variables?: Record<string, unknown>): Promise<{ code: string | undefined; message: string; extensions: Record<string, unknown> }>;
}

/** A plain fetch-based GraphQL client for tests (no client library in between); `headers` go on every request. */
export function graphqlClient(url: string, apiKey: string | null, headers: Record<string, string> = {}): GraphQLClient {
  async function request<T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as GraphQLResponse<T>;
    return { ...body, status: response.status };
  }
  return {
    request,
    async data(query, variables) {
      const result = await request<any>(query, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    async error(query, variables) {
      const result = await request(query, variables);
      const first = result.errors?.[0];
      if (!first) throw new Error(`expected an error, got data: ${JSON.stringify(result.data)}`);
      return { code: first.extensions?.code, message: first.message, extensions: first.extensions ?? {} };
    },
  };
}
