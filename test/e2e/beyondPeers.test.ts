/**
 * The console for content filters, transformations and embedded portal sessions, in Chromium:
 * the filter checked as it is typed, a transformation tried on a catalog example, and the portal
 * URL inside an iframe on another loopback origin (the platform's page).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Frame, Page } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint } from '../helpers/flows.js';
import { describeWithBrowser, ensureConsoleBuilt, eventually, launchBrowser, openConsole, signIn, type ConsolePage } from '../helpers/browser.js';

const CREATE_PORTAL = `mutation($labels: [String!], $role: ApiKeyRole!) { createPortalSession(role: $role, labels: $labels, displayName: "Acme Security", accentColor: "#0a7d5c") { url } }`;

/** The platform's own page, on another origin: it embeds whatever URL it is given in an iframe. */
async function startPlatform(): Promise<{ origin: string; server: http.Server; embed: (urls: string[]) => string }> {
  const pages = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const html = pages.get(req.url ?? '');
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    origin,
    server,
    embed(urls) {
      const path = `/settings-${++n}`;
      pages.set(path, `<!doctype html><title>Platform settings</title><h1>Webhook settings</h1>${urls.map((u, i) => `<iframe name="f${i}" src="${u}" width="1200" height="800"></iframe>`).join('')}`);
      return `${origin}${path}`;
    },
  };
}

describeWithBrowser('console: filters, transformations and the embedded portal', () => {
  let service: TestService;
  let receiver: Receiver;
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  let browser: Browser;
  let current: ConsolePage | null = null;

  beforeAll(async () => {
    platform = await startPlatform();
    const [s, r] = await Promise.all([startTestService({ WEBHOOKS_PORTAL_FRAME_ANCESTORS: platform.origin }), startReceiver(), ensureConsoleBuilt()]);
    service = s;
    receiver = r;
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/security`, description: 'Security alerts', labels: ['team:security'], patterns: ['security.*'] });
    await createEndpoint(admin, { url: `${receiver.url}/data`, description: 'Data team pipeline', labels: ['team:data'], patterns: ['pipeline.*'] });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await service?.close();
    await new Promise((r) => platform?.server.close(r));
  });

  afterEach(async (ctx) => {
    if (current && ctx.task.result?.state === 'fail') await current.report(ctx.task.name);
    await current?.close();
    current = null;
  });

  async function open(path: string): Promise<Page> {
    current = await openConsole(browser, service.url);
    await signIn(current.page, service.adminKey, path);
    return current.page;
  }

  it('checks the content filter as it is typed, with the position of the problem', async () => {
    const page = await open('/endpoints/new');
    const filter = page.getByTestId('filter-input');
    await filter.fill('data.severity == "high" &&');
    await page.locator('[data-field="filter"] .field__error').getByText(/not valid CEL.*line 1, column \d+/).waitFor();
    await filter.fill('severity == "high"');
    await page.locator('[data-field="filter"] .field__error').getByText(/unknown name "severity"/).waitFor();
    await filter.fill('data.severity == "high" && data.pipeline.startsWith("prod-")');
    await page.getByText('✓ Valid filter.').waitFor();
    expect(await page.locator('[data-field="filter"] .field__error').count()).toBe(0);
  });

  it('tries a transformation on an example of a catalog type, then saves the endpoint with it', async () => {
    const page = await open('/endpoints/new');
    await page.getByRole('button', { name: 'Start from an example' }).click();
    await page
      .getByTestId('transformation-input')
      .fill('function handler(webhook) {\n  return { body: { text: "Policy " + webhook.data.policy + " changed" }, headers: { "X-Team": "security" } };\n}');
    await page.getByRole('combobox', { name: 'Event type', exact: true }).selectOption('security.policy.changed');
    await page.getByTestId('transformation-sample').fill('{ "policy": "mfa-required" }');
    await page.getByTestId('transformation-run').click();
    await page.getByTestId('transformation-body').getByText('"text": "Policy mfa-required changed"').waitFor();
    await page.getByTestId('transformation-result').getByText('X-Team: security').waitFor();

    // A throwing transformation shows its error in the test run.
    await page.getByTestId('transformation-input').fill('function handler(webhook) { return webhook.data.missing.x; }');
    await page.getByTestId('transformation-run').click();
    await page.getByTestId('transformation-result').getByText(/Failed: TypeError/).waitFor();

    await page.getByTestId('transformation-input').fill('function handler(webhook) { webhook.data.seen = true; return webhook; }');
    await page.getByLabel('URL').fill(`${receiver.url}/from-form`);
    await page.getByTestId('filter-input').fill('has(data.policy)');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    let saved: { url: string } | undefined;
    await eventually(
      'the endpoint to be created',
      async () => {
        const { endpoints } = await service.client().data(`{ endpoints(first: 50) { edges { node { url filter transformation } } } }`);
        saved = endpoints.edges.map((e: { node: { url: string } }) => e.node).find((n: { url: string }) => n.url.endsWith('/from-form'));
        return saved !== undefined;
      },
      20_000,
    );
    expect(saved).toMatchObject({ filter: 'has(data.policy)', transformation: expect.stringMatching(/seen = true/) });
  });

  it('opens the portal URL inside an iframe on another origin, signed in, scoped to its labels and branded; other pages refuse framing', async () => {
    const { createPortalSession } = await service.client().data(CREATE_PORTAL, { role: 'ADMIN', labels: ['team:security'] });
    current = await openConsole(browser, platform.origin);
    const page = current.page;
    // The second iframe points at a console page that is not the portal: it must not render.
    await page.goto(platform.embed([createPortalSession.url, `${service.url}/endpoints`]));
    await page.getByRole('heading', { name: 'Webhook settings' }).waitFor();
    let portal: Frame | null = null;
    await eventually('the portal frame', () => (portal = page.frame({ name: 'f0' })) !== null);
    const frame = portal!;
    await frame.getByRole('row', { name: /Security alerts/ }).waitFor();
    expect(await frame.getByText('Data team pipeline').count()).toBe(0);
    await frame.getByText('Webhooks · Acme Security').waitFor();
    expect(await frame.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await frame.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    // The one-time token left the address at once; the console stays below /portal.
    expect(frame.url()).not.toContain('token=');
    expect(new URL(frame.url()).pathname).toMatch(/^\/portal(\/|$)/);
    const accent = await frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
    expect(accent).toBe('#0a7d5c');
    // The plain console page was refused inside the platform's frame.
    const other = page.frame({ name: 'f1' })!;
    expect(await other.locator('main#main').count()).toBe(0);
  });

  it('ends in the iframe when the platform revokes its portal sessions (the open live stream closes)', async () => {
    const { createPortalSession } = await service.client().data(CREATE_PORTAL, { role: 'VIEWER', labels: ['team:security'] });
    current = await openConsole(browser, platform.origin);
    const page = current.page;
    await page.goto(platform.embed([createPortalSession.url]));
    let portal: Frame | null = null;
    await eventually('the portal frame', () => (portal = page.frame({ name: 'f0' })) !== null);
    const frame = portal!;
    await frame.getByRole('row', { name: /Security alerts/ }).waitFor();
    await frame.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Live', exact: true }).click();
    await frame.locator('main#main').waitFor();
    await new Promise((r) => setTimeout(r, 1_000));
    await service.client().data(`mutation { revokePortalSessions }`);
    await frame.getByTestId('portal-ended').waitFor({ timeout: 15_000 });
    await frame.getByText(/revoked/).waitFor();
  });
});
