#!/usr/bin/env node
// The installed `edgefc` command. The CLI is TypeScript compiled to dist/ by `npm ci` (prepare).
import { runAsProcess } from '../dist/gateway/cli/edgefc.js';

await runAsProcess(process.argv.slice(2));
