// Which role each browser-endpoint method needs, and which calls count as runs.
import { ConsoleService, Role } from "../gen/agentplatform/v1/console_pb";
import { AgentService, TaskWorker, ToolService } from "../gen/agentplatform/v1/platform_pb";
import { TraceService } from "../gen/agentplatform/v1/trace_pb";

/** Platform services the browser endpoint forwards to the routers. */
export const forwardedServices = [AgentService, ToolService, TaskWorker] as const;

const forwardedNames = new Set<string>(forwardedServices.map((s) => s.typeName));

const consoleRoles: Record<string, Role | undefined> = {
  GetSession: undefined,
  ListServices: Role.VIEWER,
  WatchServices: Role.VIEWER,
  ListRouters: Role.VIEWER,
  ResolveTarget: Role.VIEWER,
  WatchMetrics: Role.VIEWER,
  Invoke: Role.OPERATOR,
  ListAuditEntries: Role.ADMIN,
};

/** The least role a method needs; undefined when anyone may call it, even without a token. */
export function requiredRole(serviceTypeName: string, methodName: string): Role | undefined {
  if (serviceTypeName === ConsoleService.typeName) {
    return methodName in consoleRoles ? consoleRoles[methodName] : Role.ADMIN;
  }
  if (forwardedNames.has(serviceTypeName)) return Role.OPERATOR;
  if (serviceTypeName === TraceService.typeName) return Role.VIEWER;
  return Role.ADMIN;
}

/** Runs execute something on the platform: they are rate limited and audited. */
export function isRun(serviceTypeName: string, methodName: string): boolean {
  return (
    forwardedNames.has(serviceTypeName) ||
    (serviceTypeName === ConsoleService.typeName && methodName === "Invoke")
  );
}
