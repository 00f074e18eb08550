// grpc.health.v1: Check, List and Watch over a status table the server updates as it starts and drains.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb";

export { ServingStatus };

export interface HealthStatusTable {
  /** Sets one service's status; "" is the server as a whole. */
  set(service: string, status: ServingStatus): void;
  /** Sets every known service, and the server, at once (used when draining). */
  setAll(status: ServingStatus): void;
  get(service: string): ServingStatus | undefined;
  routes(router: ConnectRouter): void;
}

export function createHealthStatusTable(services: readonly string[] = []): HealthStatusTable {
  const statuses = new Map<string, ServingStatus>([["", ServingStatus.SERVING]]);
  for (const s of services) statuses.set(s, ServingStatus.SERVING);
  const watchers = new Set<(service: string) => void>();

  const response = (status: ServingStatus): HealthCheckResponse =>
    create(HealthCheckResponseSchema, { status });

  function set(service: string, status: ServingStatus) {
    if (statuses.get(service) === status) return;
    statuses.set(service, status);
    for (const w of watchers) w(service);
  }

  return {
    set,
    setAll(status) {
      for (const service of statuses.keys()) set(service, status);
    },
    get: (service) => statuses.get(service),
    routes(router) {
      router.service(Health, {
        check(req) {
          const status = statuses.get(req.service);
          if (status === undefined) {
            throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
          }
          return response(status);
        },
        list() {
          const out = create(HealthListResponseSchema);
          for (const [service, status] of statuses) out.statuses[service] = response(status);
          return out;
        },
        async *watch(req, ctx) {
          // Per the protocol: send the current status at once, then every change until cancelled.
          let changed: (() => void) | undefined;
          const onChange = (service: string) => {
            if (service === req.service) changed?.();
          };
          watchers.add(onChange);
          try {
            let last: ServingStatus | undefined;
            while (!ctx.signal.aborted) {
              const current = statuses.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
              if (current !== last) {
                last = current;
                yield response(current);
              }
              await new Promise<void>((resolve) => {
                changed = resolve;
                ctx.signal.addEventListener("abort", () => resolve(), { once: true });
              });
            }
          } finally {
            watchers.delete(onChange);
          }
        },
      });
    },
  };
}
