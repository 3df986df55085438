#!/usr/bin/env node
// The installed `edgefc` command. The CLI is TypeScript compiled to dist/ by `npm ci` (prepare).
import { main } from '../dist/gateway/cli/edgefc.js';

process.exitCode = await main(process.argv.slice(2));
