import { readFileSync } from 'node:fs';
import { packagePath } from './package-root.ts';

/** fedcausal's version, from package.json (results files and `--version` carry it). */
export const FEDCAUSAL_VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
