// Lint gate (npm run lint, in CI before the tests): typescript-eslint's type-aware rules.
// The architecture rules (who may import whom, no cycles) are dependency-cruiser's job:
// .dependency-cruiser.cjs. Both are described in docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated code (proto-loader-gen-types) is checked through its callers, not linted.
  // Build output, scratch and run folders (all git-ignored) are not source.
  { ignores: ['node_modules/', 'coverage/', 'dist/', '.prof/', 'runs/', '**/*.d.ts', '**/generated/**'] },
  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // tsconfig.json types everything under its include; the two JS entry points
        // (bin/, the worker's boot file) are typed through the default project.
        projectService: { allowDefaultProject: ['bin/*.js', 'site-agent/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A variable a closure reads before its one assignment (a test's late-bound fixture) stays let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A dropped promise hides its rejection; `void p` marks a deliberate fire-and-forget.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          // node:test runs top-level tests and suites itself; their returned promises are its business.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // `while (true)` loops are how the code waits on streams and queues.
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: 'only-allowed-literals' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // tfjs ops are generic in their result (`tf.mul<T>(): T`): a cast such as `as tf.Tensor2D`
      // is what picks T, which the rule cannot see, so it calls the cast unnecessary; the same
      // holds for `dataSync<D>()`. `import(x as string)` keeps tsc from resolving optional packages.
      '@typescript-eslint/no-unnecessary-type-assertion': [
        'error',
        { typesToIgnore: ['tf.Scalar', 'tf.Tensor', 'tf.Tensor1D', 'tf.Tensor2D', 'tf.Tensor3D', 'Float32Array', 'string'] },
      ],
      // An async function without await still turns a throw into a rejection, which
      // promise-returning interfaces (transports, handlers) rely on.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a parameter or binding kept for its position or to omit a field.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Size and branching are reported, not enforced: the worst offenders are listed for a later split.
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
      complexity: ['warn', 15],
    },
  },
  {
    // Test bodies are long sequences of steps by nature.
    // Tests read JSON (results files, HTTP bodies, logs) as `any` on purpose and assert its
    // shape; assertion messages interpolate whatever they print.
    files: ['tests/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      'max-lines-per-function': 'off',
      complexity: 'off',
      // assert.equal(r.ok, true) does not narrow r, so the guard after it looks unnecessary to the types.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Tests patch and restore prototype methods to watch what production code does.
      '@typescript-eslint/unbound-method': 'off',
      // A test double may take any callable (grpc-js's dynamic client methods).
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
  {
    // Tool configuration files are not part of any TypeScript project.
    files: ['eslint.config.js', '.dependency-cruiser.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
