// What kind of component a registry service is, and the client id callers use for it.
import { routerServiceName } from "../platform/router-transport";

export type ServiceKind = "agent" | "tool" | "worker" | "router" | "other";

const platformKinds = ["agent", "tool", "worker"] as const;

export function serviceKind(name: string, tags: readonly string[]): ServiceKind {
  if (name === routerServiceName || tags.includes("router")) return "router";
  for (const kind of platformKinds) if (tags.includes(kind)) return kind;
  for (const kind of platformKinds) if (name.startsWith(`${kind}-`)) return kind;
  return "other";
}

/** "agent-echo" → "echo-agent"; empty for routers and other services. */
export function clientIdFor(name: string, kind: ServiceKind): string {
  if (kind === "router" || kind === "other") return "";
  const prefix = `${kind}-`;
  const base = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  return `${base}-${kind}`;
}

/**
 * The registry name for a client id or a registry name: "echo-agent" → "agent-echo".
 * With a kind, "echo" → "agent-echo" too.
 */
export function serviceNameFor(target: string, kind = ""): string {
  const known = platformKinds.find((k) => k === kind);
  if (known) {
    if (target.startsWith(`${known}-`)) return target;
    const suffix = `-${known}`;
    return `${known}-${target.endsWith(suffix) ? target.slice(0, -suffix.length) : target}`;
  }
  for (const k of platformKinds) {
    if (target.startsWith(`${k}-`)) return target;
    if (target.endsWith(`-${k}`)) return `${k}-${target.slice(0, -(k.length + 1))}`;
  }
  return target;
}
