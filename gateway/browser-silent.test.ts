// The browser endpoint does not keep silent HTTP/2 connections: one that says nothing is closed
// with GOAWAY once H2_SILENT_CONNECTION_TIMEOUT_MS passed, and one held open by a stream that
// never ends is dropped shortly after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsulClient } from "../platform/consul/consul-client";
import { defaultEdgeLimits } from "../platform/h2/edge-limits";
import { FLAG_END_HEADERS } from "../platform/h2/frames";
import { RawPeer } from "../platform/h2/test-support/raw-peer";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../registry/embedded/embedded-registry";
import { type Gateway, startGateway } from "./gateway";
import { quietLogger } from "./test-support/test-cluster";

let registry: EmbeddedRegistry;
let gateway: Gateway;
const peers: RawPeer[] = [];

beforeAll(async () => {
  registry = await startEmbeddedRegistry({ logger: quietLogger });
  gateway = await startGateway({
    consul: createConsulClient({ address: registry.address }),
    registryWait: "5s",
    limits: { edge: { ...defaultEdgeLimits, silentConnectionTimeoutMs: 1000 } },
    logger: quietLogger,
  });
});

afterAll(async () => {
  for (const peer of peers) peer.destroy();
  await gateway?.close(100);
  await registry?.close();
});

describe("the browser endpoint over HTTP/2", () => {
  it("closes a connection that stays silent", async () => {
    const peer = new RawPeer({ port: gateway.http.port });
    peers.push(peer);
    await peer.ready();
    expect(await peer.waitClosed(8000)).toBe(true);
    expect(peer.goaway?.code).toBe(0);
  });

  it("drops a connection held open by a request that never ends", async () => {
    const peer = new RawPeer({ port: gateway.http.port });
    peers.push(peer);
    await peer.ready();
    const headers = [
      ":method",
      "POST",
      ":scheme",
      "http",
      ":path",
      "/agentplatform.v1.ConsoleService/ListServices",
      ":authority",
      "localhost",
      "content-type",
      "application/proto",
    ];
    await peer.write(peer.headersFrame(1, headers, FLAG_END_HEADERS));
    expect(await peer.waitClosed(12_000)).toBe(true);
    expect(peer.goaway).toBeDefined();
  });
});
