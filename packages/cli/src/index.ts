// @dlock/cli is the `dlock` command (bin.js). Its module exports only what embeds the command in
// another program: local clusters, bench and soak tools live in the private @dlock/tools.
export { createProgram, runCli, CLI_VERSION } from "./program.js";
export { CliExit, EXIT } from "./exit-codes.js";
export type { ExitCode } from "./exit-codes.js";
