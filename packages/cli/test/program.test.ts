// The CLI's arguments, help and exit codes, in process: usage errors, --help, and a cluster
// that does not answer (a closed port), which needs no server.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { freePort } from "@dlock/tools";
import { runInProcess } from "./support/run-in-process.js";

const CLIENT_COMMANDS = [
  "lock",
  "semaphore",
  "acquire",
  "release",
  "get",
  "status",
  "list",
  "watch",
  "elect",
] as const;

/** The variables of the flags every client command has: where the cluster is, and credentials. */
const CLIENT_ENV = [
  "DLOCK_ENDPOINTS",
  "DLOCK_CLUSTER_ID",
  "DLOCK_TIMEOUT",
  "DLOCK_AUTH_TOKEN",
  "DLOCK_AUTH_TOKEN_FILE",
];

/** The environment variable of every flag of each command. */
const ENV_OF_COMMAND: Record<(typeof CLIENT_COMMANDS)[number], string[]> = {
  lock: [
    "DLOCK_VALUE",
    "DLOCK_KILL_AFTER",
    "DLOCK_TTL",
    "DLOCK_WAIT",
    "DLOCK_RETRY_INTERVAL",
    "DLOCK_RETRY_LIMIT",
    "DLOCK_REFRESH_INTERVAL",
    ...CLIENT_ENV,
  ],
  semaphore: [
    "DLOCK_VALUE",
    "DLOCK_KILL_AFTER",
    "DLOCK_PERMITS",
    "DLOCK_PERMIT_COUNT",
    "DLOCK_TTL",
    "DLOCK_WAIT",
    "DLOCK_RETRY_INTERVAL",
    "DLOCK_RETRY_LIMIT",
    "DLOCK_REFRESH_INTERVAL",
    ...CLIENT_ENV,
  ],
  acquire: [
    "DLOCK_PERMITS",
    "DLOCK_PERMIT_COUNT",
    "DLOCK_TTL",
    "DLOCK_WAIT",
    "DLOCK_RETRY_INTERVAL",
    "DLOCK_RETRY_LIMIT",
    "DLOCK_JSON",
    ...CLIENT_ENV,
  ],
  release: ["DLOCK_TOKEN", "DLOCK_FORCE", "DLOCK_JSON", ...CLIENT_ENV],
  get: ["DLOCK_JSON", ...CLIENT_ENV],
  status: ["DLOCK_JSON", ...CLIENT_ENV],
  list: ["DLOCK_LIST_LIMIT", "DLOCK_LIST_AFTER", "DLOCK_JSON", ...CLIENT_ENV],
  watch: ["DLOCK_FROM_REVISION", "DLOCK_JSON", ...CLIENT_ENV],
  elect: [
    "DLOCK_TTL",
    "DLOCK_WAIT",
    "DLOCK_RETRY_INTERVAL",
    "DLOCK_RETRY_LIMIT",
    "DLOCK_REFRESH_INTERVAL",
    ...CLIENT_ENV,
  ],
};

let deadEndpoint: string;

beforeAll(async () => {
  // Nothing listens here: connections are refused at once.
  deadEndpoint = `127.0.0.1:${await freePort()}`;
});

