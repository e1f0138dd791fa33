import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asStorageError } from '../errors.ts';
import { bundleText, type BundleInput } from './bundle.ts';

/**
 * Writes a model file whole or not at all (a hidden file renamed into place), readable by its
 * owner only: a model trained on patients' rows is kept like their data. Returns the path.
 */
export function saveModelFile(path: string, bundle: BundleInput, remedy = 'free space on (or repair) that disk and save it again'): string {
  const partial = join(dirname(path), `.${basename(path)}.partial`);
  try {
    const fd = openSync(partial, 'w', 0o600);
    try {
      writeFileSync(fd, bundleText(bundle));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, path);
  } catch (e) {
    rmSync(partial, { force: true });
    throw asStorageError(e, `cannot save the model to ${path}`, remedy);
  }
  return path;
}
