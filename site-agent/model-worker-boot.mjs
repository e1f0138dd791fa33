// Entry of the site's model worker thread (site-agent/worker-runner.ts starts it).
// bin/fedcausal.js registers tsx for the main thread only; a worker has its own module
// loader, so it registers tsx before importing its TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./model-worker.ts');
