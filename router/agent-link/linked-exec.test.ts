// ExecService.Exec end to end with real processes: a dial-in agent links through the front door
// to a router, and callers run commands on it through the front door.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FrontDoor, startFrontDoor } from "../../gateway/front-door";
import {
  ExecEndReason,
  ExecRequestSchema,
  type ExecResponse,
  ExecResponseSchema,
  ExecService,
  ExecStream,
} from "../../gen/agentplatform/v1/exec_pb";
import { AgentLink, AgentMessageSchema } from "../../gen/agentplatform/v1/link_pb";
import { createBearerTokenInterceptor } from "../../platform/auth/jwt";
import { readJwtConfig } from "../../platform/auth/jwt-config";
import { signJwt } from "../../platform/auth/jwt-token";
import { EnvReader } from "../../platform/config";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import { natAgent } from "../../services/nat-agent/nat-agent";
import { type DialInAgent, runDialInAgent } from "../../services/sdk/dial-in-agent";
import type { ExecPolicyOptions } from "../../services/sdk/exec/exec-policy";
import type { Router } from "../router";
import {
  grpcFrame,
  grpcTransport,
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "../test-support/cluster";
import type { ExecAuditRecord } from "./exec-audit";
import { type LinkedAgentsHub, linkedAgentsFactory } from "./linked-agents-hub";
import { ensureLocalAgentToken } from "./local-agent-tokens";

let dir: string;
let workDir: string;
let reg: TestRegistry;
let router: Router;
let hub: LinkedAgentsHub;
let door: FrontDoor;
const audit: ExecAuditRecord[] = [];
const agents: DialInAgent[] = [];

const policy = (): ExecPolicyOptions => ({
  commands: [
    // Scripts written by the tests; a real allowlist would never let sh through.
    { command: "sh", args: [/.*/s], maxArgs: 2 },
    { command: "uname", args: ["-a"] },
    { command: "seq", args: [/\d{1,9}/] },
    { command: "ls", args: ["-l", { pathUnder: [workDir] }] },
  ],
  workingDirs: [workDir],
  env: ["GREETING"],
  maxOutputBytes: 8 * 1024 * 1024,
  maxRunMs: 30_000,
  killGraceMs: 500,
});

/** A TCP relay whose connections the test can cut, to drop a link without either end closing it. */
async function startRelay(target: string) {
  const [host, port] = target.split(":");
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const dial = (agentId: string, routerAddress: string, exec: ExecPolicyOptions | undefined) => {
  const a = runDialInAgent({
    routerAddress,
    agentId,
    token: ensureLocalAgentToken(agentId, dir).token,
    agent: { ...natAgent, name: agentId.replace(/-agent$/, "") },
    backoff: { initialMs: 100, maxMs: 500 },
    logger: createLogger("test", { write: () => {} }),
    ...(exec ? { exec } : {}),
  });
  agents.push(a);
  return a;
};

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The first ExecResponse on a raw HTTP/2 call, however its bytes were split into frames. */
function firstResponse(call: http2.ClientHttp2Stream): Promise<ExecResponse> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (bytes.length < 5 || bytes.length < 5 + bytes.readUInt32BE(1)) return;
      call.off("data", onData);
      resolve(fromBinary(ExecResponseSchema, bytes.subarray(5, 5 + bytes.readUInt32BE(1))));
    };
    call.on("data", onData);
  });
}

/** What an output response says, as text. */
const outputText = (response: ExecResponse | undefined) =>
  response?.event.case === "output" ? Buffer.from(response.event.value.data).toString() : "";

