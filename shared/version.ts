import { createRequire } from 'node:module';

/** fedcausal's version, from package.json (results files and `--version` carry it). */
export const FEDCAUSAL_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
