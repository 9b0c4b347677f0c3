#!/usr/bin/env node
import { dropOutputWhenStdoutCloses } from "./closed-stdout.js";
import { runCli } from "./program.js";

dropOutputWhenStdoutCloses();
runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dlock: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
