// ConsoleService: the operator console's view of the cluster, and Invoke.
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  ConsoleService,
  ListServicesResponseSchema,
  type MetricsSnapshotSchema,
  Role,
} from "../gen/agentplatform/v1/console_pb";
import { ResolveResponseSchema } from "../gen/agentplatform/v1/router_admin_pb";
import type { AuditLog } from "./audit-log";
import { callerKey } from "./caller";
import { type InvokeOptions, invoke } from "./invoke";
import type { MetricsHistory, MetricsTick } from "./metrics-history";
import type { RegistryView } from "./registry-view";
import type { RouterFleet } from "./router-fleet";
import { serviceNameFor } from "./service-kind";

export interface ConsoleServiceDeps {
  registry: RegistryView;
  fleet: RouterFleet;
  metrics: MetricsHistory;
  audit: AuditLog;
  invoke: InvokeOptions;
  version: string;
  /** How the registry is named in GetSession. */
  registryLabel: () => Promise<string>;
  /** How often WatchServices looks again when nothing changed (flapping marks expire). Default 10 s. */
  rewatchMs?: number;
}

/** Waits for one of: a wake-up (even one that came before the wait), a timeout, or the end of the call. */
function waiter(signal: AbortSignal) {
  let wake: (() => void) | undefined;
  let pending = false;
  return {
    wake: () => {
      if (wake) wake();
      else pending = true;
    },
    wait: (ms: number) =>
      new Promise<void>((resolve) => {
        if (pending || signal.aborted) {
          pending = false;
          resolve();
          return;
        }
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
        wake = done;
      }),
  };
}

export function consoleServiceRoutes(deps: ConsoleServiceDeps): (router: ConnectRouter) => void {
  const { registry, fleet, metrics, audit } = deps;
  const rewatchMs = deps.rewatchMs ?? 10_000;

  const registryReady = async () => {
    await Promise.race([registry.ready(), new Promise((r) => setTimeout(r, 5000).unref())]);
    if (!registry.hasAnswered()) {
      throw new ConnectError(
        `the registry cannot be read: ${registry.error() ?? "no answer yet"}`,
        Code.Unavailable,
      );
    }
  };

  return (router) => {
    router.service(ConsoleService, {
      async getSession(_req, ctx) {
        const caller = ctx.values.get(callerKey);
        return {
          authEnabled: caller.authEnabled,
          role: caller.role,
          subject: caller.role === Role.UNSPECIFIED ? "" : caller.subject,
          gatewayVersion: deps.version,
          registry: await deps.registryLabel(),
        };
      },

      async listServices() {
        await registryReady();
        return registry.snapshot();
      },

      async *watchServices(_req, ctx: HandlerContext) {
        await registryReady();
        const { wake, wait } = waiter(ctx.signal);
        const unsubscribe = registry.subscribe(wake);
        try {
          let last: Uint8Array | undefined;
          while (!ctx.signal.aborted) {
            const snapshot = registry.snapshot();
            // Compare without the fetch time, which differs every time.
            const key = toBinary(
              ListServicesResponseSchema,
              create(ListServicesResponseSchema, { ...snapshot, fetchedAtMs: 0n }),
            );
            if (!last || Buffer.compare(Buffer.from(last), Buffer.from(key)) !== 0) {
              last = key;
              yield snapshot;
            }
            await wait(rewatchMs);
          }
        } finally {
          unsubscribe();
        }
      },

      async listRouters(_req, ctx) {
        await registryReady();
        return { routers: await fleet.list(ctx.signal) };
      },

      async resolveTarget(req, ctx) {
        const target = req.target.trim();
        if (target === "") throw new ConnectError("target is required", Code.InvalidArgument);
        await registryReady();
        const service = serviceNameFor(target, req.kind);
        const instances = registry.instances(service);
        if (instances.length === 0) {
          throw new ConnectError(
            `no service "${service}" is registered (target "${target}")`,
            Code.NotFound,
          );
        }
        const out = { target, service, registryInstances: instances };
        try {
          const resolved = await fleet.resolve(target, req.kind, ctx.signal);
          if (!resolved) {
            return {
              ...out,
              router: create(ResolveResponseSchema, {
                target,
                service,
                reason: "no healthy router is registered as grpc-router",
              }),
            };
          }
          return { ...out, routerId: resolved.router.instanceId, router: resolved.answer };
        } catch (err) {
          return {
            ...out,
            router: create(ResolveResponseSchema, {
              target,
              service,
              reason: `the router did not answer: ${ConnectError.from(err).message}`,
            }),
          };
        }
      },

      async *watchMetrics(req, ctx) {
        const ticks: MetricsTick[] = [];
        const { wake, wait } = waiter(ctx.signal);
        const unsubscribe = metrics.subscribe((tick) => {
          ticks.push(tick);
          if (ticks.length > 10) ticks.shift(); // a slow reader skips points rather than lag
          wake();
        });
        try {
          const first: MessageInitShape<typeof MetricsSnapshotSchema> = {
            series: metrics.series(req.historyPoints || undefined),
            methods: metrics.methods(),
          };
          yield first;
          while (!ctx.signal.aborted) {
            const tick = ticks.shift();
            if (!tick) {
              await wait(5000);
              continue;
            }
            yield {
              series: [...tick.points].map(([source, point]) => ({ source, points: [point] })),
              methods: tick.methods,
            };
          }
        } finally {
          unsubscribe();
        }
      },

      invoke: (req, ctx) => invoke(req, ctx, deps.invoke),

      listAuditEntries(req) {
        const limit = Math.min(req.limit || 100, 1000);
        return { entries: audit.recent(limit) };
      },
    });
  };
}
