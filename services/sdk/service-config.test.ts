// What a service registers for routers to dial, as read from its environment.
import { describe, expect, it } from "vitest";
import { firstExternalIpv4 } from "../../platform/advertise-address";
import { defaultServiceConfig, readServiceConfig } from "./service-config";

describe("service advertise address", () => {
  it("registers the bind host, or SERVICE_ADVERTISE_ADDRESS when given", () => {
    expect(readServiceConfig("agent-x", 0, {}).advertiseAddress).toBe("127.0.0.1");
    expect(
      readServiceConfig("agent-x", 0, {
        GRPC_SERVER_HOST: "0.0.0.0",
        SERVICE_ADVERTISE_ADDRESS: "echo-agent",
      }).advertiseAddress,
    ).toBe("echo-agent");
  });

  it("never registers 0.0.0.0: this host's IPv4 address, or a start-up error naming the variable", () => {
    const external = firstExternalIpv4();
    for (const read of [
      () => readServiceConfig("agent-x", 0, { GRPC_SERVER_HOST: "0.0.0.0" }).advertiseAddress,
      () => defaultServiceConfig({ host: "::" }).advertiseAddress,
    ]) {
      if (external === undefined) expect(read).toThrow(/SERVICE_ADVERTISE_ADDRESS/);
      else expect(read()).toBe(external);
    }
    expect(() => readServiceConfig("agent-x", 0, { SERVICE_ADVERTISE_ADDRESS: "0.0.0.0" })).toThrow(
      /SERVICE_ADVERTISE_ADDRESS must be an address/,
    );
  });

  it("takes a postgres DATABASE_URL, and refuses another with the variable named, never the password", () => {
    const url = "postgres://worker:pw@db:5432/agentplatform";
    expect(readServiceConfig("worker-x", 0, { DATABASE_URL: url }).databaseUrl).toBe(url);
    expect(readServiceConfig("worker-x", 0, {}).databaseUrl).toBeUndefined();
    for (const [bad, says] of [
      ["mysql://u:hunter2@db/x", /DATABASE_URL must start with postgres:\/\//],
      ["postgres://u:hunter2@db", /DATABASE_URL must name a database/],
      ["db:5432", /DATABASE_URL must/],
    ] as const) {
      let message = "";
      try {
        readServiceConfig("worker-x", 0, { DATABASE_URL: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(says);
      expect(message).not.toContain("hunter2");
    }
  });
});
