import { builder } from '../builder.js';
import type { EndpointRow } from '../../db/schema.js';
import { describeCertificates, type CertificateInfo } from '../../domain/endpointTls.js';
import { MASK } from '../../domain/endpointSecrets.js';
import { CircuitStateEnum, OrderingModeEnum, SigningAlgorithmEnum } from './enums.js';

/** Every endpoint argument takes the id or the client uid (a uid never looks like an id). */
export const ENDPOINT_REF = 'The endpoint\'s id or its client uid.';

const RetryPolicyRef = builder.objectRef<EndpointRow>('RetryPolicy').implement({
  description: 'Attempt n+1 waits min(initialBackoffSeconds × multiplier^(n-1), maxBackoffSeconds) ±20%; after maxAttempts the delivery is DEAD.',
  fields: (t) => ({
    initialBackoffSeconds: t.exposeInt('retryInitialBackoffSeconds'),
    multiplier: t.float({
      // Stored as a 4-byte real: 1.1 reads back as 1.100000023841858 without the rounding.
      resolve: (e) => Number(e.retryMultiplier.toPrecision(7)),
    }),
    maxBackoffSeconds: t.exposeInt('retryMaxBackoffSeconds'),
    maxAttempts: t.exposeInt('retryMaxAttempts'),
  }),
});

const CircuitBreakerRef = builder.objectRef<EndpointRow>('CircuitBreaker').implement({
  description: 'After failureThreshold consecutive failures the circuit opens; one probe is sent after cooldownSeconds.',
  fields: (t) => ({
    enabled: t.exposeBoolean('breakerEnabled'),
    failureThreshold: t.exposeInt('breakerFailureThreshold'),
    cooldownSeconds: t.exposeInt('breakerCooldownSeconds'),
  }),
});

const EndpointHeaderRef = builder.objectRef<{ name: string; value: string }>('EndpointHeader').implement({
  description: 'A custom header sent with every request to the endpoint.',
  fields: (t) => ({
    name: t.exposeString('name'),
    value: t.string({
      description: `The header value; shown as "${MASK}" to roles that may not see secrets (viewer). Stored encrypted.`,
      resolve: (header) => header.value,
    }),
  }),
});

const EventSubscriptionRef = builder.objectRef<{ pattern: string }>('EventSubscription').implement({
  description:
    'Routes events to the endpoint: a full type ("pipeline.run.failed"), a prefix ending in ".*" ("security.*", any depth below it) or "*".',
  fields: (t) => ({ pattern: t.exposeString('pattern') }),
});

const TlsCertificateRef = builder.objectRef<CertificateInfo & { pem: string }>('TlsCertificate').implement({
  description: 'A certificate configured for mTLS (certificates are public; private keys are never returned).',
  fields: (t) => ({
    subject: t.exposeString('subject'),
    issuer: t.exposeString('issuer'),
    validFrom: t.expose('validFrom', { type: 'DateTime' }),
    validTo: t.expose('validTo', { type: 'DateTime' }),
    fingerprintSha256: t.exposeString('fingerprintSha256'),
    pem: t.exposeString('pem'),
  }),
});

const EndpointTlsRef = builder.objectRef<EndpointRow>('EndpointTls').implement({
  description: 'mTLS settings of the endpoint.',
  fields: (t) => ({
    clientCertificate: t.field({
      type: TlsCertificateRef,
      nullable: true,
      description: 'The certificate presented to the endpoint.',
      resolve: (e) => withPem(e.tlsClientCertificatePem)[0] ?? null,
    }),
    hasClientKey: t.boolean({
      description: 'Whether the client private key is stored (encrypted; it is never returned).',
      resolve: (e) => e.tlsClientKeySealed !== null,
    }),
    caCertificates: t.field({
      type: [TlsCertificateRef],
      description: 'Certificates trusted for the endpoint\'s server certificate, instead of the public roots.',
      resolve: (e) => withPem(e.tlsCaCertificatePem),
    }),
  }),
});

function withPem(pem: string | null): (CertificateInfo & { pem: string })[] {
  if (!pem) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => describeCertificates(block).map((info) => ({ ...info, pem: `${block}\n` })));
}

export const EndpointRef = builder.objectRef<EndpointRow>('Endpoint');
EndpointRef.implement({
  description: 'A URL that receives the organization\'s events, with its delivery settings.',
  fields: (t) => ({
    id: t.exposeID('id'),
    uid: t.exposeString('uid', {
      nullable: true,
      description: 'Client id chosen by the integrator, unique among the organization\'s endpoints; accepted wherever an endpoint id is.',
    }),
    url: t.string({
      description: `The URL requests go to; for viewers its query values are shown as "${MASK}" (receivers put tokens there). The query string is stored encrypted.`,
      resolve: (e, _args, ctx) => ctx.services.endpoints.shownSecrets(ctx.requireViewer(), e).url,
    }),
    description: t.exposeString('description'),
    labels: t.exposeStringList('labels'),
    active: t.exposeBoolean('active', { description: 'False when paused by hand or disabled (410 Gone, circuit open for 5 days).' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    circuitState: t.expose('circuitState', { type: CircuitStateEnum }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    circuitOpenUntil: t.expose('circuitOpenUntil', {
      type: 'DateTime',
      nullable: true,
      description: 'While OPEN: when the next probe may go.',
    }),
    timeoutMs: t.exposeInt('timeoutMs'),
    retryPolicy: t.field({ type: RetryPolicyRef, resolve: (e) => e }),
    circuitBreaker: t.field({ type: CircuitBreakerRef, resolve: (e) => e }),
    maxInFlight: t.exposeInt('maxInFlight'),
    rateLimitPerSecond: t.exposeInt('rateLimitPerSecond', { nullable: true }),
    orderingMode: t.expose('orderingMode', { type: OrderingModeEnum }),
    headers: t.field({
      type: [EndpointHeaderRef],
      resolve: (e, _args, ctx) => ctx.services.endpoints.shownSecrets(ctx.requireViewer(), e).headers,
    }),
    eventSubscriptions: t.field({
      type: [EventSubscriptionRef],
      resolve: async (e, _args, ctx) => (await ctx.loaders.patterns.load(e.id)).map((pattern) => ({ pattern })),
    }),
    tls: t.field({
      type: EndpointTlsRef,
      nullable: true,
      resolve: (e) => (e.tlsClientCertificatePem || e.tlsCaCertificatePem ? e : null),
    }),
    signingAlgorithm: t.expose('signingAlgorithm', {
      type: SigningAlgorithmEnum,
      description: 'HMAC_SHA256: the endpoint\'s own secret (v1). ED25519: the organization\'s key pair (v1a), public keys in /orgs/{orgId}/jwks.json.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
