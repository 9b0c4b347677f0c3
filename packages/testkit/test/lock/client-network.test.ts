import type { TransportConnection } from "@dlock/client/internal";
import type { ClientRequest, ClientResponse, HelloFrame } from "@dlock/protocol";
import { describe, expect, it } from "vitest";
import { Prng } from "../../src/prng.js";
import { AsyncWorld } from "../../src/lock/async-world.js";
import type { ClientNetworkFaults, ServerSideConnection } from "../../src/lock/client-network.js";
import { SimClientNetwork } from "../../src/lock/client-network.js";
import { SimWorld } from "../../src/world.js";
import { FakeProcess } from "./fake-process.js";

const CALM: ClientNetworkFaults = {
  delayMsMin: 1,
  delayMsMax: 1,
  resetRate: 0,
  stallRate: 0,
  stallDelayMaxMs: 0,
};

const clientHello: HelloFrame = {
  type: "hello",
  protocolVersion: 1,
  clusterId: null,
  role: "client",
  clientId: "c1",
};

function request(id: number): ClientRequest {
  return { type: "get", id, key: "k" };
}

/** A network with one echo server "n1" (answers every request with its id) and a client. */
function setup(faults: ClientNetworkFaults = CALM) {
  const world = new AsyncWorld(new SimWorld(1));
  const network = new SimClientNetwork(world, new Prng(7), faults);
  const server = new FakeProcess("n1");
  const client = new FakeProcess("c1");
  const serverLog: string[] = [];
  const sides: ServerSideConnection[] = [];
  network.listen("n1:7001", {
    process: server,
    accept: (side) => {
      sides.push(side);
      return {
        onHello: () => {
          serverLog.push(`hello at ${world.nowMs}`);
          side.send({ ...clientHello, clientId: undefined, nodeId: "n1", clusterId: "sim" });
        },
        onRequest: (body) => {
          const id = (body as ClientRequest).id;
          serverLog.push(`request ${id} at ${world.nowMs}`);
          side.send({ type: "ok", id, result: { id } });
        },
        onClose: () => serverLog.push(`close at ${world.nowMs}`),
      };
    },
  });
  const clientLog: string[] = [];
  const connect = (): TransportConnection =>
    network.transportFor(client).connect("n1:7001", clientHello, {
      onOpen: () => clientLog.push(`open at ${world.nowMs}`),
      onResponse: (response: ClientResponse) =>
        clientLog.push(`response ${response.id} at ${world.nowMs}`),
      onClose: (error) => clientLog.push(`closed (${error?.message ?? "by us"}) at ${world.nowMs}`),
    });
  return { world, network, server, client, serverLog, clientLog, sides, connect };
}

describe("the simulated client network (TCP's shape)", () => {
  it("opens with a hello each way and delivers requests and answers in order", async () => {
    const { world, serverLog, clientLog, connect } = setup();
    const connection = connect();
    connection.send(request(1));
    connection.send(request(2));
    await world.runUntil(10);
    expect(serverLog).toEqual(["hello at 1", "request 1 at 1", "request 2 at 1"]);
    expect(clientLog).toEqual(["open at 2", "response 1 at 2", "response 2 at 2"]);
  });

  it("holds segments across a partition and delivers them after it heals, even after close", async () => {
    const { world, network, serverLog, connect } = setup();
    const connection = connect();
    await world.runUntil(5);
    network.cut("c1", "n1");
    connection.send(request(1));
    connection.close();
    await world.runUntil(100);
    expect(serverLog).toEqual(["hello at 1"]);
    network.mend("c1", "n1");
    await world.runUntil(200);
    // The delayed request arrives although its sender gave up long ago (etcd #22082).
    expect(serverLog).toEqual(["hello at 1", "request 1 at 100", "close at 100"]);
  });

  it("refuses connections to a process that is down, and resets them when a server crashes", async () => {
    const { world, network, server, clientLog, connect } = setup();
    server.status = "down";
    connect();
    await world.runUntil(10);
    expect(clientLog).toEqual(["closed (connection refused) at 2"]);
    clientLog.length = 0;
    server.status = "running";
    const connection = connect();
    await world.runUntil(20);
    server.status = "down";
    network.serverDown("n1");
    connection.send(request(9));
    await world.runUntil(30);
    expect(clientLog).toEqual(["open at 12", "closed (the server went away) at 21"]);
    expect(network.stats.resets).toBe(2);
  });

  it("makes segments to a paused process wait until it resumes", async () => {
    const { world, server, serverLog, connect } = setup();
    const connection = connect();
    await world.runUntil(5);
    server.status = "paused";
    connection.send(request(1));
    await world.runUntil(50);
    expect(serverLog).toEqual(["hello at 1"]);
    server.resume();
    expect(serverLog).toEqual(["hello at 1", "request 1 at 50"]);
  });

  it("resets a connection on a lost segment: both ends hear a close", async () => {
    const { world, serverLog, clientLog, connect } = setup({ ...CALM, resetRate: 1 });
    connect();
    await world.runUntil(10);
    expect(serverLog).toEqual([]);
    expect(clientLog).toEqual(["closed (connection reset) at 1"]);
  });
});
