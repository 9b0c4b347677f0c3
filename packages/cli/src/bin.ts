#!/usr/bin/env node
import { runCli } from "./program.js";

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dlock: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
