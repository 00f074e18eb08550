import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleService, type InvokeEvent, Role } from "../gen/agentplatform/v1/console_pb";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { eventually } from "../platform/test-support/eventually";
import { startTestCluster, type TestCluster } from "./test-support/test-cluster";
import {
  createTokenStore,
  digestToken,
  loadTokenStore,
  parseTokensFile,
  parseTokensVariable,
} from "./token-store";

let cluster: TestCluster;
let dir: string;
let auditPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gateway-auth-"));
  auditPath = join(dir, "audit", "audit.log");
  cluster = await startTestCluster({
    tokens: createTokenStore(
      parseTokensVariable("vera:viewer:view-token,otto:operator:op-token,ada:admin:admin-token"),
    ),
    auditLogPath: auditPath,
  });
  const admin = client("admin-token");
  await eventually(async () => {
    const { services } = await admin.listServices({});
    const ready = ["agent-echo", "grpc-router"].every(
      (name) => (services.find((s) => s.name === name)?.passingInstances ?? 0) > 0,
    );
    return ready;
  });
});

afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

const bearer =
  (token: string | undefined): Interceptor =>
  (next) =>
  (req) => {
    if (token !== undefined) req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };

function client(token?: string) {
  return createClient(
    ConsoleService,
    createGrpcWebTransport({ baseUrl: cluster.baseUrl, interceptors: [bearer(token)] }),
  );
}

const executeEcho = {
  method: "/agentplatform.v1.AgentService/ExecuteTask",
  requestJson: JSON.stringify({ agentId: "echo-agent", input: "audited" }),
};

async function invokeError(token: string | undefined): Promise<ConnectError | undefined> {
  try {
    for await (const _ of client(token).invoke(executeEcho)) {
      // drain
    }
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

describe("roles", () => {
  it("tells each caller who they are; GetSession works without a token", async () => {
    const anonymous = await client().getSession({});
    expect(anonymous).toMatchObject({ authEnabled: true, role: Role.UNSPECIFIED, subject: "" });
    const viewer = await client("view-token").getSession({});
    expect(viewer).toMatchObject({ authEnabled: true, role: Role.VIEWER, subject: "vera" });
    const bad = await client("wrong")
      .getSession({})
      .catch((e: unknown) => ConnectError.from(e));
    expect((bad as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses reads without a token and with an invalid one", async () => {
    for (const token of [undefined, "wrong"]) {
      const err = await client(token)
        .listServices({})
        .catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code, String(token)).toBe(Code.Unauthenticated);
    }
    expect((await client("view-token").listServices({})).services.length).toBeGreaterThan(0);
  });

  it("lets a viewer read but not Invoke, naming the role needed", async () => {
    const err = await invokeError("view-token");
    expect(err?.code).toBe(Code.PermissionDenied);
    expect(err?.message).toContain("operator");
    const platform = createClient(
      AgentService,
      createConnectTransport({ baseUrl: cluster.baseUrl, interceptors: [bearer("view-token")] }),
    );
    const direct = await platform
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((direct as ConnectError).code).toBe(Code.PermissionDenied);
  });

  it("lets an operator Invoke and writes the run to the audit log with subject and outcome", async () => {
    const events: InvokeEvent[] = [];
    for await (const e of client("op-token").invoke(executeEcho)) events.push(e);
    const result = events.at(-1)?.event;
    expect(result?.case === "result" && result.value.code).toBe("OK");

    const lines = await eventually(() => {
      const text = readFileSync(auditPath, "utf8").trim();
      const parsed = text === "" ? [] : text.split("\n").map((l) => JSON.parse(l));
      const mine = parsed.filter((l: { subject: string }) => l.subject === "otto");
      return mine.length > 0 ? mine : false;
    });
    expect(lines.at(-1)).toMatchObject({
      subject: "otto",
      role: "operator",
      method: "/agentplatform.v1.AgentService/ExecuteTask",
      target: "echo-agent",
      code: "OK",
      peer: "127.0.0.1",
    });
    expect(lines.at(-1)?.durationMs).toBeGreaterThan(0);
  });

  it("audits refused runs too, and shows the log only to admins", async () => {
    await invokeError("view-token");
    const denied = await client("op-token")
      .listAuditEntries({ limit: 10 })
      .catch((e: unknown) => ConnectError.from(e));
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    expect((denied as ConnectError).message).toContain("admin");

    const { entries } = await client("admin-token").listAuditEntries({ limit: 50 });
    const viewerRun = entries.find((e) => e.subject === "vera");
    expect(viewerRun).toMatchObject({ role: Role.VIEWER, code: "PERMISSION_DENIED" });
    const operatorRun = entries.find((e) => e.subject === "otto");
    expect(operatorRun).toMatchObject({ role: Role.OPERATOR, code: "OK", target: "echo-agent" });
    // Newest first.
    const times = entries.map((e) => Number(e.atMs));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe("token sources", () => {
  it("reads JSON and line files, accepts sha256 digests, and names bad entries", () => {
    const digest = digestToken("secret-2").toString("hex");
    const lines = parseTokensFile(
      `# operators\nsecret-1 operator Alice Smith\nsha256:${digest} admin bob\n`,
      "t.txt",
    );
    const store = createTokenStore(lines);
    expect(store.authenticate("secret-1")).toEqual({ subject: "Alice Smith", role: Role.OPERATOR });
    expect(store.authenticate("secret-2")).toEqual({ subject: "bob", role: Role.ADMIN });
    expect(store.authenticate("secret-3")).toBeUndefined();

    const json = createTokenStore(
      parseTokensFile(JSON.stringify([{ token: "j", role: "viewer", subject: "v" }]), "t.json"),
    );
    expect(json.authenticate("j")).toEqual({ subject: "v", role: Role.VIEWER });

    expect(() => parseTokensFile("tok superuser carol", "t.txt")).toThrow(/t.txt line 1.*role/);
    expect(() => parseTokensVariable("dave:viewer")).toThrow(/GATEWAY_TOKENS entry 1/);

    const file = join(dir, "tokens.txt");
    writeFileSync(file, "file-token viewer erin\n");
    const both = loadTokenStore({ file, variable: "frank:admin:env-token" });
    expect(both.size).toBe(2);
    expect(both.authenticate("env-token")?.subject).toBe("frank");
  });
});
