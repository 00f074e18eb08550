import { describe, expect, it } from "vitest";
import { EnvReader } from "../config";
import { createJwtAuthenticator } from "./jwt";
import { parseMethodRules } from "./jwt-policy";
import { createServiceTokenSource, readServiceTokenConfig } from "./service-token";

const secret = "service-token-unit-test-secret-0123456789";

function configFrom(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const config = readServiceTokenConfig(reader, "worker-itinerary");
  reader.done("test");
  return config;
}

describe("service tokens", () => {
  it("mints tokens the platform's authenticator accepts, with the configured grants", () => {
    const config = configFrom({
      JWT_SECRET: secret,
      JWT_AUDIENCE: "agent-platform",
      JWT_ISSUER: "platform",
      SERVICE_TOKEN_SCOPES: "platform tasks.execute",
      SERVICE_TOKEN_ROLES: "operator",
    });
    if (!config) throw new Error("config expected");
    const auth = createJwtAuthenticator({
      secret: Buffer.from(secret),
      audience: "agent-platform",
      issuer: "platform",
      rules: parseMethodRules("*=scope:platform scope:tasks.execute role:operator").rules,
    });
    const decision = auth.check(
      "/agentplatform.v1.ToolService/ExecuteTool",
      `Bearer ${createServiceTokenSource(config)()}`,
    );
    expect(decision).toMatchObject({ allowed: true, claims: { sub: "worker-itinerary" } });
  });

  it("reuses a minted token, and renews it before it expires", () => {
    const config = configFrom({ JWT_SECRET: secret, SERVICE_TOKEN_TTL: "10m" });
    if (!config) throw new Error("config expected");
    let now = 1_700_000_000_000;
    const source = createServiceTokenSource(config, () => now);
    const first = source();
    now += 5 * 60_000;
    expect(source()).toBe(first);
    now += 4 * 60_000; // 9 of 10 minutes gone: less than a fifth left
    const renewed = source();
    expect(renewed).not.toBe(first);
    const auth = createJwtAuthenticator({
      secret: Buffer.from(secret),
      clock: () => now + 2 * 60_000,
    });
    expect(auth.check("/x.Y/Z", `Bearer ${renewed}`).allowed).toBe(true);
    expect(auth.check("/x.Y/Z", `Bearer ${first}`).allowed).toBe(false);
  });

  it("sends SERVICE_TOKEN as given, and nothing without a token or a secret", () => {
    const config = configFrom({ SERVICE_TOKEN: "issued.elsewhere.token", JWT_SECRET: secret });
    expect(config && createServiceTokenSource(config)()).toBe("issued.elsewhere.token");
    expect(configFrom({})).toBeUndefined();
    expect(() => configFrom({ SERVICE_TOKEN_ROLES: "admin" })).toThrow(/need JWT_SECRET/);
    expect(() => configFrom({ JWT_SECRET: secret, SERVICE_TOKEN_TTL: "1s" })).toThrow(
      /SERVICE_TOKEN_TTL must be at least 10s/,
    );
  });
});
