/** True when dist/ is missing or older than any source of the server build. */
export function serverBuildStale(): boolean;
/** Compiles the server (type errors fail the build) and stamps dist/. */
export function buildServer(): void;
/** Builds when stale; returns whether it built. */
export function ensureServerBuild(): boolean;