beforeEach(() => {
  // The tests set what they need; a DLOCK_* variable of the shell running them must not leak in.
  for (const name of Object.keys(process.env)) {
    if (name.startsWith("DLOCK_")) vi.stubEnv(name, undefined);
  }
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("--help", () => {
  it.each(CLIENT_COMMANDS)(
    "dlock %s --help explains each flag with its variable and the exit codes",
    async (name) => {
      const run = await runInProcess([name, "--help"]);
      expect(run.code).toBe(0);
      // Commander wraps lines at the terminal width.
      const text = run.stdout.replace(/\s+/g, " ");
      for (const variable of ENV_OF_COMMAND[name]) expect(text).toContain(`env: ${variable}`);
      // A switch's variable takes 1 or 0, said once next to its name (not "(env: 1 or 0) (env: X)").
      expect(text).not.toMatch(/\(env: [^)A-Z]/);
      if (ENV_OF_COMMAND[name].includes("DLOCK_JSON")) {
        expect(text).toContain("DLOCK_JSON=1 or 0 (env: DLOCK_JSON)");
      }
      expect(run.stdout).toContain("Exit codes:");
      for (const code of ["1", "2", "5"]) expect(run.stdout).toMatch(new RegExp(`\\n  ${code}  `));
      expect(run.stdout).toContain("Examples:");
    },
  );

  it("acquire and lock list exit 3 (busy); lock lists 4 (lost) and the command's status", async () => {
    expect((await runInProcess(["acquire", "--help"])).stdout).toMatch(/\n {2}3 {2}lock busy/);
    const lock = (await runInProcess(["lock", "--help"])).stdout;
    expect(lock).toMatch(/\n {2}3 {2}lock busy/);
    expect(lock).toMatch(/\n {2}4 {2}lock lost/);
    expect(lock).toContain("otherwise the command's exit status (128+N if signal N ended it");
  });

  it("the top-level help lists every command", async () => {
    const run = await runInProcess(["--help"]);
    expect(run.code).toBe(0);
    for (const name of ["server", "member", ...CLIENT_COMMANDS]) {
      expect(run.stdout).toContain(`  ${name} `);
    }
  });

  it.each(["list", "add", "promote", "remove"])(
    "dlock member %s --help names the client flags' variables and the exit codes",
    async (name) => {
      const run = await runInProcess(["member", name, "--help"]);
      expect(run.code).toBe(0);
      const text = run.stdout.replace(/\s+/g, " ");
      for (const variable of ENV_OF_COMMAND.status) expect(text).toContain(`env: ${variable}`);
      for (const code of ["1", "2", "5"]) expect(run.stdout).toMatch(new RegExp(`\\n  ${code}  `));
      expect(text).toContain("(1 also when the leader refused the change");
    },
  );
});

describe("dlock auth token", () => {
  it("prints a new token and the auth-file line with its SHA-256 and the grants", async () => {
    const { hashAuthToken, parseAuthFile } = await import("@dlock/server");
    const run = await runInProcess([
      "auth",
      "token",
      "--name",
      "ci",
      "--grant",
      "lock:jobs/*",
      "read:*",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { name: string; token: string; line: string };
    expect(printed.token).toMatch(/^dlk_[A-Za-z0-9_-]{43}$/);
    expect(printed.line).toBe(`ci ${hashAuthToken(printed.token)} lock:jobs/* read:*`);
    expect(parseAuthFile(printed.line)[0].principal.grants).toHaveLength(2);
    const again = JSON.parse(
      (await runInProcess(["auth", "token", "--name", "ci", "--json"])).stdout,
    );
    expect(again.token).not.toBe(printed.token);
    expect(again.line).toMatch(/^ci sha256:[0-9a-f]{64} read:\*$/);
  });
});

describe("usage errors exit 2 with one line saying what is wrong", () => {
  it.each([
    [["get"], /missing required argument 'key'/],
    [["acquire", "k"], /missing required argument 'value'/],
    [["get", "k", "--bogus"], /unknown option '--bogus'/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["acquire", "k", "v", "--ttl", "10x"], /^dlock acquire: --ttl: "10x" is not a duration/],
    [["acquire", "k", "v", "--retry-limit", "-1"], /^dlock acquire: --retry-limit: "-1" is not/],
    [["release", "k", "v", "--token", "abc"], /^dlock release: --token: "abc" is not a whole/],
    [["get", "k", "--timeout", "0"], /^dlock get: --timeout: must be positive/],
    [["get", "k", "--endpoints", ","], /^dlock get: --endpoints: needs at least one host:port/],
    [["get", "k", "--endpoints", "nohost"], /^dlock get: --endpoints: "nohost" is not a host:port/],
    [["lock", "k"], /^dlock lock: give the command to run after --, e\.g\. dlock lock k -- /],
    [["lock", "k", "--kill-after", "soon", "--", "true"], /^dlock lock: --kill-after: "soon"/],
    [["member", "add", "n4"], /^dlock member add: "n4" must look like id=host:port/],
    [["member", "add", "n4="], /^dlock member add: "n4=" must look like id=host:port/],
    [["member", "remove"], /missing required argument 'id'/],
    [["release", "k"], /^dlock release: missing <value> \(or --force, admin only\)/],
    [["release", "k", "v", "--force"], /^dlock release: --force frees whoever holds the lock/],
    [
      ["get", "k", "--auth-token", "a", "--auth-token-file", "f"],
      /^dlock get: --auth-token and --auth-token-file: give one, not both/,
    ],
    [["get", "k", "--auth-token-file", "/nonexistent/t"], /^dlock get: --auth-token-file: cannot/],
    [["auth", "token"], /required option '--name <principal>' not specified/],
    [["auth", "token", "--name", "ci", "--grant", "write:*"], /unknown role "write"/],
    [["auth", "token", "--name", "c i"], /^dlock auth token: --name: "c i" must be/],
  ])("dlock %j", async (args, message) => {
    const run = await runInProcess(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
  });

  it("a bad lock option is refused before any connection (no cluster here)", async () => {
    const run = await runInProcess([
      "acquire",
      "k",
      "v",
      "--ttl",
      "0s",
      "--endpoints",
      deadEndpoint,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("dlock acquire: --ttl: must be positive\n");
  });

  it("DLOCK_JSON must be a boolean", async () => {
    vi.stubEnv("DLOCK_JSON", "maybe");
    const run = await runInProcess(["get", "k"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'dlock get: DLOCK_JSON: "maybe" is not a boolean (use 1/true or 0/false)\n',
    );
  });

  it("flags read their environment variables (a bad DLOCK_TTL is a usage error too)", async () => {
    vi.stubEnv("DLOCK_TTL", "forever");
    const run = await runInProcess(["acquire", "k", "v"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^dlock acquire: --ttl: "forever" is not a duration/);
  });
});

describe("a cluster that does not answer exits 5", () => {
  it.each([
    [["get", "k"]],
    [["status"]],
    [["acquire", "k", "v"]],
    [["release", "k", "v"]],
    [["member", "list"]],
    [
      ["lock", "k"],
      ["--", "true"],
    ],
  ])("dlock %j", async (args, command: string[] = []) => {
    const flags = ["--endpoints", deadEndpoint, "--timeout", "300ms"];
    const run = await runInProcess([...args, ...flags, ...command]);
    expect(run.code).toBe(5);
    expect(run.stdout).toBe("");
    const name = args[0] === "member" ? `member ${args[1]}` : args[0];
    expect(run.stderr).toMatch(
      new RegExp(
        `^dlock ${name}: no leader answered within 300ms from ${deadEndpoint} \\(last error: .*ECONNREFUSED.*\\): is the cluster running\\? \\(pnpm start\\)`,
      ),
    );
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("takes the endpoints from DLOCK_ENDPOINTS and the deadline from DLOCK_TIMEOUT", async () => {
    vi.stubEnv("DLOCK_ENDPOINTS", `${deadEndpoint},${deadEndpoint}`);
    vi.stubEnv("DLOCK_TIMEOUT", "200ms");
    const run = await runInProcess(["get", "k"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`within 200ms from ${deadEndpoint},${deadEndpoint} `);
  });

  it("without --endpoints or DLOCK_ENDPOINTS it looks for the local three-node cluster", async () => {
    const run = await runInProcess(["status", "--timeout", "1ms"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("from 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003");
  });
});
