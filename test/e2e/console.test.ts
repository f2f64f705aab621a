/**
 * The console end to end, as an admin: Chromium against a real service (own database) and a
 * loopback receiver. Sign in, create an endpoint through the form, field errors, test event,
 * the live stream, dead letters and their replay, signing-key rotation, event types, API keys.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { describeWithBrowser, ensureConsoleBuilt, eventually, launchBrowser, openConsole, signIn, type ConsolePage } from '../helpers/browser.js';

describeWithBrowser('console (admin)', () => {
  let service: TestService;
  let receiver: Receiver;
  let browser: Browser;
  let current: ConsolePage | null = null;

  beforeAll(async () => {
    [service, receiver] = await Promise.all([startTestService(), startReceiver(), ensureConsoleBuilt()]).then(([s, r]) => [s, r] as const);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await service?.close();
  });

  afterEach(async (ctx) => {
    if (current && ctx.task.result?.state === 'fail') await current.report(ctx.task.name);
    await current?.close();
    current = null;
  });

  async function adminPage(path = '/endpoints'): Promise<Page> {
    current = await openConsole(browser, service.url);
    await signIn(current.page, service.adminKey, path);
    return current.page;
  }

  it('refuses a wrong key on the login page, then signs in and remembers the key for the tab', async () => {
    current = await openConsole(browser, service.url);
    const { page } = current;
    await page.goto('/');
    await page.getByLabel('API key').fill('whk_not_a_real_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');

    await page.getByLabel('API key').fill(service.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
    expect(page.url()).toMatch(/\/endpoints$/);
    await page.getByText('No endpoints yet').waitFor();
    await page.getByLabel('Role: admin').waitFor();

    // A reload keeps the session (sessionStorage) and the route.
    await page.goto('/event-types');
    await page.getByRole('heading', { name: 'Event types', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
  });

  it('creates an endpoint through the form and shows its signing secret once', async () => {
    const page = await adminPage();
    await page.getByRole('link', { name: 'New endpoint' }).click();
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook`);
    await page.getByLabel('Description').fill('Pipeline alerts');
    await page.getByLabel('Labels').fill('team:data-engineering, prod');
    await page.getByRole('group', { name: 'pipeline events' }).getByLabel(/all pipeline\.\*/).check();
    await page.getByLabel('Add a pattern').fill('security.api_key.created');
    await page.getByRole('button', { name: 'Add pattern' }).click();
    await page.getByLabel('Max attempts').fill('3');
    await page.getByRole('button', { name: 'Create endpoint' }).click();

    const secretBox = page.getByRole('region', { name: 'Signing secret' });
    const secret = (await secretBox.getByTestId('secret-value').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await secretBox.getByRole('button', { name: /stored it/ }).click();

    await page.getByRole('heading', { name: `${receiver.url}/hook`, level: 1 }).waitFor();
    await expect.poll(() => page.getByText('Healthy').first().isVisible()).toBe(true);
    expect(await page.getByText(secret).count()).toBe(0);

    const { endpoints } = await service.client().data(`{ endpoints(first: 10) { edges { node { url description labels retryPolicy { maxAttempts } eventSubscriptions { pattern } } } } }`);
    expect(endpoints.edges).toHaveLength(1);
    expect(endpoints.edges[0].node).toMatchObject({
      url: `${receiver.url}/hook`,
      description: 'Pipeline alerts',
      labels: ['team:data-engineering', 'prod'],
      retryPolicy: { maxAttempts: 3 },
    });
    expect(endpoints.edges[0].node.eventSubscriptions.map((s: { pattern: string }) => s.pattern).sort()).toEqual(['pipeline.*', 'security.api_key.created']);

    // The list shows it with its health, labels and patterns.
    await page.getByRole('link', { name: '← Endpoints' }).click();
    const row = page.getByRole('row', { name: /Pipeline alerts/ });
    await row.getByText('Healthy').waitFor();
    await row.getByText('pipeline.*').waitFor();
    await row.getByText('team:data-engineering').waitFor();
  });

  it('shows validation errors next to their fields', async () => {
    const page = await adminPage('/endpoints/new');
    // Nothing typed: the URL is required (checked before sending).
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await expectFieldError(page, 'URL', /Enter the URL/);

    // The server's problems land on their fields: timeout out of range, a pattern matching nothing.
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/other`);
    await page.getByLabel('Timeout (ms)').fill('500');
    await page.getByLabel('Failure threshold').fill('0');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await expectFieldError(page, 'Timeout (ms)', /^Timeout must be/);
    await expectFieldError(page, 'Failure threshold', /^Failure threshold must be/);
    expect(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid')).toBeNull();

    // The picker refuses a pattern that matches nothing in the catalog, naming close types.
    await page.getByLabel('Add a pattern').fill('pipeline.run.faild');
    await page.getByRole('button', { name: 'Add pattern' }).click();
    await page.getByText(/matches no event type in the catalog; did you mean pipeline\.run\.failed/).waitFor();

    const { endpoints } = await service.client().data(`{ endpoints(first: 10) { edges { node { url } } } }`);
    expect(endpoints.edges.map((e: { node: { url: string } }) => e.node.url)).not.toContain(`${receiver.url}/other`);
  });

  it('edits an endpoint, and shows a pause made elsewhere without a reload', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/edit-me`, description: 'Before', patterns: ['webhook.test'] });
    const healthSubscribers = () => service.live!.stats().subscribers.endpointHealth ?? 0;
    // Earlier tests' pages are closed; their sockets' subscriptions end shortly after.
    await waitUntil('no health subscriptions left from earlier pages', async () => healthSubscribers() === 0);
    const page = await adminPage(`/endpoints/${endpoint.id}`);
    const header = page.locator('.page-header');
    await header.getByText('Healthy').waitFor();
    // The page shows what it read, then follows changes once its subscription (the header's and
    // the circuit panel's are one: same document, same variables) is registered on the server (a
    // change made before that is read when the socket connects: the next test).
    await waitUntil('the page\'s health subscription', async () => healthSubscribers() >= 1);

    // endpointHealth pushes the change made through the API.
    await service.client().data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
    await header.getByText('Paused', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await header.getByText('Healthy').waitFor();

    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByLabel('Description').fill('After');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header 1 name').fill('x-team');
    await page.getByLabel('Header 1 value').fill('data');
    await page.getByLabel('Max in flight').fill('5000');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expectFieldError(page, 'Max in flight', /^Max in flight must be/);
    await page.getByLabel('Max in flight').fill('4');
    await page.getByRole('button', { name: 'Save changes' }).click();

    const settings = page.getByRole('region', { name: 'Settings' });
    await settings.getByText('x-team: data').waitFor();
    await settings.getByText('4 in flight, no rate limit').waitFor();
    await header.getByText('After').waitFor();
  });

  it('shows a change made before its live socket reached the server (it reads again once connected)', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/late-socket`, description: 'Late socket', patterns: ['webhook.test'] });
    current = await openConsole(browser, service.url);
    const { page } = current;
    // The live socket is held until the change is made: the page has read the endpoint over HTTP,
    // its subscription is not registered yet, so the change is never pushed to it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.routeWebSocket(/\/graphql$/, async (socket) => {
      await held;
      socket.connectToServer();
    });
    await signIn(page, service.adminKey, `/endpoints/${endpoint.id}`);
    const header = page.locator('.page-header');
    await header.getByText('Healthy').waitFor();
    await service.client().data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
    release();
    await header.getByText('Paused', { exact: true }).waitFor();
  });

  it('sends a test event and shows the attempt', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/test-target`, description: 'Test target', patterns: ['webhook.test'] });
    const before = receiver.requests.length;
    const page = await adminPage(`/endpoints/${endpoint.id}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    const result = page.getByRole('status', { name: 'Test event result' });
    await result.getByText('Success · 200').waitFor();
    await result.getByText(/\d+ ms|\d+\.\d+ s/).waitFor();
    expect(receiver.requests.length).toBe(before + 1);
    expect(JSON.parse(receiver.requests.at(-1)!.rawBody).type).toBe('webhook.test');

    // The attempt also reaches the endpoint's live panel.
    await page.getByRole('table', { name: 'Live attempts to this endpoint' }).getByText('webhook.test').waitFor();
  });

  it('shows published events in the live stream without a reload, and buffers them while paused', async () => {
    await createEndpoint(service.client(), { url: `${receiver.url}/live`, description: 'Live target', patterns: ['orchestration.lease.acquired'] });
    const page = await adminPage('/live');
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await waitUntil('the console to subscribe', async () => (service.live?.stats().subscribers.attempts ?? 0) >= 1);

    const table = page.getByRole('table', { name: 'Live delivery attempts' });
    for (let i = 0; i < 3; i++) await publish(service.client(), { type: 'orchestration.lease.acquired', data: { lease: i } });
    await expect.poll(() => table.getByRole('row', { name: /orchestration\.lease\.acquired/ }).count(), { timeout: 10_000 }).toBe(3);
    expect(await table.getByRole('row', { name: /Success · 200/ }).count()).toBeGreaterThanOrEqual(3);

    // Paused: new attempts are held back and shown on resume.
    await page.getByRole('button', { name: 'Pause stream' }).click();
    await publish(service.client(), { type: 'orchestration.lease.acquired', data: { lease: 'while paused' } });
    await page.getByRole('button', { name: 'Resume stream (1 new)' }).waitFor();
    expect(await table.getByRole('row', { name: /orchestration\.lease\.acquired/ }).count()).toBe(3);
    await page.getByRole('button', { name: 'Resume stream (1 new)' }).click();
    await expect.poll(() => table.getByRole('row', { name: /orchestration\.lease\.acquired/ }).count()).toBe(4);

    // Rows link to their delivery.
    await table.getByRole('link', { name: /^Delivery / }).first().click();
    await page.getByRole('heading', { name: /Delivery/, level: 1 }).waitFor();
    await page.getByRole('region', { name: 'Payload' }).getByText('"lease"').waitFor();
  });

  it('shows a dead letter, retries it once the receiver recovers, and bulk-replays with a count', async () => {
    const failing = await startReceiver({ respond: () => ({ status: 500, body: 'receiver is down' }) });
    try {
      const endpoint = await createEndpoint(service.client(), {
        url: `${failing.url}/hook`,
        description: 'Flaky receiver',
        patterns: ['governance.contract.violation_detected'],
        retryPolicy: { maxAttempts: 1 },
      });
      const first = await publish(service.client(), { type: 'governance.contract.violation_detected', data: { contract: 'orders' } });
      const second = await publish(service.client(), { type: 'governance.contract.violation_detected', data: { contract: 'customers' } });
      await waitForDeliveries(service, first.event.id, ['DEAD']);
      await waitForDeliveries(service, second.event.id, ['DEAD']);

      const page = await adminPage('/dead-letters');
      const table = page.getByRole('table', { name: 'Dead letters' });
      await expect.poll(() => table.getByRole('row', { name: /governance\.contract\.violation_detected/ }).count()).toBe(2);
      await table.getByRole('row', { name: /governance/ }).first().getByText('Failed · HTTP 500').waitFor();

      // One delivery: its detail, then "Retry now" after the receiver is fixed.
      failing.setResponder(() => ({ status: 200, body: 'ok' }));
      const [row] = await waitForDeliveries(service, first.event.id, ['DEAD']);
      await page.goto(`/deliveries/${row!.id}`);
      await page.getByRole('heading', { name: /Delivery\s*Dead/, level: 1 }).waitFor();
      const attempts = page.getByRole('list', { name: 'Attempts' });
      await attempts.getByText('Failed · HTTP 500').waitFor();
      await attempts.getByText('receiver is down').waitFor();
      await attempts.getByText(/webhook-signature: v1,/).waitFor();
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.getByRole('heading', { name: /Delivery\s*Succeeded/, level: 1 }).waitFor({ timeout: 15_000 });
      await attempts.getByText('Success · 200').waitFor();
      await attempts.getByText('manual').waitFor();
      expect(await page.getByRole('button', { name: 'Retry now' }).count()).toBe(0);

      // The other one through bulk replay: the dialog counts with the same filter first.
      await page.goto(`/dead-letters?endpoint=${endpoint.id}`);
      await expect.poll(() => page.getByRole('table', { name: 'Dead letters' }).getByRole('row', { name: /governance/ }).count()).toBe(1);
      await page.getByRole('button', { name: 'Replay all matching…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Replay deliveries' });
      await dialog.getByTestId('replay-count').filter({ hasText: '1' }).waitFor();
      await dialog.getByRole('button', { name: 'Replay 1 deliveries' }).click();
      await page.getByText('1 delivery was re-armed for delivery now.').waitFor();
      await waitForDeliveries(service, second.event.id, ['SUCCEEDED']);
      await page.reload();
      await page.getByText('No dead letters').waitFor();
    } finally {
      await failing.close();
    }
  });

  it('rotates a signing key and shows the new secret only once', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/rotate`, description: 'Rotation', patterns: ['security.*'] });
    const page = await adminPage(`/endpoints/${endpoint.id}`);
    const keys = page.getByRole('region', { name: 'Signing keys' });
    await keys.getByRole('list', { name: 'Signing keys' }).getByText('Signing', { exact: true }).waitFor();
    await keys.getByRole('button', { name: 'Rotate key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate signing key' });
    await dialog.getByLabel('Grace period').selectOption({ label: '1 h' });
    await dialog.getByRole('button', { name: 'Rotate' }).click();

    const secretBox = keys.getByRole('region', { name: 'New signing secret' });
    const secret = (await secretBox.getByTestId('secret-value').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(endpoint.secret);
    // Both keys sign during the grace period.
    await expect.poll(() => keys.getByRole('list', { name: 'Signing keys' }).getByRole('listitem').count()).toBe(2);
    await keys.getByRole('list', { name: 'Signing keys' }).getByText('Grace period').waitFor();

    await secretBox.getByRole('button', { name: /stored it/ }).click();
    expect(await page.getByText(secret).count()).toBe(0);
    await page.reload();
    await keys.getByRole('list', { name: 'Signing keys' }).waitFor();
    expect(await page.getByText(secret).count()).toBe(0);

    // Switching to Ed25519 shows the public key and the JWKS URL, and no secret.
    await keys.getByRole('button', { name: 'Rotate key' }).click();
    await dialog.getByLabel('Algorithm').selectOption('ED25519');
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    await keys.getByText(/now signs with an Ed25519 key/).waitFor();
    await keys.getByLabel('Public key').filter({ hasText: /^whpk_/ }).first().waitFor();
    await keys.getByRole('link', { name: `${service.url}/orgs/${service.orgId}/jwks.json` }).waitFor();
  });

  it('manages the event-type catalog and API keys', async () => {
    const page = await adminPage('/event-types');
    await page.getByRole('region', { name: 'pipeline event types' }).getByText('pipeline.run.failed').waitFor();
    await page.getByRole('button', { name: 'New event type' }).click();
    await page.getByLabel('Name').fill('acme.invoice.paid');
    await page.getByLabel('Description').fill('An invoice was paid.');
    await page.getByLabel('JSON Schema (optional)').fill('{ "type": "object", "required": ["invoiceId"] ');
    await page.getByRole('button', { name: 'Create event type' }).click();
    await expectFieldError(page, 'JSON Schema (optional)', /Not valid JSON/);
    await page.getByLabel('JSON Schema (optional)').fill('{ "type": "object", "required": ["invoiceId"] }');
    await page.getByRole('button', { name: 'Create event type' }).click();
    const acme = page.getByRole('region', { name: 'acme event types' });
    await acme.getByText('acme.invoice.paid').waitFor();
    await acme.getByRole('button', { name: 'View schema of acme.invoice.paid' }).click();
    await page.getByRole('dialog', { name: 'Schema of acme.invoice.paid' }).getByText('"invoiceId"').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await acme.getByRole('button', { name: 'Deprecate acme.invoice.paid' }).click();
    await page.getByRole('dialog', { name: 'Deprecate this event type?' }).getByRole('button', { name: 'Deprecate' }).click();
    await acme.getByText('Deprecated').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Key name').fill('Grafana');
    await page.getByLabel('Role', { exact: true }).selectOption('VIEWER');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const box = page.getByRole('region', { name: 'New API key' });
    const key = (await box.getByTestId('secret-value').textContent())!;
    expect(key).toMatch(/^whk_/);
    const viewer = await service.client(key).data(`{ viewer { role } }`);
    expect(viewer.viewer.role).toBe('VIEWER');
    await box.getByRole('button', { name: /stored it/ }).click();
    expect(await page.getByText(key).count()).toBe(0);

    await page.getByRole('button', { name: 'Revoke API key Grafana' }).click();
    await page.getByRole('dialog', { name: 'Revoke this API key?' }).getByRole('button', { name: 'Revoke key' }).click();
    await page.getByRole('row', { name: /Grafana/ }).getByText('Revoked').waitFor();
    await eventually('the revoked key to be refused', async () => (await service.client(key).request(`{ viewer { role } }`)).errors?.[0]?.extensions?.code === 'UNAUTHENTICATED');
  });
});

/** The field labelled `label` is marked invalid and its error (aria-describedby) matches. */
async function expectFieldError(page: Page, label: string, message: RegExp): Promise<void> {
  const input = page.getByLabel(label, { exact: true });
  await expect.poll(() => input.getAttribute('aria-invalid')).toBe('true');
  const describedBy = (await input.getAttribute('aria-describedby'))!.split(' ');
  const texts = await Promise.all(describedBy.map((id) => page.locator(`[id="${id}"]`).textContent()));
  expect(texts.join(' ')).toMatch(message);
}
