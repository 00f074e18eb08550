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
import type { ConsulClient } from "../platform/consul/consul-client";
import type { AuditLog } from "./audit-log";
import { auditNoteKey } from "./browser-interceptors";
import { callerKey } from "./caller";
import { createConsoleTasks } from "./console-tasks";
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
  /** The registry, for maintenance mode. */
  consul: ConsulClient;
}

const maxReasonLength = 512;

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
  const tasks = createConsoleTasks({
    transport: deps.invoke.transport,
    workers: () =>
      registry
        .snapshot()
        .services.filter((s) => s.kind === "worker" && s.clientId !== "")
        .map((s) => s.clientId),
  });

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
        const note = ctx.values.get(auditNoteKey);
        if (note) note.target = target;
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
          if (note) note.router = resolved.router.instanceId;
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
        const page = audit.list({
          limit: Math.min(req.limit || 100, 1000),
          beforeId: req.beforeId,
          fromMs: Number(req.fromMs),
          toMs: Number(req.toMs),
        });
        return {
          entries: page.entries,
          nextBeforeId: page.nextBeforeId,
          oldestKeptMs: BigInt(page.oldestKeptMs),
          kept: BigInt(page.kept),
          maxEntries: BigInt(audit.maxEntries),
          maxAgeMs: BigInt(audit.maxAgeMs),
        };
      },

      listTasks: (req, ctx) => tasks.list(req, ctx.signal),

      getTask: (req, ctx) => tasks.get(req, ctx.signal),

      async setMaintenance(req, ctx) {
        const service = req.service.trim();
        const instanceId = req.instanceId.trim();
        const reason = req.reason.trim();
        const note = ctx.values.get(auditNoteKey);
        if (note) {
          note.target = service;
          note.instance = instanceId;
          note.detail = `maintenance ${req.enable ? "on" : "off"}${reason ? `: ${reason}` : ""}`;
        }
        if (service === "" || instanceId === "") {
          throw new ConnectError("service and instance_id are both required", Code.InvalidArgument);
        }
        if (req.enable && reason === "") {
          throw new ConnectError(
            "a reason is required to put an instance into maintenance",
            Code.InvalidArgument,
          );
        }
        if (reason.length > maxReasonLength) {
          throw new ConnectError(
            `reason is ${reason.length} characters; at most ${maxReasonLength}`,
            Code.InvalidArgument,
          );
        }
        await registryReady();
        if (!registry.instances(service).some((i) => i.instanceId === instanceId)) {
          throw new ConnectError(
            `no instance "${instanceId}" of "${service}" is registered`,
            Code.NotFound,
          );
        }
        try {
          await deps.consul.serviceMaintenance(instanceId, req.enable, reason);
        } catch (err) {
          const status = (err as { status?: number }).status;
          throw new ConnectError(
            status === 404
              ? `the registry agent the gateway uses does not hold "${instanceId}"; with Consul, maintenance is set on the instance's own agent`
              : `the registry refused maintenance: ${(err as Error).message}`,
            status === 404 ? Code.FailedPrecondition : Code.Unavailable,
          );
        }
        const waitUntil = Date.now() + 3000;
        // The registry view follows by blocking query: wait until it shows the change.
        for (;;) {
          const instance = registry.instances(service).find((i) => i.instanceId === instanceId);
          const inMaintenance =
            instance?.checks.some((c) => c.checkId === `_service_maintenance:${instanceId}`) ??
            false;
          if (instance === undefined || inMaintenance === req.enable || Date.now() > waitUntil) {
            return instance ? { instance } : {};
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    });
  };
}
