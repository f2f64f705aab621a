/** Endpoints are spread over this many ownership slots; each slot is owned by exactly one worker. */
export const SLOT_COUNT = 256;

/** The ownership slot of an endpoint: FNV-1a of its id, so every process computes the same answer. */
export function slotOf(endpointId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < endpointId.length; i++) {
    hash ^= endpointId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SLOT_COUNT;
}
