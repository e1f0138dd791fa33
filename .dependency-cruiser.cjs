// Architecture gate (npm run lint): who may import whom. docs/architecture.md explains why.
// Paths are relative to the directory depcruise runs in (the repository root).
const ROLES = '^(coordinator|site-agent)/';
const OUTER = '^(cli|bin|eval|bench|tests)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles, type-only ones included: a cycle means two modules are one concept, or a shared piece wants its own module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'coordinator-not-to-site-agent',
      severity: 'error',
      comment: 'The coordinator and the site agent are separate processes that share only shared/.',
      from: { path: '^coordinator/' },
      to: { path: '^site-agent/' },
    },
    {
      name: 'site-agent-not-to-coordinator',
      severity: 'error',
      comment: 'The coordinator and the site agent are separate processes that share only shared/.',
      from: { path: '^site-agent/' },
      to: { path: '^coordinator/' },
    },
    {
      name: 'shared-is-the-core',
      severity: 'error',
      comment: 'shared/ is the core both roles build on: it imports neither role nor any entry point.',
      from: { path: '^shared/' },
      to: { path: [ROLES, OUTER] },
    },
    {
      name: 'cli-is-the-composition-root',
      severity: 'error',
      comment: 'Roles are wired together only in cli/ (and the entry points, tests, benches, eval around it); the roles never import the CLI.',
      from: { path: ROLES },
      to: { path: OUTER },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve fails at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    // Type-only imports count: a type cycle still ties two modules together.
    tsPreCompilationDeps: true,
    // Resolve packages through their "exports" maps, as Node does (tsx/esm/api).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
