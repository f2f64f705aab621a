/**
 * No page of the service loads anything from another host (an air-gapped install must work):
 * Chromium opens the console's pages and GraphiQL at /graphql, and every request they make
 * (documents, scripts, styles, fonts, icons, editor workers, API calls) must go to the service's
 * own origin. Requests elsewhere are recorded and refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestService, type TestService } from '../helpers/service.js';
import { describeWithBrowser, ensureConsoleBuilt, launchBrowser, signIn } from '../helpers/browser.js';

describeWithBrowser('every asset is same-origin', () => {
  let service: TestService;
  let browser: Browser;

  beforeAll(async () => {
    [service] = await Promise.all([startTestService(), ensureConsoleBuilt()]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  /** Waits until no new request has been made for `quietMs` (a page's loading is over), at most `timeoutMs`. */
  async function settled(requested: string[], quietMs = 1_000, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    let since = Date.now();
    while (Date.now() < deadline) {
      if (requested.length !== seen) {
        seen = requested.length;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A context that records every request (the page's, its frames' and its workers') and refuses other origins. */
  async function recordingContext(): Promise<{ context: BrowserContext; requested: string[]; foreign: string[] }> {
    const origin = new URL(service.url).origin;
    const context = await browser.newContext({ baseURL: service.url });
    context.setDefaultTimeout(30_000);
    const requested: string[] = [];
    const foreign: string[] = [];
    const sameOrigin = (url: string) => url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin;
    context.on('request', (request) => {
      requested.push(request.url());
      if (!sameOrigin(request.url())) foreign.push(request.url());
    });
    await context.route('**/*', (route) => (sameOrigin(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
    return { context, requested, foreign };
  }

  it('the console: login page and every section', async () => {
    const { context, requested, foreign } = await recordingContext();
    try {
      const page = await context.newPage();
      await signIn(page, service.adminKey, '/endpoints');
      for (const path of ['/live', '/deliveries', '/event-types', '/api-keys', '/endpoints']) {
        await page.goto(path);
        await page.locator('main#main').waitFor();
        await settled(requested);
      }
      expect(foreign).toEqual([]);
      // It looked at something: the document, the built script and style, GraphQL calls.
      expect(requested.some((u) => /\/assets\/.+\.js$/.test(u))).toBe(true);
      expect(requested.some((u) => /\/assets\/.+\.css$/.test(u))).toBe(true);
      expect(requested.some((u) => u.endsWith('/graphql'))).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('GraphiQL at /graphql: page, script, style, icon and editor workers', async () => {
    const { context, requested, foreign } = await recordingContext();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      await page.goto('/graphql');
      // The editors render (Monaco), and typing in the query editor starts its language worker.
      await page.locator('.graphiql-container').first().waitFor();
      const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
      await editor.waitFor();
      await editor.click();
      await page.keyboard.type('{ viewer { role } }');
      // 9 MB of script to parse on a loaded machine: the editor's workers may take a while.
      await expect.poll(() => requested.filter((u) => u.includes('.worker.')).length, { timeout: 45_000 }).toBeGreaterThan(0);
      await settled(requested);
      expect(problems).toEqual([]);
      expect(foreign).toEqual([]);
      for (const part of [/\/graphiql\/graphiql\.[0-9a-f]+\.js$/, /\/graphiql\/graphiql\.[0-9a-f]+\.css$/, /\/graphiql\/favicon\.[0-9a-f]+\.ico$/]) {
        expect(requested.some((u) => part.test(u)), String(part)).toBe(true);
      }
    } finally {
      await context.close();
    }
  });

  it('GraphiQL files are cached for a year and sent gzipped', async () => {
    const html = await (await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    const script = /src="(\/graphiql\/graphiql\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const res = await fetch(`${service.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect((await res.text()).length).toBeGreaterThan(1_000_000);
    expect((await fetch(`${service.url}/graphiql/graphiql.0000000000000000.js`)).status).toBe(404);
  });
});
