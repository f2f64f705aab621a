import type { EndpointSettingsData, OrderingMode, SigningAlgorithm } from './formModel';

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';
export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'CIRCUIT_OPEN' | 'PROBING' | 'PAUSED' | 'DISABLED';

/** Endpoint.health: state first, then the recent failure rate (thresholds in docs/console.md). */
export interface EndpointHealth {
  status: HealthStatus;
  reason: string;
  recentFailureRate: number | null;
  recentAttempts: number;
  recentFailures: number;
}

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
  health: EndpointHealth;
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
  circuitOpenedAt: string | null;
  orderingMode: OrderingMode;
  signingAlgorithm: SigningAlgorithm;
  tls: { hasClientKey: boolean; clientCertificate: TlsCertificate | null; caCertificates: TlsCertificate[] } | null;
  updatedAt: string;
  filter: string | null;
  filterErrorCount: number;
  filterLastError: string | null;
  filterLastErrorAt: string | null;
  transformation: string | null;
}

const SUMMARY_FIELDS = `id uid url description labels active disabledReason circuitState
  health { status reason recentFailureRate recentAttempts recentFailures } eventSubscriptions { pattern } createdAt`;

const DETAIL_FIELDS = `${SUMMARY_FIELDS} disabledAt consecutiveFailures circuitOpenUntil circuitOpenedAt timeoutMs
  retryPolicy { initialBackoffSeconds multiplier maxBackoffSeconds maxAttempts }
  circuitBreaker { enabled failureThreshold cooldownSeconds }
  maxInFlight rateLimitPerSecond orderingMode signingAlgorithm updatedAt
  headers { name value }
  filter filterErrorCount filterLastError filterLastErrorAt transformation
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
      failuresByErrorClass { errorClass count }
    }
  }
`;

export interface Backlog {
  count: number;
  capped: boolean;
  oldestCreatedAt: string | null;
}

/** What waits behind the circuit: asked only while it is open (two index reads). */
export const ENDPOINT_BACKLOG_QUERY = /* GraphQL */ `
  query EndpointBacklog($id: ID!) {
    endpoint(id: $id) { id backlog { count capped oldestCreatedAt } }
  }
`;

export interface ProbeAttempt {
  id: string;
  trigger: 'SCHEDULED' | 'MANUAL' | 'TEST';
  succeeded: boolean;
  responseStatus: number | null;
  durationMs: number;
  errorClass: string | null;
  errorMessage: string | null;
  startedAt: string;
  delivery: { id: string; eventType: string };
}

export const PROBE_ENDPOINT = /* GraphQL */ `
  mutation ProbeEndpoint($id: ID!) {
    probeEndpoint(id: $id) { id trigger succeeded responseStatus durationMs errorClass errorMessage startedAt delivery { id eventType } }
  }
`;

/** Whether the server accepts http:// endpoint URLs (the form's URL hint says so). */
export const URL_POLICY_QUERY = /* GraphQL */ `
  query EndpointUrlPolicy {
    endpointUrlPolicy { allowHttp }
  }
`;

export interface CatalogEntry {
  id: string;
  name: string;
  category: string;
  description: string;
}

export interface TestEventType extends CatalogEntry {
  /** JSON Schema the payload must satisfy; null when free-form. */
  schema: Record<string, unknown> | null;
}

/** Types a test event can be (not deprecated), with their schema for the payload editor. */
export const TEST_EVENT_TYPES_QUERY = /* GraphQL */ `
  query TestEventTypes {
    eventTypes(first: 500, includeDeprecated: false) {
      edges { node { id name category description schema } }
    }
  }
`;

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
  delivery: { id: string; eventType: string };
}

export const SEND_TEST_EVENT = /* GraphQL */ `
  mutation SendTestEvent($endpointId: ID!, $type: String, $data: JSON) {
    sendTestEvent(endpointId: $endpointId, type: $type, data: $data) {
      id succeeded responseStatus durationMs errorClass errorMessage startedAt responseBody
      delivery { id eventType }
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

export { VALIDATE_FILTER, TRANSFORMATION_CATALOG, TRANSFORMATION_LAST_EVENT, TEST_TRANSFORMATION } from './contentQueries';
