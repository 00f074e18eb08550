// TLS and mTLS settings from GRPC_TLS_* variables, loaded once at start.
import { readFileSync } from "node:fs";
import type { EnvReader } from "./config";

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** CA bundle: on a server it turns on client-certificate verification (mTLS). */
  ca?: Buffer;
}

export interface TlsConfig {
  enabled: boolean;
  certPath?: string;
  keyPath?: string;
  caPath?: string;
}

export function readTlsConfig(env: EnvReader): TlsConfig {
  const enabled = env.bool("GRPC_TLS_ENABLED", false);
  const certPath = env.optionalString("GRPC_TLS_CERT_PATH");
  const keyPath = env.optionalString("GRPC_TLS_KEY_PATH");
  const caPath = env.optionalString("GRPC_TLS_CA_PATH");
  if (enabled && (!certPath || !keyPath)) {
    env.invalid("GRPC_TLS_ENABLED=true needs GRPC_TLS_CERT_PATH and GRPC_TLS_KEY_PATH");
  }
  return {
    enabled,
    ...(certPath ? { certPath } : {}),
    ...(keyPath ? { keyPath } : {}),
    ...(caPath ? { caPath } : {}),
  };
}

/** Reads the files named by a TlsConfig; undefined when TLS is off. Throws naming the unreadable file. */
export function loadTlsFiles(config: TlsConfig): TlsFiles | undefined {
  if (!config.enabled || !config.certPath || !config.keyPath) return undefined;
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  return {
    cert: read("GRPC_TLS_CERT_PATH", config.certPath),
    key: read("GRPC_TLS_KEY_PATH", config.keyPath),
    ...(config.caPath ? { ca: read("GRPC_TLS_CA_PATH", config.caPath) } : {}),
  };
}
