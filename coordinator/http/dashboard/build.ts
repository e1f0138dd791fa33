/** `npm run build:dashboard`: writes the dashboard bundle into dist/dashboard/ for an installed package. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from '../../../shared/package-root.ts';
import { bundleDashboard, DASHBOARD_DIST } from '../dashboard-assets.ts';

const dir = packagePath(...DASHBOARD_DIST);
mkdirSync(dir, { recursive: true });
const { js, css } = await bundleDashboard();
writeFileSync(join(dir, 'dashboard.js'), js);
writeFileSync(join(dir, 'dashboard.css'), css);
console.log(`dashboard bundle: ${join(dir, 'dashboard.js')} ${Buffer.byteLength(js)} bytes, dashboard.css ${Buffer.byteLength(css)} bytes`);
