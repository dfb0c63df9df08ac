#!/usr/bin/env node
// Installed entry point: the compiled CLI (dist/, built by `npm run build`, which
// `npm ci`/`npm install` run through `prepare`), so it runs from any directory.
import { runMain } from '../dist/cli/main.js';

runMain();
