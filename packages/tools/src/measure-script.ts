// What the measurement scripts (restart-measure, catchup-measure) share: a progress line on
// stdout and the check of a whole-number flag.

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `text` as a positive whole number; otherwise an error naming `--name` and ending in `usage`. */
export function positiveInteger(name: string, text: string, usage: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`--${name}: "${text}" is not a positive whole number\n${usage}`);
  }
  return value;
}
