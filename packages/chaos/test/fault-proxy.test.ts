import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FaultProxy } from "../src/fault-proxy.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echoServer(): Promise<number> {
  const server: Server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = new FaultProxy({ target: { host: "127.0.0.1", port }, random: () => 0.5 });
  await proxy.start();
  cleanups.push(() => proxy.stop());
  return proxy;
}

function open(address: string): Promise<Socket> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => resolve(socket));
    socket.once("error", reject);
    cleanups.push(() => void socket.destroy());
  });
}

function nextData(socket: Socket, timeoutMs = 5_000): Promise<string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    socket.once("data", (chunk) => {
      clearTimeout(timer);
      resolve(chunk.toString());
    });
  });
}

describe("FaultProxy", () => {
  it("passes bytes both ways when healthy", async () => {
    const proxy = await proxyTo(await echoServer());
    const socket = await open(proxy.address);
    socket.write("hello");
    expect(await nextData(socket)).toBe("hello");
  });

  it("discards one direction on a one-way cut and recovers after", async () => {
    const proxy = await proxyTo(await echoServer());
    const socket = await open(proxy.address);
    proxy.setFault({ kind: "oneWay", direction: "forward" });
    socket.write("lost");
    expect(await nextData(socket, 300)).toBeNull();
    expect(proxy.droppedBytes).toBe(4);
    proxy.setFault({ kind: "none" });
    socket.write("back");
    expect(await nextData(socket)).toBe("back");
  });

  it("closes connections and refuses new ones while cut", async () => {
    const proxy = await proxyTo(await echoServer());
    const socket = await open(proxy.address);
    const closed = new Promise((resolve) => socket.once("close", resolve));
    proxy.setFault({ kind: "cut" });
    await closed;
    const refused = await open(proxy.address).then(
      (s) => new Promise((resolve) => s.once("close", () => resolve("closed"))),
      () => "error",
    );
    expect(["closed", "error"]).toContain(refused);
  });

  it("delays but keeps the order of a direction's bytes", async () => {
    const proxy = await proxyTo(await echoServer());
    const socket = await open(proxy.address);
    proxy.setFault({ kind: "delay", meanMs: 30, jitterMs: 20 });
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString()));
    for (const part of ["a", "b", "c", "d"]) socket.write(part);
    const deadline = Date.now() + 5_000;
    while (received.length < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe("abcd");
  });
});
