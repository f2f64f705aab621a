import { builder } from '../builder.js';

// Enums shared by several types live here; each is part of the public contract (SPEC §7).

export const PlanEnum = builder.enumType('Plan', { values: ['enterprise', 'professional', 'starter'] as const });

export const ApiKeyRoleEnum = builder.enumType('ApiKeyRole', {
  description: 'admin: everything; operator: replay, pause/resume, test events, read; publisher: publish only; viewer: read and live streams, never secrets.',
  values: {
    ADMIN: { value: 'admin' },
    OPERATOR: { value: 'operator' },
    PUBLISHER: { value: 'publisher' },
    VIEWER: { value: 'viewer' },
  } as const,
});

export const SigningAlgorithmEnum = builder.enumType('SigningAlgorithm', {
  values: ['HMAC_SHA256', 'ED25519'] as const,
});

export const CircuitStateEnum = builder.enumType('CircuitState', { values: ['CLOSED', 'OPEN', 'HALF_OPEN'] as const });

export const OrderingModeEnum = builder.enumType('OrderingMode', {
  description: 'BEST_EFFORT: publish order, one in flight per orderingKey. STRICT: a failing delivery also holds back later ones with its orderingKey.',
  values: ['BEST_EFFORT', 'STRICT'] as const,
});

export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', {
  values: ['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED'] as const,
});

export const AttemptTriggerEnum = builder.enumType('AttemptTrigger', { values: ['SCHEDULED', 'MANUAL', 'TEST'] as const });

export const ErrorClassEnum = builder.enumType('ErrorClass', {
  description: 'Why an attempt failed. TRANSFORMATION: the endpoint\'s transformation threw, ran out of time or memory, or returned something that cannot be sent; nothing was sent and the delivery is DEAD at once.',
  values: ['HTTP_STATUS', 'TIMEOUT', 'CONNECTION', 'TLS', 'DNS', 'BLOCKED_ADDRESS', 'TRANSFORMATION'] as const,
});
