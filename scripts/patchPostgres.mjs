// Applies the upstream fix for a postgres.js 3.4.9 crash (porsager/postgres#1154, #1208; fix
// proposed in PRs #1168/#1176, not released yet): a small write is deferred to setImmediate,
// and if the connection closes first, `nextWrite` calls `write` on a null socket and throws an
// uncatchable TypeError that ends the process (seen when Postgres restarts under load). Teardown
// also left `nextWriteTimer` set, so a reused connection could never flush again.
// Runs from `postinstall`; idempotent; remove once a fixed postgres.js is released.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const files = ['node_modules/postgres/src/connection.js', 'node_modules/postgres/cjs/src/connection.js'];
const MARK = '/* org-webhooks: null-socket guard */';

for (const file of files) {
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  const before = text;
  text = text.replace(
    'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  );
  text = text.replaceAll('    clearImmediate(nextWriteTimer)\n', '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = null\n    chunk = null\n');
  if (text === before) {
    console.warn(`patchPostgres: ${file} did not have the expected shape; not patched (postgres.js version changed?)`);
    continue;
  }
  writeFileSync(file, text);
}
