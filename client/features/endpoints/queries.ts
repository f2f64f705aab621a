import type { EndpointSettingsData, OrderingMode, SigningAlgorithm } from './formModel';

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface EndpointSummary {
  id: string;
  /** Client id chosen by the integrator (configuration as code), if any. */
  uid: string | null;
  url: string;
  description: string;
  labels: string[];
  active: boolean;
  disabledReason: string | null;
  circuitState: CircuitState;
  eventSubscriptions: { pattern: string }[];
  createdAt: string;
}

export interface TlsCertificate {
  subject: string;
  issuer: string;
  validTo: string;
  fingerprintSha256: string;
}

export interface EndpointDetail extends EndpointSummary, EndpointSettingsData {
  disabledAt: string | null;
  consecutiveFailures: number;
  circuitOpenUntil: string | null;
  orderingMode: OrderingMode;
  signingAlgorithm: SigningAlgorithm;
  tls: { hasClientKey: boolean; clientCertificate: TlsCertificate | null; caCertificates: TlsCertificate[] } | null;
  updatedAt: string;
}

const SUMMARY_FIELDS = `id uid url description labels active disabledReason circuitState eventSubscriptions { pattern } createdAt`;

const DETAIL_FIELDS = `${SUMMARY_FIELDS} disabledAt consecutiveFailures circuitOpenUntil timeoutMs
  retryPolicy { initialBackoffSeconds multiplier maxBackoffSeconds maxAttempts }
  circuitBreaker { enabled failureThreshold cooldownSeconds }
  maxInFlight rateLimitPerSecond orderingMode signingAlgorithm updatedAt
  headers { name value }
  tls { hasClientKey clientCertificate { subject issuer validTo fingerprintSha256 } caCertificates { subject issuer validTo fingerprintSha256 } }`;

export const ENDPOINTS_QUERY = /* GraphQL */ `
  query Endpoints($first: Int!, $after: String, $filter: EndpointFilter) {
    endpoints(first: $first, after: $after, filter: $filter) {
      edges { node { ${SUMMARY_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const ENDPOINT_QUERY = /* GraphQL */ `
  query Endpoint($id: ID!) {
    endpoint(id: $id) { ${DETAIL_FIELDS} }
  }
`;

export interface StatsBucket {
  start: string;
  succeeded: number;
  failed: number;
  total: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Recent health of one endpoint for the list: attempt counts over a window and its latest delivery. */
export const ENDPOINT_HEALTH_QUERY = /* GraphQL */ `
  query EndpointHealth($id: ID!, $since: DateTime!) {
    deliveryStats(endpointId: $id, since: $since, bucketSeconds: 3600) { start succeeded failed total }
    deliveries(first: 5, filter: { endpointId: $id }) {
      edges { node { id lastAttemptAt lastAttempt { id succeeded responseStatus errorClass startedAt } } }
    }
  }
`;

export const DELIVERY_STATS_QUERY = /* GraphQL */ `
  query DeliveryStats($id: ID!, $since: DateTime!, $until: DateTime, $bucketSeconds: Int!) {
    deliveryStats(endpointId: $id, since: $since, until: $until, bucketSeconds: $bucketSeconds) {
      start succeeded failed total p50 p95 p99
    }
  }
`;

export interface CatalogEntry {
  id: string;
  name: string;
  category: string;
  description: string;
}

export const EVENT_TYPE_CATALOG_QUERY = /* GraphQL */ `
  query EventTypeCatalog {
    eventTypes(first: 500, includeDeprecated: false) {
      edges { node { id name category description } }
    }
  }
`;

export const CREATE_ENDPOINT = /* GraphQL */ `
  mutation CreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) { secret endpoint { ${DETAIL_FIELDS} } }
  }
`;

export const UPDATE_ENDPOINT = /* GraphQL */ `
  mutation UpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
    updateEndpoint(id: $id, input: $input) { ${DETAIL_FIELDS} }
  }
`;

export const DELETE_ENDPOINT = /* GraphQL */ `
  mutation DeleteEndpoint($id: ID!) {
    deleteEndpoint(id: $id) { deletedEndpointId }
  }
`;

export const PAUSE_ENDPOINT = /* GraphQL */ `
  mutation PauseEndpoint($id: ID!) {
    pauseEndpoint(id: $id) { ${DETAIL_FIELDS} }
  }
`;

export const RESUME_ENDPOINT = /* GraphQL */ `
  mutation ResumeEndpoint($id: ID!) {
    resumeEndpoint(id: $id) { ${DETAIL_FIELDS} }
  }
`;

export interface TestAttempt {
  id: string;
  succeeded: boolean;
  responseStatus: number | null;
  durationMs: number;
  errorClass: string | null;
  errorMessage: string | null;
  startedAt: string;
  responseBody: string | null;
  delivery: { id: string };
}

export const SEND_TEST_EVENT = /* GraphQL */ `
  mutation SendTestEvent($endpointId: ID!) {
    sendTestEvent(endpointId: $endpointId) {
      id succeeded responseStatus durationMs errorClass errorMessage startedAt responseBody
      delivery { id }
    }
  }
`;

export interface HealthEvent {
  endpointId: string;
  circuitState: CircuitState;
  active: boolean;
  disabledReason: string | null;
  reason: string;
  at: string;
}

/** Breaker and enable/disable changes, pushed as they happen. */
export const ENDPOINT_HEALTH_SUBSCRIPTION = /* GraphQL */ `
  subscription EndpointHealthChanges($endpointId: ID) {
    endpointHealth(endpointId: $endpointId) { endpointId circuitState active disabledReason reason at }
  }
`;
