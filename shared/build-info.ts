/**
 * `npm run build`: writes dist/build-info.json, the commit the package is built from, for
 * `--version` and status once installed. An argument names another dist/ folder to write into.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packagePath } from './package-root.ts';
import { BUILD_INFO, gitCommit } from './version.ts';

const file = process.argv[2] ? join(process.argv[2], BUILD_INFO[1]) : packagePath(...BUILD_INFO);
mkdirSync(dirname(file), { recursive: true });
const commit = gitCommit(packagePath('.git'));
writeFileSync(file, `${JSON.stringify(commit ? { commit } : {})}\n`);
console.log(`build info: ${file} ${commit ?? '(no commit: not a git checkout)'}`);
