/**
 * `npm run gen:proto`: writes the TypeScript types of proto/ into shared/protocol/generated/
 * with proto-loader-gen-types, under the loader options the runtime uses (LOADER_OPTIONS),
 * so the generated types describe the objects grpc-js really hands over.
 * tests/shared/protocol/generated.test.ts fails when the committed output is stale.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LOADER_OPTIONS, PROTO_FILE } from '../transport/grpc-proto.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const GENERATED_DIR = join(ROOT, 'shared/protocol/generated');

/** The generator's flags for each loader option: a new option must be mapped here, or generation refuses. */
const FLAG_FOR: Record<string, (v: unknown) => string[]> = {
  keepCase: (v) => (v ? ['--keepCase'] : []),
  longs: (v) => [`--longs=${(v as { name: string }).name}`],
  enums: (v) => [`--enums=${(v as { name: string }).name}`],
  bytes: (v) => [`--bytes=${(v as { name: string }).name}`],
  defaults: (v) => (v ? ['--defaults'] : []),
  arrays: (v) => (v ? ['--arrays'] : []),
  objects: (v) => (v ? ['--objects'] : []),
  oneofs: (v) => (v ? ['--oneofs'] : []),
  json: (v) => (v ? ['--json'] : []),
};

export function generatorArgs(options: Record<string, unknown> = LOADER_OPTIONS): string[] {
  const flags = Object.entries(options).flatMap(([k, v]) => {
    const f = FLAG_FOR[k];
    if (!f) throw new Error(`proto-loader option "${k}" has no proto-loader-gen-types flag mapped in shared/protocol/codegen.ts`);
    return f(v);
  });
  return [...flags, '--grpcLib=@grpc/grpc-js', '--includeComments', '--importFileExtension=.ts'];
}

/** Generates the types into `outDir` (created if missing). */
export function generateProtoTypes(outDir: string): void {
  const bin = createRequire(import.meta.url).resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
  // Run from the root with a relative proto path: the output names its source file, and must not name this checkout.
  execFileSync(process.execPath, [bin, ...generatorArgs(), '-O', outDir, relative(ROOT, PROTO_FILE)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Start clean, so a message removed from the proto loses its file too.
  rmSync(GENERATED_DIR, { recursive: true, force: true });
  generateProtoTypes(GENERATED_DIR);
  console.log(`wrote ${relative(ROOT, GENERATED_DIR)}/`);
}
