/** How long and how hard each scenario runs: full (the SPEC §9 figures), --quick, --smoke. */
export type ModeName = 'full' | 'quick' | 'smoke';

export interface Mode {
  name: ModeName;
  /** Most deliveries published and not yet received in flow-controlled runs. */
  window: number;
  /** Deliveries each publish call creates (events per call = this / fan-out). */
  deliveriesPerCall: number;
  /** Endpoint counts of the throughput runs (the first is the "few endpoints" case). */
  endpointCounts: [number, number];
  throughput: { warmupMs: number; windowMs: number };
  ceiling: { warmupMs: number; windowMs: number };
  latency: { endpoints: number; ratePerSecond: number; batchEvents: number; warmupMs: number; windowMs: number };
  /**
   * Dead endpoints added to the second throughput set: 20% of all endpoints. They keep the
   * default settings (circuit breaker on); `breakerOff` adds a run with the breaker disabled,
   * so they take attempts, timeouts and retries for the whole window.
   */
  isolation: { dead: number; timeoutMs: number; warmupMs: number; windowMs: number; breakerOff: boolean };
  retry: { endpoints: number; ratePerSecond: number; publishMs: number; backoffSeconds: number };
  ingest: { batchEvents: number; concurrency: number; warmupMs: number; windowMs: number };
  backlog: { deliveries: number; warmupMs: number; windowMs: number };
  /**
   * Platform scale: organizations are created in steps (cumulative counts), each with
   * `endpointsPerOrg` endpoints; publish probes at each step; both flows and the open loop once
   * everything exists.
   */
  scale: {
    steps: number[];
    endpointsPerOrg: number;
    probes: number;
    flow: { warmupMs: number; windowMs: number };
    open: { ratePerSecond: number; durationMs: number };
  };
  /** Synthetic history (scenarios/history.ts): its size, query rounds, and the throughput run on top of it. */
  history: { attempts: number; days: number; endpoints: number; rounds: number; warmupMs: number; windowMs: number };
}

export const MODES: Record<ModeName, Mode> = {
  full: {
    name: 'full',
    window: 20_000,
    deliveriesPerCall: 1000,
    endpointCounts: [10, 100],
    throughput: { warmupMs: 5_000, windowMs: 60_000 },
    ceiling: { warmupMs: 5_000, windowMs: 30_000 },
    latency: { endpoints: 10, ratePerSecond: 1000, batchEvents: 10, warmupMs: 5_000, windowMs: 30_000 },
    isolation: { dead: 25, timeoutMs: 1000, warmupMs: 5_000, windowMs: 30_000, breakerOff: true },
    retry: { endpoints: 10, ratePerSecond: 500, publishMs: 20_000, backoffSeconds: 2 },
    ingest: { batchEvents: 1000, concurrency: 2, warmupMs: 2_000, windowMs: 20_000 },
    backlog: { deliveries: 1_000_000, warmupMs: 5_000, windowMs: 30_000 },
    scale: {
      steps: [1, 1_000, 2_500, 5_000, 7_500, 10_000],
      endpointsPerOrg: 10,
      probes: 300,
      flow: { warmupMs: 5_000, windowMs: 30_000 },
      open: { ratePerSecond: 500, durationMs: 30_000 },
    },
    history: { attempts: 50_000_000, days: 7, endpoints: 1000, rounds: 20, warmupMs: 5_000, windowMs: 30_000 },
  },
  quick: {
    name: 'quick',
    window: 6_000,
    deliveriesPerCall: 1000,
    endpointCounts: [10, 100],
    throughput: { warmupMs: 500, windowMs: 2_200 },
    ceiling: { warmupMs: 300, windowMs: 1_200 },
    latency: { endpoints: 10, ratePerSecond: 1000, batchEvents: 10, warmupMs: 600, windowMs: 2_000 },
    isolation: { dead: 25, timeoutMs: 1000, warmupMs: 500, windowMs: 1_500, breakerOff: false },
    retry: { endpoints: 10, ratePerSecond: 500, publishMs: 1_000, backoffSeconds: 1 },
    ingest: { batchEvents: 1000, concurrency: 2, warmupMs: 300, windowMs: 1_500 },
    backlog: { deliveries: 20_000, warmupMs: 400, windowMs: 2_000 },
    scale: {
      steps: [1, 50, 100],
      endpointsPerOrg: 10,
      probes: 40,
      flow: { warmupMs: 400, windowMs: 1_500 },
      open: { ratePerSecond: 500, durationMs: 1_500 },
    },
    history: { attempts: 150_000, days: 3, endpoints: 1000, rounds: 3, warmupMs: 400, windowMs: 2_000 },
  },
  smoke: {
    name: 'smoke',
    window: 500,
    deliveriesPerCall: 40,
    endpointCounts: [2, 4],
    throughput: { warmupMs: 200, windowMs: 800 },
    ceiling: { warmupMs: 200, windowMs: 600 },
    latency: { endpoints: 2, ratePerSecond: 100, batchEvents: 5, warmupMs: 200, windowMs: 800 },
    isolation: { dead: 1, timeoutMs: 1000, warmupMs: 200, windowMs: 800, breakerOff: false },
    retry: { endpoints: 2, ratePerSecond: 50, publishMs: 500, backoffSeconds: 1 },
    ingest: { batchEvents: 100, concurrency: 1, warmupMs: 100, windowMs: 500 },
    backlog: { deliveries: 2_000, warmupMs: 200, windowMs: 600 },
    scale: {
      steps: [1, 3],
      endpointsPerOrg: 10,
      probes: 10,
      flow: { warmupMs: 200, windowMs: 600 },
      open: { ratePerSecond: 50, durationMs: 500 },
    },
    history: { attempts: 10_000, days: 2, endpoints: 50, rounds: 1, warmupMs: 200, windowMs: 600 },
  },
};
