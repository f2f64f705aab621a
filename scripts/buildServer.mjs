// Compiles server/ into dist/ (tsconfig.build.json: same layout, server/main.ts → dist/main.js).
//
//   node scripts/buildServer.mjs             build (what `npm run build:server` and `prepare` run)
//   node scripts/buildServer.mjs --if-stale  build only when a source is newer than the last build
//
// `--if-stale` is what `npm start`, the test run and the bench call first, so they never run a
// dist/ older than the sources (a checkout or an edit since the last build). It decides by file
// times against dist/.build-stamp, written after every successful build: a scan of a few hundred
// files, milliseconds. Also importable: `ensureServerBuild()`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['server', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestInput(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(file)) newest = Math.max(newest, newestInput(path.join(file, entry)));
  return newest;
}

/** True when dist/ is missing or older than any source of the server build. */
export function serverBuildStale() {
  if (!existsSync(stamp) || !existsSync(path.join(root, 'dist', 'main.js'))) return true;
  const built = statSync(stamp).mtimeMs;
  return inputs.some((input) => existsSync(path.join(root, input)) && newestInput(path.join(root, input)) > built);
}

/** Compiles the server (type errors fail the build) and stamps dist/. */
export function buildServer() {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    throw new Error('TypeScript is not installed (installed with --omit=dev?): run `npm install`, which builds dist/.');
  }
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

/** Builds when stale; returns whether it built. */
export function ensureServerBuild() {
  if (!serverBuildStale()) return false;
  buildServer();
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  try {
    if (ifStale) {
      if (serverBuildStale()) {
        if (!existsSync(path.join(root, 'node_modules', 'typescript')) && existsSync(path.join(root, 'dist', 'main.js'))) {
          // A production install without dev dependencies: run the build it shipped with.
          process.stderr.write('dist/ may be older than server/, and TypeScript is not installed to rebuild it: starting dist/ as it is\n');
        } else {
          process.stderr.write('server sources changed since the last build: compiling dist/ (npm run build:server)\n');
          buildServer();
        }
      }
    } else {
      buildServer();
    }
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
