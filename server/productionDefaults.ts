/**
 * Imported first by the service's entry point, before any library reads it: unless told
 * otherwise the service runs as production. graphql-js decides at load time whether its
 * `instanceOf` adds development-only cross-realm checks, which cost 3.5% of the api's CPU
 * while coercing a batch of 1,000 published events (measured with `npm run bench -- --cpu-prof`).
 * Tests set NODE_ENV=test themselves and keep it.
 */
process.env.NODE_ENV ??= 'production';
