// The Consul HTTP API subset the platform uses, answered from the registry state.

import type { CheckStatus } from "../../platform/consul/consul-types";
import type { Logger } from "../../platform/log";
import { maxOutputBytes } from "./check-probes";
import type { CheckRunner } from "./check-runner";
import {
  agentServiceView,
  catalogServiceView,
  healthCheckView,
  nodeView,
  serviceEntryView,
} from "./consul-views";
import { parseCheckUpdate, parseServiceRegistration } from "./registration-input";
import { type CheckRecord, isCheckStatus, RegistryHttpError } from "./registry-model";
import type { RegistryState } from "./registry-state";

/** What a route answers: a JSON value now, or a query that may block. */
export type RouteResult =
  | { kind: "json"; value: unknown }
  | { kind: "query"; compute: () => unknown };

export interface RouteRequest {
  params: string[];
  query: URLSearchParams;
  /** The parsed JSON body (PUT routes); undefined when empty. */
  body: () => Promise<unknown>;
}

export interface Route {
  method: "GET" | "PUT";
  pattern: RegExp;
  handle(request: RouteRequest): RouteResult | Promise<RouteResult>;
}

export interface RegistryApiDeps {
  state: RegistryState;
  checks: CheckRunner;
  logger: Logger;
}

const json = (value: unknown): RouteResult => ({ kind: "json", value });
const query = (compute: () => unknown): RouteResult => ({ kind: "query", compute });
/** Consul answers successful writes with an empty body. */
const ok = json(undefined);

