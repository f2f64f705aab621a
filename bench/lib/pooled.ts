/** Runs `task(i)` for i in [from, to) with `concurrency` at once; returns when all are done. */
export async function pooled(from: number, to: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
