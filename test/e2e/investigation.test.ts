/**
 * Issue 18, "find and fix a delivery problem in under a minute", in Chromium at 1280 px and 390 px
 * against a real service and a loopback receiver playing the endpoints (healthy, 500,
 * hanging behind an open circuit, 410, flaky Ed25519, paused, idle). One test per defect of the
 * issue (numbered as there), then the new capabilities: search and event page, the request as
 * sent with copy as curl, exports, probing an open circuit, typed test events.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { buildConsoleScenario, type ConsoleScenario } from '../helpers/consoleScenario.js';
import { describeWithBrowser, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsolePage } from '../helpers/browser.js';
import { verifyWebhook } from '../../server/verify.js';

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const run = promisify(execFile);

describeWithBrowser('console: find and fix a delivery problem (issue 18)', () => {
  let service: TestService;
  let scenario: ConsoleScenario;
  let browser: Browser;
  const open: ConsolePage[] = [];

  beforeAll(async () => {
    const [s] = await Promise.all([startTestService(), ensureConsoleBuilt()]);
    service = s;
    scenario = await buildConsoleScenario(service.client());
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await scenario?.close();
    await service?.close();
  });

  afterEach(async (ctx) => {
    for (const c of open.splice(0)) {
      if (ctx.task.result?.state === 'fail') await c.report(`${ctx.task.name} ${c.page.viewportSize()?.width}`);
      else expect(c.problems.filter((p) => p.startsWith('pageerror'))).toEqual([]);
      await c.close();
    }
  });

  async function page(path: string, viewport: { width: number; height: number } = DESKTOP, apiKey = service.adminKey): Promise<Page> {
    const c = await openConsole(browser, service.url, { viewport });
    open.push(c);
    await signIn(c.page, apiKey, path);
    return c.page;
  }

  async function deliveryOf(eventId: string, endpointId: string): Promise<string> {
    const d = await service.client().data(`query($e: ID!, $p: ID!) { deliveries(first: 5, filter: { eventId: $e, endpointId: $p }) { edges { node { id } } } }`, { e: eventId, p: endpointId });
    return d.deliveries.edges[0].node.id;
  }

  // ---- 1. endpoint form after a failed submit --------------------------------------------------
  it('1. a failed submit of the endpoint form brings the summary into view with focus, in the form’s words', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const p = await page('/endpoints/new', viewport);
      await p.getByLabel('URL', { exact: true }).fill(`${scenario.receiver.url}/new`);
      // This test server accepts http://, and the hint says so.
      await expect.poll(() => p.locator('[data-field="url"] .field__hint').textContent()).toMatch(/http:\/\//);
      await p.getByLabel('Labels').fill('team:a, team:a');
      await p.getByLabel('Timeout (ms)').fill('500');
      await p.getByLabel('Max attempts').fill('0');
      await p.getByRole('button', { name: 'Create endpoint' }).click();
      const summary = p.locator('.form-summary');
      await summary.getByText(/settings need attention/).waitFor();
      await expect.poll(() => p.evaluate(() => document.activeElement?.classList.contains('form-summary') ?? false)).toBe(true);
      const box = (await summary.boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeLessThan(viewport.height / 2);
      const text = (await summary.textContent())!;
      expect(text).toMatch(/Max attempts/);
      expect(text).toMatch(/Label 2/);
      expect(text).not.toMatch(/retryPolicy\.|labels\[|timeoutMs/);
      // Each entry leads to its field.
      await summary.getByRole('link', { name: 'Max attempts' }).click();
      await expect.poll(() => p.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('0');
    }
  });

  // ---- 2. health from the failure rate ------------------------------------------------------------
  it('2. the health badge and "Needs attention" count the recent failure rate, not only the circuit', async () => {
    const p = await page('/endpoints');
    await p.getByRole('row', { name: /Billing sync/ }).getByText('Failing', { exact: true }).waitFor();
    await p.getByRole('row', { name: /Orders warehouse sync/ }).getByText('Healthy', { exact: true }).waitFor();
    await p.getByLabel('Health').selectOption('attention');
    const table = p.getByRole('table', { name: 'Endpoints' });
    for (const name of ['Billing sync', 'Analytics ingest', 'Legacy CRM hook']) await table.getByRole('row', { name: new RegExp(name) }).waitFor();
    for (const name of ['Orders warehouse sync', 'Security alerts', 'Staging']) expect(await table.getByRole('row', { name: new RegExp(name) }).count()).toBe(0);
  });

  // ---- 3. signing keys ---------------------------------------------------------------------------
  it('3. revoke is not offered on the key that signs now, and a revocation leaves no stale error', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${scenario.receiver.url}/keys`, patterns: [] });
    const p = await page(`/endpoints/${endpoint.id}`);
    const keys = p.getByRole('region', { name: 'Signing keys' });
    const list = keys.getByRole('list', { name: 'Signing keys' });
    await list.getByText('Signing', { exact: true }).waitFor();
    expect(await list.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    await list.getByText('Rotate to replace').waitFor();

    await keys.getByRole('button', { name: 'Rotate key' }).click();
    await p.getByRole('dialog', { name: 'Rotate signing key' }).getByLabel('Grace period').selectOption({ label: '1 h' });
    await p.getByRole('dialog', { name: 'Rotate signing key' }).getByRole('button', { name: 'Rotate' }).click();
    await keys.getByRole('region', { name: 'New signing secret' }).getByRole('button', { name: /stored it/ }).click();
    // Only the key in its grace period can be revoked.
    await expect.poll(() => list.getByRole('button', { name: /^Revoke/ }).count()).toBe(1);
    await list.getByRole('listitem').filter({ hasText: 'Grace period' }).getByRole('button', { name: /^Revoke/ }).click();
    await p.getByRole('dialog', { name: 'Revoke this key?' }).getByRole('button', { name: 'Revoke key' }).click();
    await list.getByText('Revoked', { exact: true }).waitFor();
    expect(await keys.getByRole('alert').count()).toBe(0);
  });

  // ---- 4. an open circuit -----------------------------------------------------------------------
  it('4. an open circuit shows its backlog and why deliveries wait, at 1280 px and 390 px', async () => {
    const [row] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${scenario.endpoints.hanging} AND status = 'PENDING'`;
    for (const viewport of [DESKTOP, PHONE]) {
      const p = await page(`/endpoints/${scenario.endpoints.hanging}`, viewport);
      const panel = p.getByRole('region', { name: 'Circuit breaker' });
      await panel.getByTestId('backlog').getByText(`${row!.n}`, { exact: true }).waitFor();
      await panel.getByText(/deliveries wait, the oldest since/).waitFor();
      await panel.getByRole('button', { name: 'Probe now' }).waitFor();
    }
    const deliveryId = await deliveryOf(scenario.run8841.eventId, scenario.endpoints.hanging);
    const p = await page(`/deliveries/${deliveryId}`);
    const summary = p.getByRole('region', { name: 'Summary' });
    await summary.getByText(/Circuit open · next probe/).waitFor();
    await p.getByRole('region', { name: 'Attempts' }).getByText(/Waiting behind the endpoint’s open circuit/).waitFor();
    expect(await p.getByText('The first attempt is queued').count()).toBe(0);
    await p.goto(`/deliveries?endpoint=${scenario.endpoints.hanging}&status=PENDING`);
    await p.getByRole('table', { name: 'Deliveries' }).getByRole('row').nth(1).getByText(/Circuit open/).waitFor();
  });

  // ---- 5. unknown or deleted endpoint --------------------------------------------------------------
  it('5. an unknown or deleted endpoint id is one "not found" page without a live dot or working buttons', async () => {
    const deleted = await createEndpoint(service.client(), { url: `${scenario.receiver.url}/deleted`, patterns: [] });
    await service.client().data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: deleted.id });
    for (const id of [deleted.id, 'ep_01M8ZZZZZZZZZZZZZZZZZZZZZZ']) {
      const p = await page(`/endpoints/${id}`);
      await p.getByRole('heading', { name: 'Endpoint not found', level: 1 }).waitFor();
      await p.waitForTimeout(500);
      expect(await p.getByText(/no endpoint with this id/i).count()).toBe(1);
      expect(await p.getByRole('alert').count()).toBe(0);
      for (const name of ['Send test event', 'Rotate key', 'Pause', 'Edit', 'Delete']) expect(await p.getByRole('button', { name, exact: true }).count()).toBe(0);
      expect(await p.locator('.live-indicator').count()).toBe(0);
      expect(await p.title()).toBe('Endpoint not found · Org webhooks');
    }
  });

  // ---- 6. search and the event page -----------------------------------------------------------------
  it('6. the header search finds an event by eventId, event id or delivery id, at 1280 px and 390 px', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const p = await page('/endpoints', viewport);
      const search = p.getByRole('search', { name: 'Find an event or delivery' });
      // Visible without opening the menu, on a phone too.
      expect(await search.getByRole('searchbox').isVisible()).toBe(true);
      await search.getByRole('searchbox').fill(scenario.run8841.key);
      await search.getByRole('searchbox').press('Enter');
      await p.getByRole('heading', { name: /Event\s*pipeline\.run\.failed/, level: 1 }).waitFor();
      expect(new URL(p.url()).pathname).toBe(`/events/${scenario.run8841.eventId}`);
      const table = p.getByRole('table', { name: 'Deliveries of this event' });
      await expect.poll(() => table.getByRole('row').count()).toBe(6);
      const failing = table.getByRole('row', { name: /Billing sync/ });
      await failing.getByText('Failed · HTTP 500').waitFor();
      await failing.getByText(/Endpoint answered 500/).waitFor();
      await table.getByRole('row', { name: /Analytics ingest/ }).getByText(/Circuit open/).waitFor();
      await p.getByRole('region', { name: 'Payload' }).getByText(/OOMKilled/).waitFor();
    }
    const p = await page('/endpoints');
    const search = p.getByRole('search', { name: 'Find an event or delivery' }).getByRole('searchbox');
    await search.fill(scenario.run8841.eventId);
    await search.press('Enter');
    await p.waitForURL(`**/events/${scenario.run8841.eventId}`);
    // Replayable from the event page: the dead delivery to the failing endpoint.
    await p.getByRole('button', { name: /Retry the delivery to .*\/failing/ }).click();
    await p.getByText('The delivery is being retried now.').waitFor();

    const deliveryId = await deliveryOf(scenario.run8841.eventId, scenario.endpoints.healthy);
    await search.fill(deliveryId);
    await search.press('Enter');
    await p.waitForURL(`**/deliveries/${deliveryId}`);
    await search.fill('run_0000:nothing');
    await search.press('Enter');
    await p.getByText('Nothing matches this id').waitFor();
  });

  // ---- investigate a delivery ---------------------------------------------------------------------------
  it('shows the request as sent, byte for byte, and a curl command that reproduces it against the receiver', async () => {
    const deliveryId = await deliveryOf(scenario.run8841.eventId, scenario.endpoints.failing);
    const p = await page(`/deliveries/${deliveryId}`);
    const request = p.getByRole('region', { name: 'Request' });
    const body = (await request.getByLabel('Request body', { exact: true }).textContent())!;
    const received = scenario.receiver.requests.find((r) => r.path === '/failing' && JSON.parse(r.rawBody).id === scenario.run8841.eventId)!;
    expect(body).toBe(received.rawBody);
    await request.getByLabel(/Request headers of attempt/).getByText(/webhook-signature: v1,/).waitFor();
    await request.getByRole('button', { name: 'Copy as curl' }).waitFor();

    const curl = (await request.getByLabel('curl command').textContent())!;
    expect(curl).toContain('whsec_REPLACE_WITH_THE_ENDPOINT_SECRET');
    const secret = scenario.secrets[scenario.endpoints.failing]!;
    const before = scenario.receiver.requests.length;
    await run('bash', ['-c', curl.replace('whsec_REPLACE_WITH_THE_ENDPOINT_SECRET', secret)]);
    const replayed = scenario.receiver.requests[before]!;
    expect(replayed.path).toBe('/failing');
    expect(replayed.rawBody).toBe(received.rawBody);
    expect(verifyWebhook(replayed.rawBody, replayed.headers, { secret })).toMatchObject({ id: scenario.run8841.eventId, type: 'pipeline.run.failed' });

    // Viewers see no request at all; a purged payload is said to be purged.
    const viewer = (await service.client().data(`mutation { createApiKey(role: VIEWER, name: "curious") { key } }`)).createApiKey.key;
    const asViewer = await page(`/deliveries/${deliveryId}`, DESKTOP, viewer);
    await asViewer.getByRole('region', { name: 'Attempts' }).waitFor();
    expect(await asViewer.getByRole('region', { name: 'Request' }).count()).toBe(0);
    const purgedEvent = (await service.client().data(`{ events(first: 1, filter: { eventId: "run_8833:failed" }) { edges { node { id } } } }`)).events.edges[0].node.id;
    await service.database.sql`UPDATE events SET data = NULL, payload_purged_at = now() WHERE id = ${purgedEvent}`;
    const purged = await page(`/deliveries/${await deliveryOf(purgedEvent, scenario.endpoints.failing)}`);
    const purgedRequest = purged.getByRole('region', { name: 'Request' });
    await purgedRequest.getByText(/The body is gone: the payload was purged/).waitFor();
    expect(await purgedRequest.getByLabel('curl command').count()).toBe(0);
  });

  it('exports the filtered delivery list as CSV and JSON, every row, through a download', async () => {
    const p = await page(`/deliveries?endpoint=${scenario.endpoints.hanging}`);
    await p.getByRole('table', { name: 'Deliveries' }).waitFor();
    const [n] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${scenario.endpoints.hanging}`;
    const [csvDownload] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(csvDownload.suggestedFilename()).toMatch(/^deliveries-.*\.csv$/);
    const csv = readFileSync((await csvDownload.path())!, 'utf8').trimEnd().split('\r\n');
    expect(csv[0]).toMatch(/^deliveryId,status,eventId/);
    expect(csv).toHaveLength(n!.n + 1);
    const [jsonDownload] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export JSON' }).click()]);
    const rows = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8')) as { endpointId: string }[];
    expect(rows).toHaveLength(n!.n);
    expect(rows.every((r) => r.endpointId === scenario.endpoints.hanging)).toBe(true);
  });

  // ---- 7. date range ------------------------------------------------------------------------------------
  it('7. a reversed date range is explained next to its field; presets set the window', async () => {
    const p = await page('/deliveries');
    await p.getByRole('table', { name: 'Deliveries' }).waitFor();
    await p.getByLabel('Created', { exact: true }).selectOption('custom');
    await p.getByLabel('From', { exact: true }).fill('2026-12-05T10:00');
    await p.getByLabel('To', { exact: true }).fill('2026-12-01T10:00');
    const to = p.getByLabel('To', { exact: true });
    await expect.poll(() => to.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await to.getAttribute('aria-describedby'))!;
    expect(await p.locator(`[id="${describedBy}"]`).textContent()).toMatch(/“To” must be later than “From”/);
    expect(await p.getByText('Something went wrong').count()).toBe(0);
    expect(await p.getByText(/"since" must be before "until"/).count()).toBe(0);

    await p.getByLabel('Created', { exact: true }).selectOption('24h');
    await expect.poll(() => new URL(p.url()).searchParams.get('range')).toBe('24h');
    await p.getByRole('table', { name: 'Deliveries' }).getByRole('row').nth(1).waitFor();
    for (const preset of ['1h', '7d']) expect(await p.getByLabel('Created', { exact: true }).locator(`option[value="${preset}"]`).count()).toBe(1);
  });

  // ---- 8. charts -----------------------------------------------------------------------------------------
  it('8. charts: volume and error classes too, readable axes at every range, a new endpoint charted since its creation', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      const p = await page(`/endpoints/${scenario.endpoints.failing}`, viewport);
      const health = p.getByRole('region', { name: 'Delivery health' });
      for (const range of ['1 h', '24 h', '7 d']) {
        await health.getByRole('button', { name: range, exact: true }).click();
        await health.locator('figure[aria-label="Volume"][data-x-ticks]').waitFor();
        for (const title of ['Volume', 'Failures by error class', 'Success rate', 'Latency']) {
          const figure = health.locator(`figure[aria-label="${title}"]`);
          const overlaps = await figure.evaluate((el) => {
            const ticks = JSON.parse(el.getAttribute('data-x-ticks') ?? '[]') as { x: number; label: string }[];
            const ctx = document.createElement('canvas').getContext('2d')!;
            ctx.font = el.getAttribute('data-x-font') ?? '12px sans-serif';
            const width = (label: string) => Math.max(...label.split('\n').map((line) => ctx.measureText(line).width));
            const bad: string[] = [];
            for (let i = 1; i < ticks.length; i++) {
              const gap = ticks[i]!.x - ticks[i - 1]!.x;
              if (gap < (width(ticks[i]!.label) + width(ticks[i - 1]!.label)) / 2 + 4) bad.push(`${ticks[i - 1]!.label} | ${ticks[i]!.label}`);
            }
            return { count: ticks.length, bad };
          });
          expect(overlaps.bad, `${title} at ${range}, ${viewport.width} px`).toEqual([]);
          expect(overlaps.count, `${title} at ${range}`).toBeGreaterThanOrEqual(2);
        }
      }
      await health.locator('figure[aria-label="Failures by error class"] .u-legend').getByText('HTTP_STATUS').waitFor();
    }

    const fresh = await createEndpoint(service.client(), { url: `${scenario.receiver.url}/fresh`, patterns: [] });
    await service.client().data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, { id: fresh.id });
    const p = await page(`/endpoints/${fresh.id}`);
    const health = p.getByRole('region', { name: 'Delivery health' });
    await health.getByText(/since it was created/).waitFor();
    const bucket = Number(await health.locator('figure[aria-label="Volume"]').getAttribute('data-bucket-seconds'));
    expect(bucket).toBeLessThanOrEqual(60);
  });

  // ---- 9. phone layout -----------------------------------------------------------------------------------
  it('9. at 390 px the event-type picker shows whole names and "Add a pattern" outside any inner scroll box; live rows stay short', async () => {
    const p = await page('/endpoints/new', PHONE);
    const input = p.getByLabel('Add a pattern');
    await input.scrollIntoViewIfNeeded();
    const trapped = await input.evaluate((el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (/(auto|scroll)/.test(style.overflowY) && a.scrollHeight > a.clientHeight + 1) return a.className;
      }
      return null;
    });
    expect(trapped).toBeNull();
    const clipped = await p.locator('.picker__option code').evaluateAll((codes) =>
      codes.filter((c) => c.getBoundingClientRect().right > window.innerWidth || c.scrollWidth > c.clientWidth + 1).map((c) => c.textContent),
    );
    expect(clipped).toEqual([]);

    const live = await page(`/endpoints/${scenario.endpoints.healthy}`, PHONE);
    await waitUntil('the live stream to subscribe', async () => (service.live?.stats().subscribers.attempts ?? 0) >= 1);
    await service.client().data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, { id: scenario.endpoints.healthy });
    const row = live.getByRole('table', { name: 'Live attempts to this endpoint' }).getByRole('row').nth(1);
    await row.waitFor();
    expect((await row.boundingBox())!.height).toBeLessThanOrEqual(110);
  });

  // ---- 10. the endpoint page's live table at 1280 px ----------------------------------------------------------
  it('10. at 1280 px the endpoint page’s live table fits its card and shows its View links', async () => {
    const p = await page(`/endpoints/${scenario.endpoints.healthy}`);
    await waitUntil('the live stream to subscribe', async () => (service.live?.stats().subscribers.attempts ?? 0) >= 1);
    await service.client().data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, { id: scenario.endpoints.healthy });
    const card = p.getByRole('region', { name: 'Live attempts' });
    const table = card.getByRole('table', { name: 'Live attempts to this endpoint' });
    const view = table.getByRole('link', { name: /^Delivery / }).first();
    await view.waitFor();
    const cardBox = (await card.boundingBox())!;
    const tableBox = (await table.boundingBox())!;
    const viewBox = (await view.boundingBox())!;
    expect(tableBox.x + tableBox.width).toBeLessThanOrEqual(cardBox.x + cardBox.width);
    expect(viewBox.x + viewBox.width).toBeLessThanOrEqual(cardBox.x + cardBox.width - 8);
    expect(await table.evaluate((t) => t.parentElement!.scrollWidth <= t.parentElement!.clientWidth)).toBe(true);
  });

  // ---- also: titles, focus, back link, last admin key -------------------------------------------------------
  it('names every page in the tab title, moves focus to the heading, keeps the filter on "← Dead letters", and warns before the last admin key', async () => {
    const p = await page('/endpoints');
    await p.getByRole('heading', { name: 'Endpoints', level: 1 }).waitFor();
    expect(await p.title()).toBe('Endpoints · Org webhooks');
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await p.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    await expect.poll(() => p.evaluate(() => document.activeElement?.tagName === 'H1' && document.activeElement.textContent)).toBe('Dead letters');
    expect(await p.title()).toBe('Dead letters · Org webhooks');

    const filtered = `/dead-letters?endpoint=${scenario.endpoints.failing}`;
    await p.goto(filtered);
    const table = p.getByRole('table', { name: 'Dead letters' });
    await table.getByRole('link', { name: /^Delivery dlv_/ }).first().click();
    await p.getByRole('heading', { name: /Delivery/, level: 1 }).waitFor();
    await expect.poll(() => p.title()).toMatch(/^Delivery dlv_\w+ · Org webhooks$/);
    await expect.poll(() => p.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await p.getByRole('link', { name: '← Dead letters' }).click();
    await table.waitFor();
    const url = new URL(p.url());
    expect(`${url.pathname}${url.search}`).toBe(filtered);

    await p.goto(`/events/${scenario.run8841.eventId}`);
    await expect.poll(() => p.title()).toBe('Event pipeline.run.failed · Org webhooks');

    await p.goto('/api-keys');
    await p.getByRole('row').filter({ has: p.getByText('admin', { exact: true }) }).getByRole('button', { name: /^Revoke API key / }).click();
    const dialog = p.getByRole('dialog', { name: 'Revoke this API key?' });
    await dialog.getByText('This is the last admin key').waitFor();
    expect(await dialog.getByRole('button', { name: 'Revoke key' }).isDisabled()).toBe(true);
  });

  // ---- test events of any type ----------------------------------------------------------------------------
  it('sends a test event of a catalog type with an edited payload, checked against the type’s schema', async () => {
    await service.client().data(`mutation { createEventType(input: { name: "acme.invoice.paid", schema: { type: "object", required: ["invoiceId"], properties: { invoiceId: { type: "string" } } } }) { id } }`);
    const p = await page(`/endpoints/${scenario.endpoints.healthy}`);
    const panel = p.getByRole('region', { name: 'Test event' });
    await panel.getByLabel('Event type').selectOption('acme.invoice.paid');
    const payload = panel.getByLabel('Payload (JSON)');
    await expect.poll(() => payload.inputValue()).toContain('"invoiceId"');
    await payload.fill('{ "invoiceId": 7');
    await panel.getByRole('button', { name: 'Send test event' }).click();
    await panel.getByText(/Not valid JSON/).waitFor();
    await payload.fill('{ "invoiceId": 7 }');
    await panel.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => payload.getAttribute('aria-invalid')).toBe('true');
    await panel.getByText(/invoiceId/).last().waitFor();
    const before = scenario.receiver.requests.length;
    await payload.fill('{ "invoiceId": "inv_9" }');
    await panel.getByRole('button', { name: 'Send test event' }).click();
    const result = p.getByRole('status', { name: 'Test event result' });
    await result.getByText('Success · 200').waitFor();
    await result.getByText('acme.invoice.paid').waitFor();
    expect(JSON.parse(scenario.receiver.requests[before]!.rawBody)).toMatchObject({ type: 'acme.invoice.paid', data: { invoiceId: 'inv_9' } });
  });

  // ---- 4 (continued). probing the open circuit ----------------------------------------------------------------
  it('4. "Probe now" sends the probe at once and the page follows it: the circuit closes and the backlog drains', async () => {
    const p = await page(`/endpoints/${scenario.endpoints.hanging}`);
    const panel = p.getByRole('region', { name: 'Circuit breaker' });
    await panel.getByTestId('backlog').getByText(/deliveries wait/).waitFor();
    scenario.fix('/hanging');
    await panel.getByRole('button', { name: 'Probe now' }).click();
    const result = p.getByRole('status', { name: 'Probe result' });
    await result.getByText('Success · 200').waitFor({ timeout: 20_000 });
    await result.getByText(/The circuit closed/).waitFor();
    // Live: the header leaves "Circuit open" and the backlog drains without a reload. The deliveries
    // that failed before the circuit opened keep their scheduled retry; the others are sent now.
    await p.locator('.page-header').getByText(/^(Healthy|Degraded|Failing)$/).waitFor({ timeout: 15_000 });
    await waitUntil('the never-attempted backlog to drain', async () => {
      const [row] = await service.database.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${scenario.endpoints.hanging} AND status = 'PENDING' AND attempt_count = 0`;
      return row!.n === 0;
    }, 20_000);
    const [left] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${scenario.endpoints.hanging} AND status = 'PENDING'`;
    await panel.getByTestId('backlog').getByText(left!.n ? `${left!.n}` : 'None', { exact: true }).waitFor({ timeout: 10_000 });
  });
});
