// The browser endpoint's checks around every call: requests in progress per client IP, the
// audit record of runs, bearer-token roles, and the run rate per caller.
import type { DescMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  type Interceptor,
  type StreamResponse,
} from "@connectrpc/connect";
import { Role } from "../gen/agentplatform/v1/console_pb";
import { auditCategory, isRun, requiredRole } from "./access-policy";
import type { AuditLog } from "./audit-log";
import { type Caller, callerKey, peerKey, roleNames } from "./caller";
import type { GatewayLimits } from "./gateway-config";
import { createRateLimiter } from "./rate-limiter";
import { errorCodeName } from "./status-codes";
import type { TokenStore } from "./token-store";

/** What a run did, filled in by the handler when it knows better than the interceptor. */
export interface AuditNote {
  /** Full method path of what ran. */
  method: string;
  /** Client id of the target, e.g. "echo-agent". */
  target: string;
  /** The outcome when it differs from the call's own status (Invoke reports the upstream code). */
  code?: string;
  /** The status message when not OK. */
  message?: string;
  /** The router that served the call, and the instance when known. */
  router?: string;
  instance?: string;
  /** Request metadata sent upstream (redacted by the log). */
  metadata?: Record<string, string>;
  /** What an action did. */
  detail?: string;
}

export const auditNoteKey = createContextKey<AuditNote | undefined>(undefined, {
  description: "audit note",
});

const targetFields = ["agentId", "toolId", "workerId"];

/** The client id a platform request is addressed to, from agent_id, tool_id or worker_id. */
export function targetOf(message: unknown, schema: DescMessage): string {
  const record = message as Record<string, unknown>;
  for (const field of schema.fields) {
    if (!targetFields.includes(field.localName)) continue;
    const value = record[field.localName];
    if (typeof value === "string" && value !== "") return value;
  }
  return "";
}

export interface BrowserInterceptorOptions {
  tokens: TokenStore;
  limits: GatewayLimits;
  audit: AuditLog;
}

