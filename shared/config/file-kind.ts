/**
 * Which of fedcausal's configuration files a mapping looks like, so a file handed to the
 * wrong command (a kit's site.yaml to `coordinator start`) is named as what it is, not
 * listed field by field as unknown.
 */
import { InputError } from '../errors.ts';

export type ConfigFileKind = 'site.yaml' | 'coordinator.yaml' | 'federation file';

interface KindSigns {
  /** Fields only this kind has at its top level, all of them present. */
  fields: readonly string[];
  /** The command that reads it. */
  command: string;
}

const KINDS: Record<ConfigFileKind, KindSigns> = {
  'site.yaml': { fields: ['site', 'data'], command: 'fedcausal site start --config FILE' },
  'coordinator.yaml': { fields: ['listen'], command: 'fedcausal coordinator start --config FILE' },
  'federation file': { fields: ['sites', 'coordinator'], command: 'fedcausal provision --federation FILE --out DIR' },
};

/** The other kind `raw` looks like, if it has every sign of exactly one kind other than `expected`. */
export function otherFileKind(raw: Record<string, unknown>, expected: ConfigFileKind): ConfigFileKind | undefined {
  const looks = (Object.keys(KINDS) as ConfigFileKind[]).filter((k) => KINDS[k].fields.every((f) => f in raw));
  return looks.length === 1 && looks[0] !== expected ? looks[0] : undefined;
}

/** Refuses a config file that is plainly another kind of fedcausal file, saying which and what reads it. */
export function refuseOtherFileKind(raw: Record<string, unknown>, expected: ConfigFileKind, path: string): void {
  const other = otherFileKind(raw, expected);
  if (!other) return;
  const signs = KINDS[other].fields.map((f) => `"${f}"`).join(' and ');
  throw new InputError(
    `${path}: this looks like a ${other} (it has ${signs}), not a ${expected}; a ${other} is read by \`${KINDS[other].command}\`` +
      `, and this command needs a ${expected}`,
  );
}
