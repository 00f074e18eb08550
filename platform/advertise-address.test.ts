import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import {
  advertiseAddressFor,
  firstExternalIpv4,
  isWildcardHost,
  readAdvertiseAddress,
} from "./advertise-address";
import { ConfigError, EnvReader } from "./config";

const info = (address: string, family: "IPv4" | "IPv6", internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family,
    internal,
    netmask: "",
    mac: "00:00:00:00:00:00",
    cidr: null,
    ...(family === "IPv6" ? { scopeid: 0 } : {}),
  }) as NetworkInterfaceInfo;

const host = {
  lo: [info("127.0.0.1", "IPv4", true), info("::1", "IPv6", true)],
  docker0: [info("169.254.3.1", "IPv4")],
  eth0: [info("fd00::2", "IPv6"), info("10.1.2.3", "IPv4")],
  eth1: [info("10.9.9.9", "IPv4")],
};
const loopbackOnly = { lo: [info("127.0.0.1", "IPv4", true)] };

describe("advertise address", () => {
  it("registers a specific bind address as it is", () => {
    expect(advertiseAddressFor("127.0.0.1", "ROUTER_ADVERTISE_ADDRESS", host)).toBe("127.0.0.1");
    expect(advertiseAddressFor("10.9.9.9", "ROUTER_ADVERTISE_ADDRESS", loopbackOnly)).toBe(
      "10.9.9.9",
    );
  });

  it("replaces 0.0.0.0 and :: with the first IPv4 address others can route to", () => {
    expect(["0.0.0.0", "::", "[::]", ""].every(isWildcardHost)).toBe(true);
    // Loopback, link-local and IPv6 addresses are passed over.
    expect(firstExternalIpv4(host)).toBe("10.1.2.3");
    expect(advertiseAddressFor("0.0.0.0", "ROUTER_ADVERTISE_ADDRESS", host)).toBe("10.1.2.3");
    expect(advertiseAddressFor("::", "SERVICE_ADVERTISE_ADDRESS", host)).toBe("10.1.2.3");
  });

  it("refuses to start, naming the variable, when there is nothing to register", () => {
    expect(() => advertiseAddressFor("0.0.0.0", "ROUTER_ADVERTISE_ADDRESS", loopbackOnly)).toThrow(
      ConfigError,
    );
    expect(() => advertiseAddressFor("0.0.0.0", "ROUTER_ADVERTISE_ADDRESS", loopbackOnly)).toThrow(
      /set ROUTER_ADVERTISE_ADDRESS/,
    );
  });

  it("reads an explicit address from the environment, and reports a missing one with the rest", () => {
    const given = new EnvReader({ ROUTER_ADVERTISE_ADDRESS: "router.internal" });
    expect(readAdvertiseAddress(given, "ROUTER_ADVERTISE_ADDRESS", "0.0.0.0", loopbackOnly)).toBe(
      "router.internal",
    );
    given.done("router");

    const wildcard = new EnvReader({ ROUTER_ADVERTISE_ADDRESS: "0.0.0.0" });
    readAdvertiseAddress(wildcard, "ROUTER_ADVERTISE_ADDRESS", "0.0.0.0", host);
    expect(() => wildcard.done("router")).toThrow(/ROUTER_ADVERTISE_ADDRESS must be an address/);

    const missing = new EnvReader({});
    readAdvertiseAddress(missing, "ROUTER_ADVERTISE_ADDRESS", "0.0.0.0", loopbackOnly);
    expect(() => missing.done("router")).toThrow(
      /no non-internal IPv4 address.*ROUTER_ADVERTISE_ADDRESS/,
    );
  });
});
