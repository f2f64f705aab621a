export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED'];

export interface DeliveryFilter {
  endpointId?: string | null;
  statuses?: DeliveryStatus[] | null;
  eventType?: string | null;
  since?: string | null;
  until?: string | null;
}

export interface DeliveryRow {
  id: string;
  status: DeliveryStatus;
  eventType: string;
  createdAt: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  isTest: boolean;
  parked: boolean;
  endpoint: { id: string; url: string; active: boolean; circuitState: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; circuitOpenUntil: string | null };
  lastAttempt: { id: string; succeeded: boolean; responseStatus: number | null; errorClass: string | null; errorMessage: string | null } | null;
}

export const DELIVERIES_QUERY = /* GraphQL */ `
  query Deliveries($filter: DeliveryFilter, $first: Int!, $after: String) {
    deliveries(filter: $filter, first: $first, after: $after) {
      edges {
        node {
          id status eventType createdAt attemptCount nextAttemptAt lastAttemptAt isTest parked
          endpoint { id url active circuitState circuitOpenUntil }
          lastAttempt { id succeeded responseStatus errorClass errorMessage }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

/** Only what counting replayable deliveries needs, so a big window stays cheap. */
export const DELIVERY_COUNT_QUERY = /* GraphQL */ `
  query CountDeliveries($filter: DeliveryFilter, $first: Int!, $after: String) {
    deliveries(filter: $filter, first: $first, after: $after) {
      edges { node { id status attemptCount parked isTest } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export interface Attempt {
  id: string;
  attemptNumber: number;
  trigger: 'SCHEDULED' | 'MANUAL' | 'TEST';
  startedAt: string;
  durationMs: number;
  succeeded: boolean;
  responseStatus: number | null;
  responseHeaders: Record<string, unknown> | null;
  responseBody: string | null;
  requestHeaders: Record<string, unknown>;
  /** The body sent when the endpoint's transformation changed it (null: the envelope was sent as is). */
  requestBody: string | null;
  errorClass: string | null;
  errorMessage: string | null;
}

export interface DeliveryDetailData extends Omit<DeliveryRow, 'endpoint'> {
  completedAt: string | null;
  orderingKey: string | null;
  /** The exact body sent (the envelope); null for viewers and once the payload is purged. */
  requestBody: string | null;
  endpoint: DeliveryRow['endpoint'] & { signingAlgorithm: 'HMAC_SHA256' | 'ED25519' };
  event: { id: string; type: string; data: unknown; createdAt: string; eventId: string | null; orderingKey: string | null; payloadPurgedAt: string | null };
  attempts: Attempt[];
}

export const DELIVERY_QUERY = /* GraphQL */ `
  query Delivery($id: ID!) {
    delivery(id: $id) {
      id status eventType createdAt completedAt attemptCount nextAttemptAt lastAttemptAt isTest parked orderingKey requestBody
      endpoint { id url active circuitState circuitOpenUntil signingAlgorithm }
      lastAttempt { id succeeded responseStatus errorClass errorMessage }
      event { id type data createdAt eventId orderingKey payloadPurgedAt }
      attempts {
        id attemptNumber trigger startedAt durationMs succeeded responseStatus responseHeaders responseBody requestHeaders requestBody errorClass errorMessage
      }
    }
  }
`;

export const RETRY_DELIVERY = /* GraphQL */ `
  mutation RetryDelivery($id: ID!) {
    retryDelivery(id: $id) { id status attemptCount nextAttemptAt }
  }
`;

export const REPLAY_DELIVERIES = /* GraphQL */ `
  mutation ReplayDeliveries($filter: DeliveryFilter!) {
    replayDeliveries(filter: $filter) { count }
  }
`;

/** Attempts of one endpoint, to refresh a delivery's page when one of its attempts lands. */
export const ENDPOINT_ATTEMPTS_SUBSCRIPTION = /* GraphQL */ `
  subscription DeliveryAttemptsOfEndpoint($endpointId: ID) {
    deliveryAttempts(endpointId: $endpointId) { id delivery { id status } }
  }
`;

export const EVENT_TYPE_OPTIONS_QUERY = /* GraphQL */ `
  query DeliveryEventTypeOptions {
    eventTypes(first: 500) { edges { node { id name } } }
  }
`;

/** A one-minute link that downloads every delivery matching the filter (see ExportButtons). */
export const CREATE_DELIVERY_EXPORT = /* GraphQL */ `
  mutation CreateDeliveryExport($filter: DeliveryFilter, $format: ExportFormat!) {
    createDeliveryExport(filter: $filter, format: $format) { url expiresAt }
  }
`;
