import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Server } from "node:net";
import { boundAddress, listen } from "../../src/transport/listen.js";

const servers: Server[] = [];
const newServer = (): Server => {
  const server = createServer();
  servers.push(server);
  return server;
};

afterEach(async () => {
  await Promise.all(
    servers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

describe("listen", () => {
  it("resolves once bound; boundAddress names the picked port", async () => {
    const server = newServer();
    expect(() => boundAddress(server, "test port")).toThrow("test port is not listening");
    await listen(server, { host: "127.0.0.1", port: 0 });
    const address = boundAddress(server, "test port");
    expect(address.host).toBe("127.0.0.1");
    expect(address.port).toBeGreaterThan(0);
    expect(server.listenerCount("error")).toBe(0);
  });

  it("rejects with the listen error (port in use) and leaves no error listener behind", async () => {
    const first = newServer();
    await listen(first, { host: "127.0.0.1", port: 0 });
    const second = newServer();
    await expect(listen(second, boundAddress(first, "first"))).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
    expect(second.listenerCount("error")).toBe(0);
  });
});
