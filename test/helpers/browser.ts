/**
 * Browser tests of the console: Chromium through playwright-core, against a real service.
 *
 * - `describeWithBrowser` runs a suite when Chromium is installed. Without it the suite is
 *   skipped with a message, except under `CI=true`, where it fails: CI must not go green
 *   without having driven a browser.
 * - `ensureConsoleBuilt` runs `vite build` when client/dist is missing or older than any
 *   client source (a lock keeps parallel test files from building at once).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Desktop and phone viewports the console is checked at. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 375, height: 740 },
} as const;

/** Whether Chromium can be launched here, and why not. */
export function browserAvailability(): { available: boolean; reason: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true, reason: '' };
  return { available: false, reason: `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)` };
}

/**
 * `describe` for browser suites. Missing Chromium: skipped with a clear message, or, with
 * CI=true, one failing test that says what is missing.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  const { available, reason } = browserAvailability();
  // Generous per-test time: the whole suite runs files side by side on two cores.
  if (available) {
    describe(name, { timeout: 90_000 }, body);
    return;
  }
  if (IN_CI) {
    describe(name, () => {
      it('needs Chromium (CI=true makes browser tests mandatory)', () => {
        throw new Error(`${reason}. Browser tests cannot be skipped when CI=true.`);
      });
    });
    return;
  }
  console.warn(`[browser tests] skipping "${name}": ${reason}.`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

// ---------------------------------------------------------------------------------------------
// Building the console

const CONSOLE_SOURCES = [path.join(ROOT, 'client'), path.join(ROOT, 'vite.config.ts')];
const DIST_INDEX = path.join(ROOT, 'client', 'dist', 'index.html');

function newestSourceMtime(entry: string): number {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const child of readdirSync(entry)) {
    if (child === 'dist' || child === 'node_modules' || child.startsWith('.')) continue;
    newest = Math.max(newest, newestSourceMtime(path.join(entry, child)));
  }
  return newest;
}

/** True when client/dist is missing or older than a client source. */
export function consoleBuildIsStale(): boolean {
  if (!existsSync(DIST_INDEX)) return true;
  const built = statSync(DIST_INDEX).mtimeMs;
  return CONSOLE_SOURCES.some((source) => newestSourceMtime(source) > built);
}

function runViteBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (exit ${code}):\n${output}`))));
  });
}

const LOCK_DIR = path.join(os.tmpdir(), `org-webhooks-console-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
const STALE_LOCK_MS = 5 * 60_000;

async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run would block every later one.
      try {
        if (Date.now() - statSync(LOCK_DIR).mtimeMs > STALE_LOCK_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      } catch {
        // removed by its owner meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the console build lock ${LOCK_DIR}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Builds the console into client/dist unless the build is up to date. */
export async function ensureConsoleBuilt(): Promise<void> {
  if (!consoleBuildIsStale()) return;
  await withBuildLock(async () => {
    // Another test file may have built it while this one waited for the lock.
    if (consoleBuildIsStale()) await runViteBuild();
  });
}

// ---------------------------------------------------------------------------------------------
// Pages

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors, to print when a test fails. */
  problems: string[];
  /** After a failure: prints the page's errors and saves a screenshot under test-results/. */
  report(testName: string): Promise<void>;
  close(): Promise<void>;
}

/** A fresh browser context (own sessionStorage) on the console at `baseUrl`. */
export async function openConsole(browser: Browser, baseUrl: string, options: { viewport?: { width: number; height: number } } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: options.viewport ?? VIEWPORTS.desktop });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return {
    context,
    page,
    problems,
    async report(testName) {
      const file = path.join(ROOT, 'test-results', `${testName.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`);
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      console.error(`[browser tests] "${testName}" failed on ${page.url()}; screenshot: ${path.relative(ROOT, file)}${problems.length ? `\n${problems.join('\n')}` : ''}`);
    },
    close: () => context.close(),
  };
}

/** Signs in on the login page with `apiKey` and waits for the console shell. */
export async function signIn(page: Page, apiKey: string, path = '/endpoints'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The shell's <main> (the navigation is folded behind "Menu" on a phone).
  await page.locator('main#main').waitFor();
}

/** Polls `check` until it is true (for state outside the page, e.g. the receiver). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
