#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npm install` is the only build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/entry.ts');
await main();
