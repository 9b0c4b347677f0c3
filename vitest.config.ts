import { defineConfig } from "vitest/config";

// Sibling packages resolve to their TypeScript sources through the "source" export condition,
// so unit tests never need a build. Tests that spawn real processes use the built dist/ files.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
