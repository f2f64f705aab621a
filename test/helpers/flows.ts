import type { GraphQLClient } from './graphql.js';
import type { TestService } from './service.js';

/** Polls `check` until it returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CreatedEndpoint {
  id: string;
  secret: string | null;
}

/** Creates an endpoint through the API (admin key unless another client is given). */
export async function createEndpoint(client: GraphQLClient, input: Record<string, unknown>): Promise<CreatedEndpoint> {
  const data = await client.data(
    `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } secret } }`,
    { input },
  );
  return { id: data.createEndpoint.endpoint.id, secret: data.createEndpoint.secret };
}

/** Publishes one event; returns the publish payload. */
export async function publish(
  client: GraphQLClient,
  input: { type: string; data: Record<string, unknown>; eventId?: string; orderingKey?: string },
): Promise<{ event: { id: string }; duplicate: boolean; deliveryCount: number }> {
  const data = await client.data(
    `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } duplicate deliveryCount } }`,
    { input },
  );
  return data.publishEvent;
}

export interface DeliveryView {
  id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: Date | null;
  endpoint_id: string;
  event_id: string;
  parked: boolean;
}

/** The deliveries of an event, read straight from the database. */
export async function deliveriesOf(service: TestService, eventId: string): Promise<DeliveryView[]> {
  return service.database.sql<DeliveryView[]>`
    SELECT id, status, attempt_count, next_attempt_at, endpoint_id, event_id, parked FROM deliveries WHERE event_id = ${eventId} ORDER BY id`;
}

/** Waits until every delivery of `eventId` is in one of `statuses`. */
export function waitForDeliveries(service: TestService, eventId: string, statuses: string[], timeoutMs = 10_000): Promise<DeliveryView[]> {
  return waitUntil(
    `deliveries of ${eventId} to reach ${statuses.join('/')}`,
    async () => {
      const rows = await deliveriesOf(service, eventId);
      return rows.length > 0 && rows.every((r) => statuses.includes(r.status)) ? rows : null;
    },
    timeoutMs,
  );
}

export interface AttemptView {
  attempt_number: number;
  trigger: string;
  started_at: Date;
  duration_ms: number;
  succeeded: boolean;
  response_status: number | null;
  error_class: string | null;
  error_message: string | null;
}

/** Attempts of a delivery, oldest first. */
export async function attemptsOf(service: TestService, deliveryId: string): Promise<AttemptView[]> {
  return service.database.sql<AttemptView[]>`
    SELECT attempt_number, trigger, started_at, duration_ms, succeeded, response_status, error_class, error_message
    FROM delivery_attempts WHERE delivery_id = ${deliveryId} ORDER BY attempt_number`;
}
