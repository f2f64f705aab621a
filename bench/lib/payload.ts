/** The benchmark payload: a JSON object whose serialisation is exactly `bytes` long (1 KiB). */
export function payloadOf(bytes = 1024): Record<string, string> {
  const base = { source: 'bench', runId: 'run_0000000000', status: 'succeeded', pad: '' };
  const overhead = JSON.stringify(base).length;
  return { ...base, pad: 'x'.repeat(Math.max(0, bytes - overhead)) };
}
