import { Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry of this process; every role serves it at /metrics. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
