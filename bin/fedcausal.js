#!/usr/bin/env node
// The fedcausal command. An installed package (npm pack / npm install ./fedcausal-X.tgz)
// ships compiled JavaScript in dist/ and no TypeScript sources: it runs that, with no
// compiler at start-up. A checkout runs the TypeScript through tsx, so an edit needs no
// build step and can never meet a stale dist/ (FEDCAUSAL_RUN_FROM=dist runs the build).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/entry.js', import.meta.url);
const source = new URL('../cli/entry.ts', import.meta.url);
const fromDist = process.env.FEDCAUSAL_RUN_FROM === 'dist' || !existsSync(source);
if (fromDist && !existsSync(compiled)) {
  console.error('fedcausal: dist/ is missing: run `npm run build` (or install the release tarball, which ships it)');
  process.exit(70);
}
if (!fromDist) (await import('tsx/esm/api')).register();
// A plain-JS entry: the module is chosen at run time, so its type is not known to the linter.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call
const { main } = await import(fromDist ? compiled.href : source.href); await main();
