import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../config";
import { readTracingConfig } from "./tracing-config";

const root = new URL("../..", import.meta.url).pathname;

describe("readTracingConfig", () => {
  it("is off without an OTLP endpoint, or when the SDK or the exporter is disabled", () => {
    expect(readTracingConfig({}).enabled).toBe(false);
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
    expect(readTracingConfig(endpoint)).toEqual({ enabled: true, protocol: "http/protobuf" });
    expect(readTracingConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" }).enabled).toBe(false);
    expect(readTracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).enabled).toBe(false);
    expect(
      readTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" })
        .enabled,
    ).toBe(true);
  });

  it("takes http/json and http/protobuf, the traces-specific variable first", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    };
    expect(readTracingConfig(env).protocol).toBe("http/json");
  });

  it("names the variable when the protocol or exporter is one it cannot serve", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317" };
    expect(() => readTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL="grpc"/,
    );
    expect(() => readTracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(
      ConfigError,
    );
  });
});

describe("startTracing with no exporter configured", () => {
  it("loads no part of the SDK", () => {
    const script = `
      const { startTracing } = await import("./platform/tracing/index.ts");
      await import("./router/routed-relay.ts");
      const tracing = await startTracing("probe");
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({
        enabled: tracing.enabled,
        sdk: loaded.filter((p) => /sdk-trace|exporter-trace|otlp|resources/.test(p)).length,
        api: loaded.some((p) => p.includes("@opentelemetry/api")),
      }));
    `;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (key.startsWith("OTEL_")) delete env[key];
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: root, env, encoding: "utf8", timeout: 60_000 },
    );
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "")).toEqual({
      enabled: false,
      sdk: 0,
      api: true,
    });
  });
});
