import type { TransformationOutcome } from '../../domain/transformation.js';
import type { EndpointRuntime } from '../endpointRuntime.js';
import type { LoadedDelivery } from '../dispatcher.js';

/** The transformation's verdict on one delivery, with how long the sandbox took. */
export type AppliedTransformation = TransformationOutcome & { durationMs: number };

/** Runs the endpoint's transformation on a delivery's event (the runtime must have one). */
export async function applyTransformation(runtime: EndpointRuntime, delivery: LoadedDelivery): Promise<AppliedTransformation> {
  const { outcome, durationMs } = await runtime.transform!({
    id: delivery.eventId,
    type: delivery.eventType,
    timestamp: delivery.eventCreatedAt.toISOString(),
    dataJson: delivery.dataJson,
    headers: runtime.headers,
  });
  return { ...outcome, durationMs };
}
