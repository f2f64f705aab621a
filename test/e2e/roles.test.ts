/**
 * The console per role and plan, and on a phone: viewers see no secret and no mutating button,
 * operators recover but do not change settings, non-enterprise orgs get an explanation, and
 * the pages work at 375 px.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import { describeWithBrowser, ensureConsoleBuilt, launchBrowser, openConsole, signIn, VIEWPORTS, type ConsolePage } from '../helpers/browser.js';

const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;
const MUTATING = [/^New endpoint$/, /^Edit$/, /^Delete$/, /^Pause$/, /^Resume$/, /^Send test event$/, /^Rotate key$/, /^Revoke/, /^Retry/, /^Replay/, /^New event type$/, /^Deprecate/];

describeWithBrowser('console roles, plans and small screens', () => {
  let service: TestService;
  let receiver: Receiver;
  let browser: Browser;
  let keys: Record<'viewer' | 'operator' | 'publisher', string>;
  let endpointId: string;
  let deadDeliveryId: string;
  let current: ConsolePage | null = null;

  beforeAll(async () => {
    const [s, r] = await Promise.all([startTestService(), startReceiver({ respond: (req) => ({ status: req.path === '/dead' ? 500 : 200 }) }), ensureConsoleBuilt()]);
    service = s;
    receiver = r;
    const admin = service.client();
    keys = {
      viewer: (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'Wall screen' })).createApiKey.key,
      operator: (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'On call' })).createApiKey.key,
      publisher: (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'Platform' })).createApiKey.key,
    };
    const endpoint = await createEndpoint(admin, {
      url: `${receiver.url}/dead`,
      description: 'Always failing',
      patterns: ['pipeline.run.failed'],
      retryPolicy: { maxAttempts: 1 },
      headers: [{ name: 'x-api-token', value: 'super-secret-token' }],
    });
    endpointId = endpoint.id;
    const published = await publish(admin, { type: 'pipeline.run.failed', data: { run: 'r-42', secretish: 'payload-marker' } });
    deadDeliveryId = (await waitForDeliveries(service, published.event.id, ['DEAD']))[0]!.id;
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

  async function open(apiKey: string, path: string, viewport: { width: number; height: number } = VIEWPORTS.desktop): Promise<Page> {
    current = await openConsole(browser, service.url, { viewport });
    await signIn(current.page, apiKey, path);
    return current.page;
  }

  async function mutatingButtons(page: Page): Promise<string[]> {
    const names = await page.getByRole('button').allInnerTexts();
    const links = await page.getByRole('link').allInnerTexts();
    return [...names, ...links].map((n) => n.trim()).filter((n) => MUTATING.some((re) => re.test(n)));
  }

  it('a viewer sees no mutating buttons, no secrets and no payloads', async () => {
    const page = await open(keys.viewer, '/endpoints');
    await page.getByRole('row', { name: /Always failing/ }).waitFor();
    await page.getByLabel('Role: viewer').waitFor();
    expect(await mutatingButtons(page)).toEqual([]);
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).count()).toBe(0);

    await page.getByRole('link', { name: /\/dead$/ }).click();
    await page.getByRole('region', { name: 'Signing keys' }).getByRole('list', { name: 'Signing keys' }).waitFor();
    await page.getByRole('region', { name: 'Settings' }).getByText('x-api-token').waitFor();
    expect(await mutatingButtons(page)).toEqual([]);
    expect(await page.getByText('super-secret-token').count()).toBe(0);
    expect(await page.getByText(/whsec_/).count()).toBe(0);

    await page.goto('/dead-letters');
    await page.getByRole('table', { name: 'Dead letters' }).getByRole('row', { name: /pipeline\.run\.failed/ }).waitFor();
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await mutatingButtons(page)).toEqual([]);

    await page.goto(`/deliveries/${deadDeliveryId}`);
    await page.getByRole('heading', { name: /Delivery\s*Dead/ }).waitFor();
    await page.getByText('Payloads are hidden for the viewer role').waitFor();
    expect(await page.getByText('payload-marker').count()).toBe(0);
    expect(await mutatingButtons(page)).toEqual([]);

    await page.goto('/event-types');
    await page.getByText('pipeline.run.failed').first().waitFor();
    expect(await mutatingButtons(page)).toEqual([]);

    await page.goto('/api-keys');
    await page.getByText('Only admin keys can list and manage API keys').waitFor();
    expect(await page.getByRole('button', { name: 'Create API key' }).count()).toBe(0);
  });

  it('an operator recovers deliveries but does not change settings', async () => {
    const page = await open(keys.operator, `/endpoints/${endpointId}`);
    await page.getByRole('button', { name: 'Send test event' }).waitFor();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    for (const name of ['Edit', 'Delete', 'Rotate key']) expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    // Operators see what they replay: header values and payloads are not masked.
    await page.getByRole('region', { name: 'Settings' }).getByText('super-secret-token').waitFor();

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('dialog', { name: 'Pause this endpoint?' }).getByRole('button', { name: 'Pause endpoint' }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    await page.getByRole('heading', { level: 1 }).locator('..').getByText('Paused', { exact: true }).waitFor();
    expect((await service.client().data(`query($id: ID!) { endpoint(id: $id) { active disabledReason } }`, { id: endpointId })).endpoint).toEqual({
      active: false,
      disabledReason: 'Paused by "On call"',
    });
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();

    await page.goto(`/deliveries/${deadDeliveryId}`);
    await page.getByRole('region', { name: 'Payload' }).getByText('payload-marker').waitFor();
    await page.getByRole('button', { name: 'Retry now' }).waitFor();

    await page.goto('/dead-letters');
    await page.getByRole('checkbox', { name: /Select delivery/ }).first().waitFor();
    await page.getByRole('button', { name: 'Replay all matching…' }).waitFor();
    await page.goto('/endpoints');
    await page.getByRole('row', { name: /Always failing/ }).waitFor();
    expect(await page.getByRole('link', { name: 'New endpoint' }).count()).toBe(0);
  });

  it('a publisher key is told it cannot use the console', async () => {
    current = await openConsole(browser, service.url);
    const { page } = current;
    await page.goto('/');
    await page.getByLabel('API key').fill(keys.publisher);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'This key can only publish' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with another key' }).click();
    await page.getByLabel('API key').waitFor();
  });

  it('a non-enterprise organization gets an explanation instead of endpoint mutations', async () => {
    const pro = await service.services.organizations.createOrganization({ name: 'Startup Inc', plan: 'professional' });
    const page = await open(pro.apiKey, '/endpoints');
    await page.getByText('Enterprise feature').waitFor();
    await page.getByText(/on the professional plan/).waitFor();
    expect(await page.getByRole('link', { name: 'New endpoint' }).count()).toBe(0);
    await page.goto('/endpoints/new');
    await page.getByText('Enterprise feature').waitFor();
    expect(await page.getByRole('button', { name: 'Create endpoint' }).count()).toBe(0);
    // Admin-only pages that are not webhook settings stay available.
    await page.goto('/api-keys');
    await page.getByRole('button', { name: 'Create API key' }).waitFor();
  });

  it('works on a phone-sized screen', async () => {
    const page = await open(service.adminKey, '/endpoints', VIEWPORTS.phone);
    await page.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
    await page.getByText('Always failing').waitFor();
    const overflow = async (): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);

    // The navigation folds behind "Menu".
    expect(await page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    await page.getByRole('table', { name: 'Dead letters' }).getByText('pipeline.run.failed').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);

    for (const path of [`/endpoints/${endpointId}`, `/deliveries/${deadDeliveryId}`, '/endpoints/new', '/live', '/event-types', '/api-keys']) {
      await page.goto(path);
      await page.locator('main#main h1').first().waitFor();
      await page.waitForTimeout(200);
      expect({ path, overflow: await overflow() }).toEqual({ path, overflow: 0 });
    }
  });
});
