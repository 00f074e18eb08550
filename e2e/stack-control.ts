// The browser tests run in a worker process while the stack lives in global setup: a small
// loopback HTTP server lets tests stop and start the stack's processes by name.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Stack } from "../scripts/stack";
import { stackValue } from "./stack-env";

export interface StackControl {
  url: string;
  close(): Promise<void>;
}

export async function startStackControl(stack: Stack): Promise<StackControl> {
  const server = http.createServer((req, res) => {
    const match = /^\/processes\/([\w-]+)\/(stop|start)$/.exec(req.url ?? "");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/processes") {
      reply(200, stack.processNames());
      return;
    }
    if (req.method !== "POST" || match === null) {
      reply(404, { error: "not found" });
      return;
    }
    const [, name = "", action] = match;
    const run = action === "stop" ? stack.stopProcess(name) : stack.startProcess(name);
    run.then(
      () => reply(200, { ok: true }),
      (err: unknown) => reply(500, { error: err instanceof Error ? err.message : String(err) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Used by tests: stops or starts one stack process and waits until that is done. */
export async function controlProcess(action: "stop" | "start", name: string): Promise<void> {
  const base = stackValue("control");
  const res = await fetch(`${base}/processes/${name}/${action}`, { method: "POST" });
  if (!res.ok) throw new Error(`${action} ${name}: ${res.status} ${await res.text()}`);
}
