// Container health check: calls grpc.health.v1.Health/Check on host:port (default
// 127.0.0.1:$GRPC_SERVER_PORT) and exits 0 only for SERVING. Uses TLS with the process's own
// GRPC_TLS_* files when GRPC_TLS_ENABLED is true, so it passes mTLS like any other client.
// Usage: node --import tsx deploy/grpc-health-probe.ts [host:port] [service]
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb";
import { EnvReader } from "../platform/config";
import { loadTlsFiles, readTlsConfig } from "../platform/tls";

export interface ProbeResult {
  healthy: boolean;
  detail: string;
}

export async function probeGrpcHealth(
  address: string,
  service = "",
  env: Record<string, string | undefined> = process.env,
  timeoutMs = 3000,
): Promise<ProbeResult> {
  const reader = new EnvReader(env);
  const tls = loadTlsFiles(readTlsConfig(reader));
  reader.done("grpc-health-probe");
  const client = createClient(
    Health,
    createGrpcTransport({
      baseUrl: `${tls ? "https" : "http"}://${address}`,
      ...(tls ? { nodeOptions: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
    }),
  );
  try {
    const { status } = await client.check({ service }, { timeoutMs });
    return {
      healthy: status === ServingStatus.SERVING,
      detail: `${address}: ${ServingStatus[status] ?? status}`,
    };
  } catch (err) {
    const e = ConnectError.from(err);
    return { healthy: false, detail: `${address}: ${Code[e.code]} ${e.rawMessage}` };
  }
}

if (process.argv[1]?.endsWith("grpc-health-probe.ts")) {
  const address = process.argv[2] ?? `127.0.0.1:${process.env.GRPC_SERVER_PORT ?? "50051"}`;
  const result = await probeGrpcHealth(address, process.argv[3] ?? "").catch((err: unknown) => ({
    healthy: false,
    detail: err instanceof Error ? err.message : String(err),
  }));
  process.stdout.write(`${result.detail}\n`);
  process.exit(result.healthy ? 0 : 1);
}
