import { printTable, round } from '../lib/stats.js';
import type { ScaleResult } from './scale.js';

/** Prints the scale scenario's tables; returns its keys of the final JSON line. */
export function printScale(scale: ScaleResult): Record<string, number | null> {
  printTable(
    `Platform scale: ${scale.organizations.toLocaleString('en-US')} organizations × ${Math.round(scale.endpoints / scale.organizations)} endpoints, built through the API`,
    ['endpoints', 'organizations', 'createOrganization/s', 'createEndpoint/s (8 at once)', 'createEndpoint CPU ms api', 'pg', 'publish p50 ms', 'publish p99 ms'],
    scale.steps.map((s) => [
      s.endpoints,
      s.organizations,
      s.createOrganizationPerSecond,
      s.createEndpointPerSecond,
      s.createEndpointCpuMs?.api,
      s.createEndpointCpuMs?.postgres,
      s.publishP50Ms,
      s.publishP99Ms,
    ]),
    [
      'Each step adds organizations (createOrganization, platform credential) and their endpoints (createEndpoint with each organization\'s admin key); the rates are for that step.',
      'publish = one publishEvent call of one event (one delivery) by organization 0, one call at a time, right after the step.',
      'The bench\'s other scenarios add ~110 endpoints of their own to every count.',
    ],
  );
  const { concentrated: c, spread: s } = scale;
  printTable(
    'Fan-out across the population: the same publish pattern (one event per endpoint of one organization per call)',
    ['run', 'deliveries/s', 'slowest s', 'worker CPU%', 'api CPU%', 'pg CPU%', 'worker RSS MB', 'ms CPU/delivery (all)'],
    [
      ['one organization (10 endpoints)', c.rate, c.minSecond, c.cpu.worker, c.cpu.api, c.cpu.postgres, c.workerRssMb, c.cpuMsPerDelivery.all],
      [`every call another organization (${scale.endpoints.toLocaleString('en-US')} endpoints)`, s.rate, s.minSecond, s.cpu.worker, s.cpu.api, s.cpu.postgres, s.workerRssMb, s.cpuMsPerDelivery.all],
      ['ratio', c.rate ? s.rate / c.rate : null, null, null, null, null, null, null],
    ],
    [
      ...[c, s].filter((r) => r.publisher.errors).map((r) => `${r.publisher.errors} publish errors (${r.publisher.lastError})`),
    ],
  );
  const f = scale.fanout;
  printTable(
    'Publish → receipt, events spread over every organization (one delivery each)',
    ['events', 'received', 'p50 ms', 'p99 ms', 'max ms', 'call p50', 'call p99', 'after answer p50', 'p99', 'CPU% worker', 'api', 'pg', 'publish errors'],
    [[f.events, f.received, f.p50, f.p99, f.max, f.call.p50, f.call.p99, f.afterAnswer.p50, f.afterAnswer.p99, f.cpu.worker, f.cpu.api, f.cpu.postgres, f.errors]],
    ['call = scheduled → the publishEvents call answered; after answer = answered → receipt. CPU% over the open loop, 200 = both cores.'],
  );
  return {
    endpointCreatePerSecond: round(scale.endpointCreatePerSecond, 0),
    fanoutP99Ms: round(f.p99, 1),
    thinSpreadRatio: c.rate ? round(s.rate / c.rate, 3) : null,
    workerRssMbAt100k: round(scale.workerRssMb, 0),
    publishP50Ratio: round(scale.publishRatio, 2),
  };
}
