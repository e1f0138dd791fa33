/**
 * The dashboard's script and stylesheet. An installed package serves the bundle `npm run
 * build` wrote (dist/dashboard/); a checkout (run through tsx, no build step) bundles the
 * sources in memory with esbuild on the first request, so an edit shows on the next start
 * and can never meet a stale dist/ (the rule bin/fedcausal.js follows for the CLI).
 */
import { existsSync, readFileSync } from 'node:fs';
import { packagePath, RUNS_COMPILED } from '../../shared/package-root.ts';

export interface DashboardAssets {
  js: string;
  css: string;
}

/** Where `npm run build` puts the bundle, relative to the package root. */
export const DASHBOARD_DIST = ['dist', 'dashboard'] as const;
export const DASHBOARD_ENTRY = ['coordinator', 'http', 'dashboard', 'src', 'main.ts'] as const;

/** Bundles dashboard/src with esbuild's JS API, in memory: one script (ES2020, minified) and one stylesheet (uPlot's CSS and ours). */
export async function bundleDashboard(minify = true): Promise<DashboardAssets> {
  // A dev dependency: imported only where the sources are, never in an installed package.
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [packagePath(...DASHBOARD_ENTRY)],
    bundle: true,
    write: false,
    outdir: 'out',
    entryNames: 'dashboard',
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = (ext: string) => {
    const f = out.outputFiles.find((o) => o.path.endsWith(ext));
    if (!f) throw new Error(`esbuild produced no ${ext} for the dashboard`);
    return f.text;
  };
  return { js: file('.js'), css: file('.css') };
}

function prebuilt(): DashboardAssets | undefined {
  const js = packagePath(...DASHBOARD_DIST, 'dashboard.js');
  const css = packagePath(...DASHBOARD_DIST, 'dashboard.css');
  if (!existsSync(js) || !existsSync(css)) return undefined;
  return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
}

let loading: Promise<DashboardAssets> | undefined;

/** The assets, loaded once per process (a failed load is retried on the next request). */
export function dashboardAssets(): Promise<DashboardAssets> {
  loading ??= (async () => {
    const built = RUNS_COMPILED ? prebuilt() : undefined;
    if (built) return built;
    if (existsSync(packagePath(...DASHBOARD_ENTRY))) return bundleDashboard();
    const fallback = prebuilt();
    if (fallback) return fallback;
    throw new Error(`the dashboard bundle is missing: neither ${packagePath(...DASHBOARD_DIST)} nor its sources exist (run npm run build)`);
  })();
  loading.catch(() => (loading = undefined));
  return loading;
}