/** User + system CPU time of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const execClient = () => createClient(ExecService, grpcTransport(door.address));

const text = (responses: ExecResponse[], stream?: ExecStream) =>
  Buffer.concat(
    responses.flatMap((r) =>
      r.event.case === "output" && (stream === undefined || r.event.value.stream === stream)
        ? [r.event.value.data]
        : [],
    ),
  ).toString("utf8");

const resultOf = (responses: ExecResponse[]) => {
  const last = responses.at(-1);
  return last?.event.case === "result" ? last.event.value : undefined;
};

async function collect(request: Parameters<ReturnType<typeof execClient>["exec"]>[0]) {
  const out: ExecResponse[] = [];
  for await (const r of execClient().exec(request, { timeoutMs: 20_000 })) out.push(r);
  return out;
}

async function errorOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "linked-exec-"));
  workDir = join(dir, "work");
  mkdirSync(join(workDir, "sub"), { recursive: true });
  for (const id of ["shell-agent", "plain-agent", "relay-agent", "old-agent"])
    ensureLocalAgentToken(id, dir);
  reg = await startTestRegistry();
  router = await startTestRouter(reg.consul, {
    linkedAgents: (self) => {
      hub = linkedAgentsFactory({
        tokens: { path: join(dir, "agent-link", "tokens") },
        heartbeatIntervalMs: 200,
        registryTtlMs: 3000,
        offlineGraceMs: 1500,
        execOutputWindowBytes: 64 * 1024,
        execAudit: { record: (r) => audit.push(r), close: async () => {} },
      })(self);
      return hub;
    },
  });
  door = await startFrontDoor({
    consul: reg.consul,
    logger: quietLogger,
    watch: { maxBackoffMs: 300, wait: "5s" },
  });
  await eventually(async () => expect(door.routers()).toHaveLength(1));
  const shell = dial("shell-agent", door.address, policy());
  dial("plain-agent", door.address, undefined);
  await shell.ready();
  await Promise.all(agents.map((a) => a.ready()));
});

afterEach(() => {
  audit.length = 0;
});

afterAll(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await door.close(100);
  await router.close(100);
  await reg.registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ExecService.Exec on a dial-in agent", () => {
  it("runs an allowed command and ends with its exit code, audited", async () => {
    const out = await collect({ agentId: "shell-agent", command: "uname", args: ["-a"] });
    expect(text(out, ExecStream.STDOUT)).toMatch(/^Linux /);
    const result = resultOf(out);
    expect(result?.status).toEqual({ case: "exitCode", value: 0 });
    expect(result?.reason).toBe(ExecEndReason.EXITED);
    expect(Number(result?.stdoutBytes)).toBe(Buffer.byteLength(text(out)));
    expect(audit).toMatchObject([
      { agentId: "shell-agent", command: "uname", args: ["-a"], code: "OK", exitCode: 0 },
    ]);
  });

  it("streams stdout and stderr apart, passes allowed env, reports a failing exit code", async () => {
    const out = await collect({
      agentId: "shell-agent",
      command: "sh",
      args: ["-c", 'echo "$GREETING"; echo oops >&2; exit 3'],
      env: { GREETING: "hello" },
      workingDir: "sub",
    });
    expect(text(out, ExecStream.STDOUT)).toBe("hello\n");
    expect(text(out, ExecStream.STDERR)).toBe("oops\n");
    expect(resultOf(out)?.status).toEqual({ case: "exitCode", value: 3 });
  });

  it("delivers the first chunk while the command still runs", async () => {
    const stream = execClient().exec(
      { agentId: "shell-agent", command: "sh", args: ["-c", "echo $$; sleep 3; echo done"] },
      { timeoutMs: 20_000 },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    const pid = Number(
      first.value?.event.case === "output" && Buffer.from(first.value.event.value.data).toString(),
    );
    expect(pid).toBeGreaterThan(0);
    // The command has not ended: its process is still there.
    expect(alive(pid)).toBe(true);
    const rest: ExecResponse[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
    expect(text(rest)).toBe("done\n");
    expect(resultOf(rest)?.pid).toBe(pid);
  });

  it("a caller's deadline kills the whole process group and ends DEADLINE_EXCEEDED", async () => {
    const client = execClient();
    const pids: number[] = [];
    const error = await errorOf(
      (async () => {
        for await (const r of client.exec(
          { agentId: "shell-agent", command: "sh", args: ["-c", "sleep 60 & echo $$ $!; wait"] },
          { timeoutMs: 3000 },
        )) {
          pids.push(...outputText(r).trim().split(" ").map(Number));
        }
      })(),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(pids).toHaveLength(2);
    await eventually(async () => expect(pids.filter(alive)).toEqual([]));
  });

  it("cancel kills the whole process group", async () => {
    const abort = new AbortController();
    const stream = execClient().exec(
      {
        agentId: "shell-agent",
        command: "sh",
        args: ["-c", "sleep 60 & echo $$ $!; wait"],
      },
      { signal: abort.signal, timeoutMs: 20_000 },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    const pids = (
      first.value?.event.case === "output"
        ? Buffer.from(first.value.event.value.data).toString()
        : ""
    )
      .trim()
      .split(" ")
      .map(Number);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    abort.abort();
    await expect(iterator.next()).rejects.toMatchObject({ code: Code.Canceled });
    await eventually(async () => expect(pids.filter(alive)).toEqual([]));
    await eventually(async () => expect(audit.map((a) => a.code)).toEqual(["CANCELLED"]));
  });

  it("a caller whose connection drops has its command killed", async () => {
    let socket: net.Socket | undefined;
    const session = http2.connect(`http://${door.address}`, {
      createConnection: () => {
        const [host, port] = door.address.split(":");
        socket = net.connect(Number(port), host);
        return socket;
      },
    });
    session.on("error", () => {});
    const call = session.request({
      ":method": "POST",
      ":path": "/agentplatform.v1.ExecService/Exec",
      "content-type": "application/grpc",
      te: "trailers",
    });
    call.on("error", () => {});
    call.end(
      grpcFrame(
        toBinary(
          ExecRequestSchema,
          create(ExecRequestSchema, {
            agentId: "shell-agent",
            command: "sh",
            args: ["-c", "sleep 60 & echo $$ $!; wait"],
          }),
        ),
      ),
    );
    const pids = outputText(await firstResponse(call))
      .trim()
      .split(" ")
      .map(Number);
    expect(pids.every(alive)).toBe(true);
    // The connection goes away without a word: no RST_STREAM, no GOAWAY.
    socket?.destroy();
    await eventually(async () => expect(pids.filter(alive)).toEqual([]));
  });

  it("refuses what the allowlist does not allow with PERMISSION_DENIED naming the rule", async () => {
    const cases: [Parameters<typeof collect>[0], RegExp][] = [
      [{ command: "rm", args: ["-rf", "/"] }, /commands rule: "rm" is not an allowed command/],
      [{ command: "ls", args: ["/etc"] }, /args of ls rule: argument "\/etc"/],
      [{ command: "ls", args: ["../../.."] }, /args of ls rule/],
      [{ command: "uname", args: ["-a"], workingDir: "/" }, /working_dirs rule/],
      [
        { command: "uname", args: ["-a"], env: { LD_PRELOAD: "x.so" } },
        /env rule: variable LD_PRELOAD/,
      ],
      [{ command: "uname -a", shell: true }, /shell rule/],
    ];
    for (const [request, message] of cases) {
      const error = await errorOf(collect({ agentId: "shell-agent", ...request }));
      expect(error.code, error.rawMessage).toBe(Code.PermissionDenied);
      expect(error.rawMessage).toMatch(message);
    }
    const off = await errorOf(collect({ agentId: "plain-agent", command: "uname" }));
    expect(off.code).toBe(Code.PermissionDenied);
    expect(off.rawMessage).toMatch(/exec is not enabled on this agent/);
    expect(audit.filter((a) => a.code === "PERMISSION_DENIED")).toHaveLength(cases.length + 1);
  });

  it("tells callers of an agent whose SDK predates exec, instead of waiting on it", async () => {
    const link = createClient(AgentLink, grpcTransport(door.address));
    const stop = new AbortController();
    async function* hello() {
      yield create(AgentMessageSchema, {
        message: { case: "hello", value: { agentId: "old-agent", maxConcurrentTasks: 2 } },
      });
      await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
    }
    const linked = (async () => {
      try {
        for await (const _ of link.connect(hello(), {
          signal: stop.signal,
          headers: {
            agent_id: "old-agent",
            agent_token: ensureLocalAgentToken("old-agent", dir).token,
          },
        })) {
          // accepted, heartbeats
        }
      } catch {
        // stopped
      }
    })();
    try {
      const error = await eventually(async () => {
        const e = await errorOf(collect({ agentId: "old-agent", command: "uname" }));
        if (e.code === Code.Unavailable) throw e; // not linked yet
        return e;
      });
      expect(error.code).toBe(Code.Unimplemented);
      expect(error.rawMessage).toMatch(/without exec support/);
    } finally {
      stop.abort();
      await linked;
    }
  });

  it("lists a directory inside the allowed one", async () => {
    const out = await collect({ agentId: "shell-agent", command: "ls", args: [workDir] });
    expect(text(out)).toBe("sub\n");
  });

  it("cuts output past the bound with a marker and stops the command", async () => {
    const out = await collect({
      agentId: "shell-agent",
      command: "seq",
      args: ["100000000"],
      maxOutputBytes: 100_000n,
    });
    const all = text(out);
    expect(all).toMatch(
      /\[output cut at 100000 bytes: the output limit was reached and the command was stopped\]\n$/,
    );
    const result = resultOf(out);
    expect(result?.truncated).toBe(true);
    expect(result?.reason).toBe(ExecEndReason.OUTPUT_LIMIT);
    expect(result?.stdoutBytes).toBe(100_000n);
    expect(all.startsWith("1\n2\n3\n")).toBe(true);
  });

  it("a reader that stops reading pauses the command instead of buffering its output", async () => {
    const session = http2.connect(`http://${door.address}`);
    session.on("error", () => {});
    const call = session.request({
      ":method": "POST",
      ":path": "/agentplatform.v1.ExecService/Exec",
      "content-type": "application/grpc",
      te: "trailers",
    });
    call.on("error", () => {});
    call.end(
      grpcFrame(
        toBinary(
          ExecRequestSchema,
          create(ExecRequestSchema, {
            agentId: "shell-agent",
            command: "sh",
            args: ["-c", "echo $$; exec seq 100000000"],
          }),
        ),
      ),
    );
    const first = await firstResponse(call);
    call.pause();
    const pid = Number(outputText(first).split("\n")[0]);
    expect(alive(pid)).toBe(true);
    // Once every window on the way is full, the command sleeps in write: its CPU time stops.
    await eventually(async () => {
      const before = cpuTicks(pid);
      await new Promise((r) => setTimeout(r, 500));
      expect(cpuTicks(pid)).toBe(before);
    });
    expect(alive(pid)).toBe(true);
    session.destroy();
    await eventually(async () => expect(alive(pid)).toBe(false));
  });

  it("a link lost mid-exec ends the call UNAVAILABLE and leaves no process behind", async () => {
    const relay = await startRelay(door.address);
    const agent = dial("relay-agent", relay.address, policy());
    await agent.ready();
    try {
      const stream = execClient().exec(
        { agentId: "relay-agent", command: "sh", args: ["-c", "sleep 60 & echo $$ $!; wait"] },
        { timeoutMs: 20_000 },
      );
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      const pids = (
        first.value?.event.case === "output"
          ? Buffer.from(first.value.event.value.data).toString()
          : ""
      )
        .trim()
        .split(" ")
        .map(Number);
      expect(pids.every(alive)).toBe(true);
      const linksBefore = agent.linksMade();
      relay.cut();
      await expect(iterator.next()).rejects.toMatchObject({ code: Code.Unavailable });
      await eventually(async () => expect(pids.filter(alive)).toEqual([]));
      // The agent links again and serves the next exec.
      await eventually(async () => expect(agent.linksMade()).toBeGreaterThan(linksBefore));
      const out = await eventually(() =>
        collect({ agentId: "relay-agent", command: "uname", args: ["-a"] }),
      );
      expect(resultOf(out)?.status).toEqual({ case: "exitCode", value: 0 });
    } finally {
      await relay.close();
    }
  });
});

describe("ExecService.Exec with service tokens", () => {
  const secret = "0123456789abcdef0123456789abcdef-exec";
  let guarded: Router;
  let agent: DialInAgent;
  const token = (claims: Record<string, unknown>) =>
    signJwt(
      { sub: "svc", exp: Math.floor(Date.now() / 1000) + 600, ...claims },
      { alg: "HS256", secret },
    );
  const execAs = (claims: Record<string, unknown> | undefined) =>
    createClient(
      ExecService,
      createGrpcTransport({
        baseUrl: `http://${guarded.address}`,
        ...(claims ? { interceptors: [createBearerTokenInterceptor(token(claims))] } : {}),
      }),
    );
  const guardedAudit: ExecAuditRecord[] = [];

  beforeAll(async () => {
    const env = new EnvReader({ JWT_SECRET: secret, JWT_METHOD_RULES: "*=scope:platform" });
    const auth = readJwtConfig(env);
    env.done("test");
    if (!auth) throw new Error("JWT config expected");
    ensureLocalAgentToken("guarded-agent", dir);
    guarded = await startTestRouter(reg.consul, {
      auth,
      linkedAgents: linkedAgentsFactory({
        tokens: { path: join(dir, "agent-link", "tokens") },
        heartbeatIntervalMs: 200,
        execAudit: { record: (r) => guardedAudit.push(r), close: async () => {} },
      }),
    });
    agent = dial("guarded-agent", guarded.address, policy());
    await agent.ready();
  });
  afterAll(async () => {
    await agent.stop();
    await guarded.close(100);
  });

  it("needs the exec scope, and the audit names the token's subject", async () => {
    const request = { agentId: "guarded-agent", command: "uname", args: ["-a"] };
    const drain = async (claims: Record<string, unknown> | undefined) => {
      for await (const _ of execAs(claims).exec(request)) {
        // output
      }
    };
    expect((await errorOf(drain(undefined))).code).toBe(Code.Unauthenticated);
    const platformOnly = await errorOf(drain({ scope: "platform" }));
    expect(platformOnly.code).toBe(Code.PermissionDenied);
    expect(platformOnly.rawMessage).toMatch(/missing scope exec/);
    expect(guardedAudit).toEqual([]);
    await drain({ sub: "ops-bot", scope: "exec" });
    expect(guardedAudit).toMatchObject([{ subject: "ops-bot", code: "OK", exitCode: 0 }]);
  });
});
