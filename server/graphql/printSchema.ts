import { writeFileSync } from 'node:fs';
import { printSchemaSdl } from './schema.js';

// `npm run schema:print` rewrites schema.graphql at the repository root.
writeFileSync(new URL('../../schema.graphql', import.meta.url), printSchemaSdl());
process.stdout.write('schema.graphql written\n');