/** Go's strconv.ParseBool, with a present-but-empty parameter meaning true (?passing). */
function boolParam(params: URLSearchParams, name: string): boolean {
  const raw = params.get(name);
  if (raw === null) return false;
  if (["", "1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  throw new RegistryHttpError(400, `Invalid value for ?${name}`);
}

function hasTags(tags: string[], wanted: string[]): boolean {
  const lower = tags.map((t) => t.toLowerCase());
  return wanted.every((w) => lower.includes(w.toLowerCase()));
}

/** Consul's own words when maintenance is enabled without a reason. */
const defaultMaintenanceReason =
  "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.";

const truncateOutput = (text: string) =>
  text.length > maxOutputBytes ? `${text.slice(0, maxOutputBytes)} ...(truncated)` : text;

export function createRegistryRoutes({ state, checks, logger }: RegistryApiDeps): Route[] {
  const node = state.node;
  const checkViews = (records: CheckRecord[]) => records.map((c) => healthCheckView(c, node));
  const nodeChecks = () => state.checksOf("");

  function updateTtl(checkId: string, status: CheckStatus, output: string): RouteResult {
    const check = state.check(checkId);
    if (!check) {
      throw new RegistryHttpError(
        404,
        `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
      );
    }
    if (check.spec.kind !== "ttl" || check.serviceId === "") {
      throw new RegistryHttpError(500, `CheckID "${checkId}" does not have associated TTL`);
    }
    state.updateCheck(checkId, status, truncateOutput(output));
    checks.touched(checkId);
    return ok;
  }

  const ttlRoute = (verb: string, status: CheckStatus): Route => ({
    method: "PUT",
    pattern: new RegExp(`^/v1/agent/check/${verb}/(.+)$`),
    handle: ({ params, query: q }) => updateTtl(params[0] ?? "", status, q.get("note") ?? ""),
  });

  return [
    {
      method: "PUT",
      pattern: /^\/v1\/agent\/service\/register$/,
      async handle({ body, query: q }) {
        const { service, checks: specs } = parseServiceRegistration(await body());
        const known = state.service(service.id) !== undefined;
        state.register(service, specs, boolParam(q, "replace-existing-checks"));
        checks.sync();
        if (!known) {
          logger.info("service registered", {
            id: service.id,
            service: service.name,
            address: `${service.address || node.address}:${service.port}`,
          });
        }
        return ok;
      },
    },
    {
      method: "PUT",
      pattern: /^\/v1\/agent\/service\/deregister\/(.+)$/,
      handle({ params }) {
        const id = params[0] ?? "";
        if (!state.deregister(id)) {
          throw new RegistryHttpError(
            404,
            `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
          );
        }
        checks.sync();
        logger.info("service deregistered", { id });
        return ok;
      },
    },
    {
      method: "PUT",
      pattern: /^\/v1\/agent\/service\/maintenance\/(.+)$/,
      handle({ params, query: q }) {
        const id = params[0] ?? "";
        const raw = q.get("enable");
        if (raw === null || raw === "")
          throw new RegistryHttpError(400, "Missing value for enable");
        let enable: boolean;
        try {
          enable = boolParam(q, "enable");
        } catch {
          throw new RegistryHttpError(400, `Invalid value for enable: "${raw}"`);
        }
        const reason = truncateOutput(q.get("reason") || defaultMaintenanceReason);
        if (!state.setMaintenance(id, enable, enable ? reason : "")) {
          throw new RegistryHttpError(404, `No service registered with ID "${id}"`);
        }
        logger.info(enable ? "service maintenance on" : "service maintenance off", {
          id,
          ...(enable ? { reason } : {}),
        });
        return ok;
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/agent\/service\/(.+)$/,
      handle({ params }) {
        const service = state.service(params[0] ?? "");
        if (!service) throw new RegistryHttpError(404, `unknown service ID: ${params[0]}`);
        return json(agentServiceView(service, node));
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/agent\/services$/,
      handle: () =>
        query(() =>
          Object.fromEntries(state.services().map((s) => [s.id, agentServiceView(s, node)])),
        ),
    },
    {
      method: "GET",
      pattern: /^\/v1\/agent\/checks$/,
      handle: () =>
        query(() =>
          Object.fromEntries(
            state
              .checks()
              .filter((c) => c.serviceId !== "")
              .map((c) => {
                const { CreateIndex: _c, ModifyIndex: _m, ...view } = healthCheckView(c, node);
                return [c.spec.id, view];
              }),
          ),
        ),
    },
    ttlRoute("pass", "passing"),
    ttlRoute("warn", "warning"),
    ttlRoute("fail", "critical"),
    {
      method: "PUT",
      pattern: /^\/v1\/agent\/check\/update\/(.+)$/,
      async handle({ params, body }) {
        const update = parseCheckUpdate(await body());
        return updateTtl(params[0] ?? "", update.status, update.output);
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/agent\/self$/,
      handle: () =>
        json({
          Config: {
            Datacenter: node.datacenter,
            NodeName: node.name,
            NodeID: node.id,
            Server: true,
            Revision: "",
            Version: "embedded",
          },
          Member: {
            Name: node.name,
            Addr: node.address,
            Port: 8301,
            Tags: { dc: node.datacenter, role: "consul", id: node.id },
            Status: 1,
          },
          Meta: {},
        }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/catalog\/services$/,
      handle: () =>
        query(() => {
          const byName = new Map<string, Set<string>>();
          for (const s of state.services()) {
            const tags = byName.get(s.name) ?? new Set<string>();
            for (const t of s.tags) tags.add(t);
            byName.set(s.name, tags);
          }
          return Object.fromEntries(
            [...byName.keys()].sort().map((name) => [name, [...(byName.get(name) ?? [])].sort()]),
          );
        }),
    },
    {
      method: "GET",
      pattern: /^\/v1\/catalog\/service\/(.+)$/,
      handle({ params, query: q }) {
        const tags = q.getAll("tag");
        return query(() =>
          state
            .servicesNamed(params[0] ?? "")
            .filter((s) => hasTags(s.tags, tags))
            .map((s) => catalogServiceView(s, node)),
        );
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/catalog\/nodes$/,
      handle: () => query(() => [nodeView(node, 1)]),
    },
    {
      method: "GET",
      pattern: /^\/v1\/health\/service\/(.+)$/,
      handle({ params, query: q }) {
        const tags = q.getAll("tag");
        const passing = boolParam(q, "passing");
        return query(() =>
          state
            .servicesNamed(params[0] ?? "")
            .filter((s) => hasTags(s.tags, tags))
            .map((s) => ({ service: s, checks: [...nodeChecks(), ...state.checksOf(s.id)] }))
            .filter((e) => !passing || e.checks.every((c) => c.status === "passing"))
            .map((e) => serviceEntryView(e.service, e.checks, node)),
        );
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/health\/checks\/(.+)$/,
      handle: ({ params }) =>
        query(() =>
          checkViews(
            state.checks().filter((c) => c.serviceId !== "" && c.serviceName === params[0]),
          ),
        ),
    },
    {
      method: "GET",
      pattern: /^\/v1\/health\/node\/(.+)$/,
      handle: ({ params }) =>
        query(() => (params[0] === node.name ? checkViews(state.checks()) : [])),
    },
    {
      method: "GET",
      pattern: /^\/v1\/health\/state\/(.+)$/,
      handle({ params }) {
        const wanted = params[0] ?? "";
        if (wanted !== "any" && !isCheckStatus(wanted)) {
          throw new RegistryHttpError(400, `Invalid check state '${wanted}'`);
        }
        return query(() =>
          checkViews(state.checks().filter((c) => wanted === "any" || c.status === wanted)),
        );
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/status\/leader$/,
      handle: () => json(`${node.address}:8300`),
    },
    {
      method: "GET",
      pattern: /^\/v1\/status\/peers$/,
      handle: () => json([`${node.address}:8300`]),
    },
  ];
}
