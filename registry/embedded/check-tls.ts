// The certificate the registry's gRPC and HTTPS checks present, and the CA they trust, like
// Consul's enable_agent_tls_for_checks: read from GRPC_TLS_CA_PATH, GRPC_TLS_CERT_PATH and
// GRPC_TLS_KEY_PATH, so checks pass against services that require client certificates (mTLS).
import { readFileSync } from "node:fs";
import type { EnvReader } from "../../platform/config";

export interface CheckTls {
  /** Trusted CA bundle; default: Node.js's built-in roots. */
  ca?: Buffer;
  /** Client certificate and key presented to services that ask for one. */
  cert?: Buffer;
  key?: Buffer;
}

export interface CheckTlsPaths {
  caPath?: string;
  certPath?: string;
  keyPath?: string;
}

/** Reads the paths; a certificate without its key (or the reverse) is a configuration error. */
export function readCheckTlsPaths(env: EnvReader): CheckTlsPaths {
  const caPath = env.optionalString("GRPC_TLS_CA_PATH");
  const certPath = env.optionalString("GRPC_TLS_CERT_PATH");
  const keyPath = env.optionalString("GRPC_TLS_KEY_PATH");
  if ((certPath === undefined) !== (keyPath === undefined)) {
    env.invalid("GRPC_TLS_CERT_PATH and GRPC_TLS_KEY_PATH must be set together");
  }
  return {
    ...(caPath !== undefined ? { caPath } : {}),
    ...(certPath !== undefined ? { certPath } : {}),
    ...(keyPath !== undefined ? { keyPath } : {}),
  };
}

/** Loads the files; undefined when none is configured. Throws naming the unreadable variable. */
export function loadCheckTls(paths: CheckTlsPaths): CheckTls | undefined {
  const read = (variable: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${variable}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const ca = read("GRPC_TLS_CA_PATH", paths.caPath);
  const cert = read("GRPC_TLS_CERT_PATH", paths.certPath);
  const key = read("GRPC_TLS_KEY_PATH", paths.keyPath);
  if (!ca && !cert) return undefined;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}
