/**
 * The GraphQL API as the CLI calls it: one POST per operation, retried on network failures and
 * 5xx answers with the same Idempotency-Key, so a retried apply is applied once and its answer
 * (new signing secrets included) comes back to the retry.
 */
import { CliError } from './documentFile.js';

export interface ApiError {
  message: string;
  extensions?: { code?: string; reason?: string; problems?: { field: string; message: string }[]; [key: string]: unknown };
}

export class ApiRequestError extends CliError {
  constructor(readonly errors: ApiError[]) {
    super(errors.map((e) => e.message).join(' '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export interface ApiOptions {
  url: string;
  apiKey: string;
  /** Attempts per request (network failures, 5xx, an Idempotency-Key still running). */
  attempts?: number;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** Reads WEBHOOKS_URL and WEBHOOKS_API_KEY; missing ones are a clear error. */
export function apiOptionsFromEnv(env: NodeJS.ProcessEnv): ApiOptions {
  const url = env.WEBHOOKS_URL?.trim();
  const apiKey = env.WEBHOOKS_API_KEY?.trim();
  const missing = [!url && 'WEBHOOKS_URL (e.g. https://webhooks.example.com)', !apiKey && 'WEBHOOKS_API_KEY (an admin API key, whk_...)'].filter(Boolean);
  if (missing.length > 0) throw new CliError(`Set ${missing.join(' and ')} in the environment.`);
  try {
    new URL(url!);
  } catch {
    throw new CliError(`WEBHOOKS_URL ${JSON.stringify(url)} is not a URL; give the service's address, e.g. https://webhooks.example.com.`);
  }
  return { url: url!, apiKey: apiKey! };
}

/** The /graphql address of a service URL given with or without the path. */
export function graphqlUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/graphql') ? trimmed : `${trimmed}/graphql`;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

export function createWebhooksApi(options: ApiOptions) {
  const endpoint = graphqlUrl(options.url);
  const attempts = options.attempts ?? 4;
  const doFetch = options.fetchImpl ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  return {
    /** Runs one operation; GraphQL errors throw ApiRequestError. */
    async request<T>(query: string, variables: Record<string, unknown>, idempotencyKey?: string): Promise<T> {
      let lastProblem = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (attempt > 1) await sleep(Math.min(8_000, 500 * 2 ** (attempt - 2)));
        let response: Response;
        try {
          response = await doFetch(endpoint, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${options.apiKey}`,
              ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
            },
            body: JSON.stringify({ query, variables }),
          });
        } catch (err) {
          lastProblem = `cannot reach ${endpoint}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`;
          continue;
        }
        if (RETRYABLE_STATUS.has(response.status)) {
          lastProblem = `${endpoint} answered HTTP ${response.status}`;
          continue;
        }
        let body: { data?: T; errors?: ApiError[] };
        try {
          body = (await response.json()) as typeof body;
        } catch {
          throw new CliError(`${endpoint} answered HTTP ${response.status} without a GraphQL response: is WEBHOOKS_URL the webhook service?`);
        }
        if (body.errors?.length) {
          const first = body.errors[0]!.extensions;
          // The first request with this key is still running (e.g. our own timed-out attempt): wait for it.
          if (first?.code === 'IDEMPOTENCY_CONFLICT' && first.reason === 'STILL_RUNNING' && attempt < attempts) {
            lastProblem = body.errors[0]!.message;
            continue;
          }
          throw new ApiRequestError(body.errors);
        }
        return body.data as T;
      }
      throw new CliError(`Giving up after ${attempts} attempts: ${lastProblem}.`);
    },
  };
}
export type WebhooksApi = ReturnType<typeof createWebhooksApi>;
