import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { attemptsOf, createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';

describe('mTLS', () => {
  let service: TestService;
  let receiver: Receiver;
  let certs: TestCertificates;

  beforeAll(async () => {
    certs = await getTestCertificates();
    service = await startTestService();
    receiver = await startReceiver({
      https: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true, rejectUnauthorized: true },
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await service?.close();
  });

  it('presents the endpoint client certificate to an HTTPS receiver that requires one', async () => {
    const admin = service.client();
    await createEndpoint(admin, {
      url: `${receiver.url}/mtls`,
      patterns: ['security.policy.changed'],
      tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem },
    });
    const published = await publish(admin, { type: 'security.policy.changed', data: {} });
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const request = receiver.requests.find((r) => r.headers['webhook-id'] === published.event.id)!;
    expect(request.clientCertificateSubject).toContain(certs.clientSubjectCn);
  });

  it('fails with TLS when no client certificate is configured, and when the server certificate is not trusted', async () => {
    const admin = service.client();
    await createEndpoint(admin, {
      url: `${receiver.url}/no-client-cert`,
      patterns: ['pipeline.run.failed'],
      tls: { caCertificatePem: certs.caCertPem },
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
    });
    await createEndpoint(admin, {
      url: `${receiver.url}/untrusted`,
      patterns: ['pipeline.run.failed'],
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
    });
    const published = await publish(admin, { type: 'pipeline.run.failed', data: {} });
    const deliveries = await waitForDeliveries(service, published.event.id, ['DEAD']);
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) {
      const [attempt] = await attemptsOf(service, d.id);
      expect(attempt!.error_class).toBe('TLS');
      expect(attempt!.error_message).toBeTruthy();
    }
    expect(receiver.requests.filter((r) => r.headers['webhook-id'] === published.event.id)).toHaveLength(0);
  });
});

describe('private-address guard with an empty allowlist', () => {
  let service: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    service = await startTestService({ WEBHOOKS_ALLOWED_CIDRS: '' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await service?.close();
  });

  it('refuses loopback IP literals when the endpoint is created', async () => {
    const admin = service.client();
    for (const url of [`http://127.0.0.1:${receiver.port}/x`, `http://[::1]:${receiver.port}/x`, `http://[::ffff:127.0.0.1]:${receiver.port}/x`]) {
      const error = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
        input: { url, patterns: ['*'] },
      });
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(/WEBHOOKS_ALLOWED_CIDRS/);
    }
  });

  it('refuses a DNS name that resolves to loopback at connect time; the receiver never sees a request', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: `http://localhost:${receiver.port}/guarded`,
      patterns: ['pipeline.run.started'],
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
    });
    const published = await publish(admin, { type: 'pipeline.run.started', data: {} });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['DEAD']);
    const [attempt] = await attemptsOf(service, delivery!.id);
    expect(attempt!.error_class).toBe('BLOCKED_ADDRESS');
    expect(attempt!.error_message).toMatch(/WEBHOOKS_ALLOWED_CIDRS/);
    const test = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded errorClass } }`, { id: endpoint.id });
    expect(test.sendTestEvent).toEqual({ succeeded: false, errorClass: 'BLOCKED_ADDRESS' });
    expect(receiver.connectionCount).toBe(0);
  });
});
