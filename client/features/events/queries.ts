import type { DeliveryStatus } from '../../shared/deliveryState';

export interface EventDelivery {
  id: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  isTest: boolean;
  parked: boolean;
  createdAt: string;
  endpoint: { id: string; url: string; description: string; active: boolean; circuitState: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; circuitOpenUntil: string | null };
  lastAttempt: { id: string; succeeded: boolean; responseStatus: number | null; errorClass: string | null; errorMessage: string | null; startedAt: string } | null;
}

export interface EventDetail {
  id: string;
  type: string;
  data: unknown;
  eventId: string | null;
  orderingKey: string | null;
  createdAt: string;
  payloadPurgedAt: string | null;
  deliveries: EventDelivery[];
}

/** One event and every endpoint it went to. */
export const EVENT_QUERY = /* GraphQL */ `
  query EventPage($id: ID!) {
    event(id: $id) {
      id type data eventId orderingKey createdAt payloadPurgedAt
      deliveries {
        id status attemptCount nextAttemptAt lastAttemptAt isTest parked createdAt
        endpoint { id url description active circuitState circuitOpenUntil }
        lastAttempt { id succeeded responseStatus errorClass errorMessage startedAt }
      }
    }
  }
`;

/** Search: an event by the publisher's eventId (idempotency key). */
export const EVENT_BY_KEY_QUERY = /* GraphQL */ `
  query FindEventByKey($key: String!) {
    events(first: 1, filter: { eventId: $key }) { edges { node { id } } }
  }
`;

/** Search: does this event id exist (in this organization)? */
export const EVENT_EXISTS_QUERY = /* GraphQL */ `
  query FindEventById($id: ID!) {
    event(id: $id) { id }
  }
`;

/** Search: does this delivery id exist (in this organization)? */
export const DELIVERY_EXISTS_QUERY = /* GraphQL */ `
  query FindDeliveryById($id: ID!) {
    delivery(id: $id) { id event { id } }
  }
`;

export const RETRY_EVENT_DELIVERY = /* GraphQL */ `
  mutation RetryEventDelivery($id: ID!) {
    retryDelivery(id: $id) { id status attemptCount nextAttemptAt }
  }
`;
