import { bench, describe } from "vitest";
import { parseAuthFile } from "../../src/auth/auth-file.js";
import { generateAuthToken, hashAuthToken } from "../../src/auth/auth-token.js";
import { Authenticator } from "../../src/auth/authenticator.js";

// Cost of authenticating one client connection (once per handshake), which compares the token's
// SHA-256 with every principal's in constant time: run with
//   npx vitest bench --run packages/server/test/auth/authenticate.bench.ts

for (const principals of [10, 1000]) {
  const tokens = Array.from({ length: principals }, () => generateAuthToken());
  const file = tokens.map((t, i) => `p${i} ${hashAuthToken(t)} lock:jobs/*`).join("\n");
  const auth = new Authenticator(parseAuthFile(file));
  let next = 0;
  describe(`${principals} principals`, () => {
    bench("a known token", () => {
      auth.authenticate({ authToken: tokens[next++ % principals], certificateName: null });
    });
    bench("an unknown token (refused)", () => {
      try {
        auth.authenticate({ authToken: "dlk_unknown", certificateName: null });
      } catch {
        // UNAUTHENTICATED is the expected outcome.
      }
    });
  });
}
