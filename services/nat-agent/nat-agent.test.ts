import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecService } from "../../gen/agentplatform/v1/exec_pb";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { eventually } from "../../platform/test-support/eventually";
import {
  type LinkedAgentsHub,
  linkedAgentsFactory,
} from "../../router/agent-link/linked-agents-hub";
import { ensureLocalAgentToken } from "../../router/agent-link/local-agent-tokens";
import type { Router } from "../../router/router";
import {
  grpcTransport,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "../../router/test-support/cluster";
import { splitSentences, summarise } from "./nat-agent";

const root = new URL("../..", import.meta.url).pathname;
let dataDir: string;
let reg: TestRegistry;
let router: Router;
let hub: LinkedAgentsHub;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "nat-agent-"));
  reg = await startTestRegistry();
  router = await startTestRouter(reg.consul, {
    linkedAgents: (self) => {
      hub = linkedAgentsFactory({
        tokens: { path: join(dataDir, "agent-link", "tokens") },
        heartbeatIntervalMs: 500,
      })(self);
      return hub;
    },
  });
});
afterAll(async () => {
  await router.close(100);
  await reg.registry.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("summarise", () => {
  it("keeps the sentences about the text's main subject, in their order", () => {
    const text =
      "Rust is a language. Rust has a borrow checker. The weather was nice. Rust compiles to native code.";
    expect(splitSentences(text)).toHaveLength(4);
    const two = summarise(text, 2);
    expect(two).toHaveLength(2);
    expect(two.every((s) => s.startsWith("Rust"))).toBe(true);
    expect(text.indexOf(two[0] ?? "")).toBeLessThan(text.indexOf(two[1] ?? ""));
  });
});

describe("nat-agent process", () => {
  it("links to a router with the locally generated token and serves tasks through it", async () => {
    const { tokenFile } = ensureLocalAgentToken("nat-agent", dataDir);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "services/nat-agent/main.ts")],
      {
        cwd: root,
        env: {
          ...process.env,
          AGENT_LINK_ROUTER_ADDRESS: router.address,
          AGENT_TOKEN_FILE: tokenFile,
          NAT_AGENT_DATA_DIR: join(dataDir, "nat-agent"),
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    try {
      const agents = createClient(AgentService, grpcTransport(router.address));
      const res = await eventually(
        () =>
          agents.executeTask(
            {
              agentId: "nat-agent",
              input: "quiet please. thank you.",
              parameters: { mode: "uppercase" },
            },
            { timeoutMs: 2000 },
          ),
        { what: "nat-agent linked", timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(res.output).toBe("QUIET PLEASE. THANK YOU.");
      expect(hub.links().map((l) => l.agentId)).toEqual(["nat-agent"]);

      // Its allowlist lets `uname -a` run and refuses anything else.
      const exec = createClient(ExecService, grpcTransport(router.address));
      let output = "";
      let exitCode: number | undefined;
      for await (const r of exec.exec({ agentId: "nat-agent", command: "uname", args: ["-a"] })) {
        if (r.event.case === "output") output += Buffer.from(r.event.value.data).toString();
        if (r.event.case === "result" && r.event.value.status.case === "exitCode") {
          exitCode = r.event.value.status.value;
        }
      }
      expect(output).toMatch(/^Linux /);
      expect(exitCode).toBe(0);
      const refused = await (async () => {
        try {
          for await (const _ of exec.exec({
            agentId: "nat-agent",
            command: "cat",
            args: ["/etc/passwd"],
          })) {
            // nothing is expected
          }
        } catch (err) {
          return ConnectError.from(err);
        }
        return undefined;
      })();
      expect(refused?.code).toBe(Code.PermissionDenied);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await eventually(() => hub.linkCount() === 0, { what: "link closed", timeoutMs: 5000 });
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);
});
