// Exec from the console: only admins may run commands, and the run is in the gateway's audit
// log with what ran, sharing its exec id with the router's exec audit.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleService, type InvokeEvent } from "../gen/agentplatform/v1/console_pb";
import { createLogger } from "../platform/log";
import { eventually } from "../platform/test-support/eventually";
import type { ExecAuditRecord } from "../router/agent-link/exec-audit";
import { linkedAgentsFactory } from "../router/agent-link/linked-agents-hub";
import { ensureLocalAgentToken } from "../router/agent-link/local-agent-tokens";
import type { Router } from "../router/router";
import {
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "../router/test-support/cluster";
import { natAgent } from "../services/nat-agent/nat-agent";
import { type DialInAgent, runDialInAgent } from "../services/sdk/dial-in-agent";
import { type Gateway, startGateway } from "./gateway";
import { quietLogger } from "./test-support/test-cluster";
import { createTokenStore, parseTokensVariable } from "./token-store";

let dir: string;
let reg: TestRegistry;
let router: Router;
let gateway: Gateway;
let agent: DialInAgent;
const routerAudit: ExecAuditRecord[] = [];

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };

const consoleAs = (token: string) =>
  createClient(
    ConsoleService,
    createConnectTransport({
      baseUrl: `http://${gateway.http.address}`,
      interceptors: [bearer(token)],
    }),
  );

const uname = {
  method: "/agentplatform.v1.ExecService/Exec",
  requestJson: JSON.stringify({ agentId: "nat-agent", command: "uname", args: ["-a"] }),
};

async function run(token: string): Promise<InvokeEvent[]> {
  const events: InvokeEvent[] = [];
  for await (const e of consoleAs(token).invoke(uname)) events.push(e);
  return events;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "invoke-exec-"));
  reg = await startTestRegistry();
  router = await startTestRouter(reg.consul, {
    linkedAgents: linkedAgentsFactory({
      tokens: { path: join(dir, "agent-link", "tokens") },
      heartbeatIntervalMs: 500,
      execAudit: { record: (r) => routerAudit.push(r), close: async () => {} },
    }),
  });
  agent = runDialInAgent({
    routerAddress: router.address,
    token: ensureLocalAgentToken("nat-agent", dir).token,
    agent: natAgent,
    logger: createLogger("test", { write: () => {} }),
    exec: { commands: [{ command: "uname", args: ["-a"] }] },
  });
  await agent.ready();
  gateway = await startGateway({
    consul: reg.consul,
    registryWait: "5s",
    logger: quietLogger,
    tokens: createTokenStore(parseTokensVariable("otto:operator:op-token,ada:admin:admin-token")),
    auditLogPath: join(dir, "audit.log"),
  });
});

afterAll(async () => {
  await agent.stop();
  await gateway.close(100);
  await router.close(100);
  await reg.registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Invoke ExecService.Exec", () => {
  it("refuses an operator, naming the admin role", async () => {
    const error = await run("op-token").then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(error?.code).toBe(Code.PermissionDenied);
    expect(error?.rawMessage).toMatch(/needs the admin role; "otto" has operator/);
  });

  it("runs for an admin, audited by the gateway and the router under one exec id", async () => {
    const events = await eventually(async () => {
      const e = await run("admin-token");
      const last = e.at(-1)?.event;
      return last?.case === "result" && last.value.code === "OK" ? e : false;
    });
    const messages = events.flatMap((e) =>
      e.event.case === "message" ? [JSON.parse(e.event.value.json)] : [],
    );
    expect(Buffer.from(messages[0].output.data, "base64").toString()).toMatch(/^Linux /);
    expect(messages.at(-1).result).toMatchObject({ exitCode: 0, reason: "EXEC_END_REASON_EXITED" });

    const entry = await eventually(() => {
      const lines = readFileSync(join(dir, "audit.log"), "utf8").trim().split("\n");
      const found = lines
        .map((l) => JSON.parse(l))
        .find((l: { subject: string; code: string }) => l.subject === "ada" && l.code === "OK");
      return found ?? false;
    });
    expect(entry).toMatchObject({
      method: "/agentplatform.v1.ExecService/Exec",
      target: "nat-agent",
      role: "admin",
    });
    expect(entry.detail).toMatch(
      /^uname -a → exit 0, out \d+(\.\d)? (B|KiB), err 0 B; exec [0-9a-f-]{36}$/,
    );
    const execId = /exec ([0-9a-f-]{36})$/.exec(entry.detail)?.[1];
    expect(routerAudit.find((r) => r.execId === execId)).toMatchObject({
      agentId: "nat-agent",
      command: "uname",
      code: "OK",
      exitCode: 0,
    });
  });
});
