// Tracing is configured only by the standard OpenTelemetry variables. This reads the few that
// decide whether the SDK loads at all and which exporter it needs; the SDK and the exporter read
// the rest themselves (sampler, endpoint paths, headers, timeouts, resource attributes).
import { ConfigError } from "../config";

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface TracingConfig {
  /** False when no exporter is configured or the SDK is disabled: nothing is loaded. */
  enabled: boolean;
  protocol: OtlpProtocol;
}

const protocols: readonly OtlpProtocol[] = ["http/protobuf", "http/json"];

/**
 * On when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set, unless
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Protocol: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
 * else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default).
 */
export function readTracingConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TracingConfig {
  const endpoint =
    nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const disabled = nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === "true";
  const exporter = nonEmpty(env.OTEL_TRACES_EXPORTER)?.toLowerCase() ?? "otlp";
  if (exporter !== "otlp" && exporter !== "none") {
    throw new ConfigError(
      `OTEL_TRACES_EXPORTER="${exporter}" is not supported here: use otlp (or none)`,
    );
  }
  const protocolVariable = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const raw = nonEmpty(env[protocolVariable]) ?? "http/protobuf";
  const protocol = protocols.find((p) => p === raw);
  const enabled = endpoint !== undefined && !disabled && exporter === "otlp";
  if (protocol === undefined) {
    if (enabled) {
      throw new ConfigError(
        `${protocolVariable}="${raw}" is not supported here: use http/protobuf or http/json`,
      );
    }
    return { enabled, protocol: "http/protobuf" };
  }
  return { enabled, protocol };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
