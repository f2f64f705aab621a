/**
 * `npm run docs:screenshots`: the console screenshots in docs/console.md, taken from a real service
 * with real loopback receivers (the issue-18 scenario of test/helpers/consoleScenario.ts), so they
 * show what the console really does and stay current: run it after changing those pages.
 *
 * Postgres: the server of DATABASE_URL (a temporary database is created and dropped), or an
 * embedded one in .data/docs when DATABASE_URL is unset. Chromium: /usr/bin/chromium or
 * CHROMIUM_PATH. Extra views for a look while working: SCREENSHOT_EXTRA=1 writes more into
 * test-results/screens/ (not committed).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { startEmbeddedPostgres } from '../server/db/client.js';
import { ensureConsoleBuilt, launchBrowser, openConsole, ROOT, signIn } from '../test/helpers/browser.js';
import { buildConsoleScenario } from '../test/helpers/consoleScenario.js';
import { startTestService } from '../test/helpers/service.js';

const OUT = path.join(ROOT, 'docs', 'images');
const EXTRA = path.join(ROOT, 'test-results', 'screens');

async function temporaryDatabase(): Promise<{ url: string; name: string; drop(): Promise<void>; stop(): Promise<void> }> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded = async (): Promise<void> => {};
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(ROOT, '.data', 'docs'), port: 54331 });
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const name = `wh_docs_${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = postgres(adminUrl!, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
    stop: () => stopEmbedded(),
  };
}

async function shoot(page: Page, file: string, target?: { selector: string }): Promise<void> {
  // Relative times and the live dot change between runs; everything else is stable.
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(300);
  if (target) {
    await page.locator(target.selector).first().screenshot({ path: file });
  } else {
    // From the top: a sticky header would otherwise be drawn where the page was scrolled to.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage: true });
  }
  console.log(`wrote ${path.relative(ROOT, file)}`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const database = await temporaryDatabase();
  const service = await startTestService({}, { database });
  const scenario = await buildConsoleScenario(service.client());
  await ensureConsoleBuilt();
  const browser = await launchBrowser();
  try {
    const consolePage = await openConsole(browser, service.url, { viewport: { width: 1280, height: 900 } });
    const { page } = consolePage;
    await signIn(page, service.adminKey, '/endpoints');

    // Finding run 8841's failure event from the header search.
    await page.getByRole('search', { name: 'Find an event or delivery' }).getByRole('searchbox').fill(scenario.run8841.key);
    await page.getByRole('search', { name: 'Find an event or delivery' }).getByRole('button', { name: 'Find' }).click();
    await page.getByRole('table', { name: 'Deliveries of this event' }).waitFor();
    await shoot(page, path.join(OUT, 'console-event-page.png'));

    // The delivery that died at the failing endpoint: request as sent, copy as curl.
    const failingRow = page.getByRole('row', { name: /Billing sync/ });
    await failingRow.getByRole('link', { name: /^Delivery to / }).click();
    await page.getByRole('region', { name: 'Request' }).waitFor();
    await shoot(page, path.join(OUT, 'console-delivery-investigation.png'));

    // The endpoint behind an open circuit: the circuit panel.
    await page.goto(`/endpoints/${scenario.endpoints.hanging}`);
    const panel = page.getByRole('region', { name: 'Circuit breaker' });
    await panel.getByTestId('backlog').filter({ hasText: /wait/ }).waitFor();
    await shoot(page, path.join(OUT, 'console-circuit-panel.png'), { selector: 'section[aria-label="Circuit breaker"]' });

    if (process.env.SCREENSHOT_EXTRA) {
      mkdirSync(EXTRA, { recursive: true });
      await shoot(page, path.join(EXTRA, 'endpoint-hanging.png'));
      for (const [name, to] of [
        ['endpoints', '/endpoints'],
        ['endpoint-failing', `/endpoints/${scenario.endpoints.failing}`],
        ['endpoint-flaky', `/endpoints/${scenario.endpoints.flaky}`],
        ['dead-letters', '/dead-letters'],
        ['deliveries-week', '/deliveries?range=7d'],
        ['new-endpoint', '/endpoints/new'],
      ] as const) {
        await page.goto(to);
        await page.waitForTimeout(1500);
        await shoot(page, path.join(EXTRA, `${name}.png`));
      }
      const phone = await openConsole(browser, service.url, { viewport: { width: 390, height: 844 } });
      await signIn(phone.page, service.adminKey, `/endpoints/${scenario.endpoints.flaky}`);
      await phone.page.waitForTimeout(2000);
      await shoot(phone.page, path.join(EXTRA, 'phone-endpoint.png'));
      await phone.page.goto(`/events/${scenario.run8841.eventId}`);
      await phone.page.waitForTimeout(1500);
      await shoot(phone.page, path.join(EXTRA, 'phone-event.png'));
      await phone.page.goto('/endpoints/new');
      await phone.page.waitForTimeout(1500);
      await shoot(phone.page, path.join(EXTRA, 'phone-new-endpoint.png'));
    }
  } finally {
    await browser.close();
    await scenario.close();
    await service.close();
    await database.drop();
    await database.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