export function createBrowserInterceptors(options: BrowserInterceptorOptions): Interceptor[] {
  const { tokens, limits, audit } = options;
  const activeByPeer = new Map<string, number>();
  const limiter = createRateLimiter({ perSecond: limits.runsPerSecond, burst: limits.runBurst });

  const perPeerLimit: Interceptor = (next) => async (req) => {
    const peer = req.contextValues.get(peerKey);
    const active = activeByPeer.get(peer) ?? 0;
    if (active >= limits.maxStreamsPerIp) {
      throw new ConnectError(
        `too many requests in progress from ${peer || "this client"}: at most ${limits.maxStreamsPerIp} at once; close some streams and retry`,
        Code.ResourceExhausted,
      );
    }
    activeByPeer.set(peer, active + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (activeByPeer.get(peer) ?? 1) - 1;
      if (left <= 0) activeByPeer.delete(peer);
      else activeByPeer.set(peer, left);
    };
    // The handler signal aborts when the call ends for any reason, completion included.
    req.signal.addEventListener("abort", release, { once: true });
    try {
      const res = await next(req);
      if (!res.stream) release();
      return res;
    } catch (err) {
      release();
      throw err;
    }
  };

  const auditCalls: Interceptor = (next) => async (req) => {
    const category = auditCategory(req.service.typeName, req.method.name);
    if (category === undefined) return next(req);
    const started = performance.now();
    const note: AuditNote = { method: `/${req.service.typeName}/${req.method.name}`, target: "" };
    req.contextValues.set(auditNoteKey, note);
    let written = false;
    const write = (code: string, message = "") => {
      if (written) return;
      written = true;
      const caller = req.contextValues.get(callerKey);
      const finalCode = note.code ?? code;
      audit.record({
        atMs: BigInt(Date.now()),
        category: note.method.startsWith("/agentplatform.v1.ExecService/") ? "exec" : category,
        subject: caller.subject,
        role: caller.role,
        method: note.method,
        target: note.target,
        code: finalCode,
        message: finalCode === "OK" ? "" : (note.message ?? message),
        durationMs: performance.now() - started,
        peer: req.contextValues.get(peerKey),
        router: note.router ?? "",
        instance: note.instance ?? "",
        metadata: note.metadata ?? {},
        detail: note.detail ?? "",
      });
    };
    if (req.stream) {
      const input = req.message;
      const schema = req.method.input;
      req = {
        ...req,
        message: (async function* () {
          for await (const m of input) {
            if (note.target === "") note.target = targetOf(m, schema);
            yield m;
          }
        })(),
      };
    } else if (note.target === "") {
      note.target = targetOf(req.message, req.method.input);
    }
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      write(errorCodeName(err), ConnectError.from(err).rawMessage);
      throw err;
    }
    if (!res.stream) {
      write("OK");
      return res;
    }
    const output = res.message;
    // A stream that ends before anyone reads it never runs the generator below: record it
    // once the call is over, late enough that a normal ending has been written first.
    req.signal.addEventListener("abort", () => setTimeout(() => write("CANCELLED"), 1000).unref(), {
      once: true,
    });
    const tracked: StreamResponse = {
      ...res,
      message: (async function* () {
        let outcome = "CANCELLED";
        try {
          yield* output;
          outcome = "OK";
        } catch (err) {
          outcome = errorCodeName(err);
          note.message ??= ConnectError.from(err).rawMessage;
          throw err;
        } finally {
          write(outcome);
        }
      })(),
    };
    return tracked;
  };

  const authorize: Interceptor = (next) => async (req) => {
    const peer = req.contextValues.get(peerKey);
    const needed = requiredRole(req.service.typeName, req.method.name);
    const path = `${req.service.typeName}/${req.method.name}`;
    if (!tokens.enabled) {
      req.contextValues.set(callerKey, {
        subject: "anonymous",
        role: Role.ADMIN,
        authEnabled: false,
        peer,
      });
      return next(req);
    }
    const header = req.header.get("authorization")?.trim() ?? "";
    let caller: Caller = { subject: "anonymous", role: Role.UNSPECIFIED, authEnabled: true, peer };
    if (header !== "") {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1]) {
        throw new ConnectError(
          'the Authorization header must be "Bearer <token>"',
          Code.Unauthenticated,
        );
      }
      const identity = tokens.authenticate(match[1]);
      if (!identity) throw new ConnectError("the bearer token is not valid", Code.Unauthenticated);
      caller = { ...identity, authEnabled: true, peer };
    }
    req.contextValues.set(callerKey, caller);
    if (needed === undefined) return next(req);
    if (caller.role === Role.UNSPECIFIED) {
      throw new ConnectError(
        `${path} needs a bearer token (Authorization: Bearer <token>) with the ${roleNames[needed]} role`,
        Code.Unauthenticated,
      );
    }
    if (caller.role < needed) {
      throw new ConnectError(
        `${path} needs the ${roleNames[needed]} role; "${caller.subject}" has ${roleNames[caller.role]}`,
        Code.PermissionDenied,
      );
    }
    return next(req);
  };

  const rateLimitRuns: Interceptor = (next) => async (req) => {
    if (!isRun(req.service.typeName, req.method.name)) return next(req);
    const caller = req.contextValues.get(callerKey);
    const byToken = caller.authEnabled && caller.role !== Role.UNSPECIFIED;
    const key = byToken ? `token:${caller.subject}` : `ip:${caller.peer}`;
    const waitMs = limiter.take(key);
    if (waitMs > 0) {
      throw new ConnectError(
        `rate limit: at most ${limits.runsPerSecond} runs a second (bursts of ${limits.runBurst}) per ${byToken ? "token" : "client IP"}; retry in ${waitMs} ms`,
        Code.ResourceExhausted,
      );
    }
    return next(req);
  };

  // The first interceptor is the outermost.
  return [perPeerLimit, auditCalls, authorize, rateLimitRuns];
}
