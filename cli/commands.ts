// Wires the subcommands implemented outside cli/main.ts.
