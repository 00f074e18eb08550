import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../platform/test-support/eventually";
import { quietLogger, startTestRegistry, type TestRegistry } from "../test-support/cluster";
import { createLinkRegistry, type LinkRegistry } from "./link-registry";

let registry: TestRegistry | undefined;
let links: LinkRegistry | undefined;

afterEach(async () => {
  await links?.close();
  await registry?.registry.close();
  links = undefined;
  registry = undefined;
});

describe("dial-in link registrations", () => {
  it("are back within about a second when the registry forgets them (a restart without state)", async () => {
    registry = await startTestRegistry();
    const consul = registry.consul;
    links = createLinkRegistry({
      consul,
      routerId: () => "router-1",
      routerAddress: () => "127.0.0.1:50099",
      logger: quietLogger,
    });
    const info = {
      agentId: "nat-agent",
      name: "nat",
      description: "",
      capabilities: [],
      version: "1",
    };
    links.up("agent-nat", info, 1);
    links.up("agent-far", { ...info, agentId: "far-agent" }, 1);
    await links.settled();
    const names = async () =>
      Object.keys((await consul.catalogServices()).value).filter((s) => s.startsWith("agent-"));
    expect((await names()).sort()).toEqual(["agent-far", "agent-nat"]);

    // What a registry that restarted empty looks like to the router: its registrations gone.
    await consul.deregister("agent-nat-via-router-1");
    await consul.deregister("agent-far-via-router-1");
    expect(await names()).toEqual([]);
    await eventually(
      async () => expect((await names()).sort()).toEqual(["agent-far", "agent-nat"]),
      5000,
    );
  });
});
