/** What one send resolves to; built by the sender (early refusals) and by its response handler. */
import type { SendErrorClass } from './sendErrors.js';

/** `ok` means an HTTP response arrived (any status); judging the status happens elsewhere. */
export type SendResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string; durationMs: number }
  | { ok: false; errorClass: SendErrorClass; errorMessage: string; durationMs: number };

export function failure(errorClass: SendErrorClass, errorMessage: string, startedAt: number): SendResult {
  return { ok: false, errorClass, errorMessage, durationMs: performance.now() - startedAt };
}
