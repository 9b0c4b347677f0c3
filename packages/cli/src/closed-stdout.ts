// `dlock ... | head`: once the reader of stdout has gone, every write fails with EPIPE, which
// Node reports as an 'error' event that crashes the process if nobody listens. Nobody is left to
// read, so further output is dropped and the command finishes as it would have (a held lock is
// still released, a command still awaited) and exits with its own code.
export function dropOutputWhenStdoutCloses(stdout: NodeJS.WriteStream = process.stdout): void {
  stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdout.write = (() => true) as typeof stdout.write;
  });
}
