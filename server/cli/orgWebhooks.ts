#!/usr/bin/env node
// The `org-webhooks` bin (package.json), compiled to dist/cli/orgWebhooks.js by `npm run build:server` (run by `prepare`).
import { runCli } from './orgWebhooksCommand.js';

process.exitCode = await runCli(process.argv.slice(2), process.env);
