// Drives fixtures/lock-client.mjs: a dlock client in its own process that the test can pause,
// resume and kill. Commands go as JSON lines on its stdin; its events come back as JSON lines.
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "../fixtures/lock-client.mjs");

export interface FixtureEvent {
  event: string;
  /** Milliseconds since the fixture started, on its own clock. */
  atMs: number;
  [field: string]: unknown;
}

export class FixtureClient {
  readonly events: FixtureEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = "";
  private listeners = new Set<() => void>();

  constructor(options: { endpoints: string[]; trace?: boolean }) {
    this.child = spawn(process.execPath, [FIXTURE, JSON.stringify(options)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.events.push(JSON.parse(line) as FixtureEvent);
      for (const listener of this.listeners) listener();
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        resolve({ code, signal });
        for (const listener of this.listeners) listener();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends `command` and waits for the first event after it named `reply` (or an error). */
  async request(
    command: Record<string, unknown>,
    reply: string,
    timeoutMs = 30_000,
  ): Promise<FixtureEvent> {
    const from = this.events.length;
    this.send(command);
    const event = await this.waitForEvent(
      (e) => e.event === reply || (e.event === "error" && e.op === command.op),
      timeoutMs,
      from,
    );
    if (event.event === "error") {
      throw new Error(`fixture ${String(command.op)} failed: ${JSON.stringify(event)}`);
    }
    return event;
  }

  /** The first event at index ≥ `from` that matches; waits for it. */
  waitForEvent(
    match: (event: FixtureEvent) => boolean,
    timeoutMs = 30_000,
    from = 0,
  ): Promise<FixtureEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.slice(from).find(match);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (!this.running) {
          finish();
          reject(new Error(`fixture client exited before the event; stderr:\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `fixture client: no matching event within ${timeoutMs} ms; events:\n${this.events
              .slice(from)
              .map((e) => JSON.stringify(e))
              .join("\n")}\nstderr:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  pause(): void {
    this.child.kill("SIGSTOP");
  }

  resume(): void {
    this.child.kill("SIGCONT");
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGCONT");
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Starts a fixture client and waits until it is ready for commands. */
export async function startFixtureClient(options: {
  endpoints: string[];
  trace?: boolean;
}): Promise<FixtureClient> {
  const client = new FixtureClient(options);
  await client.waitForEvent((e) => e.event === "ready", 15_000);
  return client;
}
