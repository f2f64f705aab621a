/**
 * The console shows client uids where integrators set them: in the endpoint list (and its
 * search), on the endpoint page, and in the event-type catalog. Chromium against a real service.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { describeWithBrowser, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsolePage } from '../helpers/browser.js';

describeWithBrowser('console: client uids', () => {
  let service: TestService;
  let browser: Browser;
  let current: ConsolePage | null = null;

  beforeAll(async () => {
    [service] = await Promise.all([startTestService(), ensureConsoleBuilt()]);
    browser = await launchBrowser();
    const admin = service.client();
    await admin.data(`mutation($document: JSON!) { applyConfiguration(document: $document) { applied } }`, {
      document: {
        eventTypes: { 'acme.invoice.paid': { uid: 'invoice-paid' }, 'acme.invoice.void': {} },
        endpoints: { 'billing-alerts': { url: 'http://127.0.0.1:9/billing', patterns: ['acme.invoice.*'] } },
      },
    });
    await admin.data(`mutation { createEndpoint(input: { url: "http://127.0.0.1:9/anonymous" }) { endpoint { id } } }`);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  afterEach(async (ctx) => {
    if (current && ctx.task.result?.state === 'fail') await current.report(ctx.task.name);
    await current?.close();
    current = null;
  });

  it('lists endpoints with their uid, finds them by it, and shows it on the endpoint page', async () => {
    current = await openConsole(browser, service.url);
    const { page } = current;
    await signIn(page, service.adminKey, '/endpoints');
    const row = page.getByRole('row').filter({ hasText: '127.0.0.1:9/billing' });
    await row.getByText('billing-alerts', { exact: true }).waitFor();
    // An endpoint without a uid shows none.
    const anonymous = page.getByRole('row').filter({ hasText: '127.0.0.1:9/anonymous' });
    await anonymous.waitFor();
    expect(await anonymous.locator('code').count()).toBe(0);

    await page.getByPlaceholder('URL, uid, description, label or event type').fill('billing-al');
    await expect.poll(() => page.getByRole('row').filter({ hasText: '127.0.0.1:9/anonymous' }).count()).toBe(0);
    await row.getByRole('link').click();
    await page.getByText('uid billing-alerts').waitFor();
  });

  it('shows event-type uids in the catalog', async () => {
    current = await openConsole(browser, service.url);
    const { page } = current;
    await signIn(page, service.adminKey, '/event-types');
    const paid = page.getByRole('row').filter({ hasText: 'acme.invoice.paid' });
    await paid.getByText('uid invoice-paid').waitFor();
    const voided = page.getByRole('row').filter({ hasText: 'acme.invoice.void' });
    await voided.waitFor();
    expect(await voided.getByText(/^uid /).count()).toBe(0);
  });
});
