import { asStorageError } from '../errors.ts';
import { writeFileWhole } from '../output-path.ts';
import { bundleText, type BundleInput } from './bundle.ts';

/** A name (a federation's, a site's) as part of a file name: anything but letters, digits, '.', '_' and '-' as '_' (no '/' or '..' walks out of the folder). */
export function fileNamePart(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return /^\.+$/.test(safe) ? safe.replace(/\./g, '_') : safe;
}

/**
 * Writes a model file whole or not at all (a hidden file renamed into place), readable by its
 * owner only: a model trained on patients' rows is kept like their data. Returns the path.
 */
export function saveModelFile(path: string, bundle: BundleInput, remedy = 'free space on (or repair) that disk and save it again'): string {
  try {
    writeFileWhole(path, bundleText(bundle), 0o600);
  } catch (e) {
    throw asStorageError(e, `cannot save the model to ${path}`, remedy);
  }
  return path;
}
