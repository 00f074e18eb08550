import { describe, expect, it } from "vitest";
import { readConsoleConfig } from "./console-config";

describe("console configuration", () => {
  it("defaults to the local gateway and front door", () => {
    expect(readConsoleConfig({})).toEqual({
      gatewayUrl: "http://localhost:8080",
      frontDoorAddress: "127.0.0.1:50051",
    });
  });

  it("takes the gateway URL from the environment at request time, without a trailing slash", () => {
    expect(
      readConsoleConfig({ GATEWAY_PUBLIC_URL: "https://console.example:8443/" }).gatewayUrl,
    ).toBe("https://console.example:8443");
  });

  it("names the variable that is wrong", () => {
    expect(() => readConsoleConfig({ GATEWAY_PUBLIC_URL: "localhost:8080" })).toThrow(
      /GATEWAY_PUBLIC_URL/,
    );
    expect(() => readConsoleConfig({ CONSOLE_FRONT_DOOR_ADDRESS: "nope" })).toThrow(
      /CONSOLE_FRONT_DOOR_ADDRESS/,
    );
  });
});
