// Registers, updates and removes made-up service instances in the stack's registry over its
// Consul HTTP API, so tests can make health change on purpose.
import { stackValue } from "./stack-env";

async function put(path: string, body?: unknown, allowMissing = false): Promise<void> {
  const registry = stackValue("registry");
  const base = /^https?:\/\//.test(registry) ? registry : `http://${registry}`;
  const res = await fetch(`${base}${path}`, {
    method: "PUT",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (allowMissing && res.status === 404) return;
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

/** A tool instance with one TTL check that starts passing; its check id is `<id>:ttl`. */
export async function registerTtlInstance(name: string, id: string, port: number): Promise<void> {
  await put("/v1/agent/service/register", {
    ID: id,
    Name: name,
    Tags: ["tool"],
    Address: "127.0.0.1",
    Port: port,
    Meta: { description: "registered by a browser test" },
    Check: { CheckID: `${id}:ttl`, Name: "Heartbeat", TTL: "10m", Status: "passing" },
  });
}

export async function setTtlStatus(
  id: string,
  status: "passing" | "warning" | "critical",
): Promise<void> {
  await put(`/v1/agent/check/update/${encodeURIComponent(`${id}:ttl`)}`, {
    Status: status,
    Output: `set to ${status} by a browser test`,
  });
}

/** Removes an instance; one already gone is fine. */
export async function deregister(id: string): Promise<void> {
  await put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`, undefined, true);
}
