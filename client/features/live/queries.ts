export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';

export interface LiveAttempt {
  id: string;
  attemptNumber: number;
  trigger: 'SCHEDULED' | 'MANUAL' | 'TEST';
  startedAt: string;
  durationMs: number;
  succeeded: boolean;
  responseStatus: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  eventType: string;
  endpoint: { id: string; url: string };
  delivery: { id: string; status: DeliveryStatus };
}

/** Every attempt of the organization as it is recorded; `statuses` is the delivery's status after it. */
export const ATTEMPTS_SUBSCRIPTION = /* GraphQL */ `
  subscription LiveAttempts($endpointId: ID, $statuses: [DeliveryStatus!]) {
    deliveryAttempts(endpointId: $endpointId, statuses: $statuses) {
      id attemptNumber trigger startedAt durationMs succeeded responseStatus errorClass errorMessage eventType
      endpoint { id url }
      delivery { id status }
    }
  }
`;
