import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The consensus core and the lock state machine are pure: they are driven from outside and never
// read a clock, a random source, the network or the disk. These rules make that a build failure.
const purity = {
  "no-restricted-globals": [
    "error",
    { name: "Date", message: "Pure core: time comes from tick(), never from a clock." },
    { name: "performance", message: "Pure core: time comes from tick(), never from a clock." },
    { name: "setTimeout", message: "Pure core: no timers; the host calls tick()." },
    { name: "setInterval", message: "Pure core: no timers; the host calls tick()." },
    { name: "setImmediate", message: "Pure core: no timers; the host calls tick()." },
    { name: "queueMicrotask", message: "Pure core: no scheduling; the host drives it." },
    { name: "process", message: "Pure core: no process access." },
    { name: "crypto", message: "Pure core: randomness is injected." },
    { name: "fetch", message: "Pure core: no network." },
  ],
  "no-restricted-properties": [
    "error",
    { object: "Math", property: "random", message: "Pure core: use the injected random source." },
  ],
  "no-restricted-imports": [
    "error",
    {
      patterns: [
        {
          group: [
            "node:*",
            "fs",
            "net",
            "os",
            "crypto",
            "timers",
            "child_process",
            "level",
            "classic-level",
          ],
          message: "Pure core: no I/O imports.",
        },
      ],
    },
  ],
};

const hostEdges = [
  "error",
  ...[
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "clearImmediate",
    "queueMicrotask",
  ].map((name) => ({
    name,
    message: "RaftHost: use the injected HostScheduler (node-edges.ts binds Node's).",
  })),
  ...["performance", "Date"].map((name) => ({
    name,
    message: "RaftHost: use the injected clock (options.now).",
  })),
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.sim-failures/**", "**/data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        performance: "readonly",
        queueMicrotask: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  { files: ["packages/raft/src/**/*.ts", "packages/server/src/lock/**/*.ts"], rules: purity },
  // Type-aware: a promise nobody awaits or catches loses its rejection (an unhandled rejection
  // ends the process), and one passed where a void callback is expected is never waited for.
  // The root tsconfig.json covers every package's src and test, so the project service builds one
  // program for all of them.
  {
    files: ["packages/*/src/**/*.ts", "packages/*/test/**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  // RaftHost runs unchanged under the simulator: its clock, timers and randomness are injected,
  // and node-edges.ts is the one file that binds them to Node's.
  {
    files: ["packages/server/src/host/**/*.ts"],
    ignores: ["packages/server/src/host/node-edges.ts"],
    rules: {
      "no-restricted-globals": hostEdges,
      "no-restricted-properties": purity["no-restricted-properties"],
    },
  },
);
