// What every routed call of one router shares: the dependencies, the client id → registry
// service mapping, the instances a service's calls may go to (never this router itself), why
// there are none, and reading the target id from a call's first message.
import { gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { JwtAuthenticator } from "../platform/auth/jwt";
import type { ServiceInstance } from "../platform/consul/service-watch";
import { type AttemptVerdict, addressOf, type Balancer } from "../platform/forwarding/balancer";
import type { FirstMessage } from "../platform/forwarding/first-message";
import { readStringField, WireFormatError } from "../platform/forwarding/protobuf-wire";
import type { RetryBudget } from "../platform/forwarding/retry-budget";
import type { AttemptFailureKind } from "../platform/h2/relayed-call";
import type { Logger } from "../platform/log";
import type { Admission } from "./admission";
import type { LinkedAgents } from "./agent-link/linked-agents";
import type { EndpointDirectory, ServiceView } from "./endpoint-directory";
import type { CallRecorder } from "./metrics/call-recorder";
import { type RoutedMethod, serviceNameFor } from "./routed-methods";

export interface RoutingDeps {
  directory: EndpointDirectory;
  balancer: Balancer;
  budget: RetryBudget;
  routerId: string;
  /** host:port this router is registered at: never forwarded to (it would loop). */
  selfAddress: () => string;
  linkedAgents: LinkedAgents | undefined;
  recorder: CallRecorder | undefined;
  /** Overload control: concurrency limits per instance and early refusal. Default none. */
  admission?: Admission;
  maxMessageBytes: number;
  /** Longest deadline accepted, in ms; 0 for no limit. */
  maxTimeoutMs: number;
  /** Hops a call may have taken through proxies before this one; past it, a loop is assumed. */
  maxHops?: number;
  /**
   * Service tokens: every call is checked before its body is read or anything is forwarded.
   * The authorization header still goes to the backend. Default none (no check).
   */
  auth?: JwtAuthenticator;
  logger: Logger;
}

/** Content types of the gRPC calls a router routes (other protocols go to Connect handlers). */
export const grpcContentTypes = new Set(["application/grpc", "application/grpc+proto"]);

/** The gRPC status for a failed attempt, as the balancer counts it. */
export function verdictFor(code: number, failure: AttemptFailureKind | undefined): AttemptVerdict {
  if (failure === "connect" || failure === "reset") return "transport";
  if (failure !== undefined || code === Code.Unavailable) return "failure";
  return "ok";
}

/** Where a service's calls may go, worked out once per registry answer. */
interface Candidates {
  /** The router's own address when this was worked out. */
  self: string;
  /** host:port of every instance but this router, or why there is none to use. */
  addresses: readonly string[] | ConnectError;
}

/** A routed call's target id and its first message, inflated when it came compressed. */
export interface Target {
  id: string;
  payload: Uint8Array;
}

/**
 * The target id in a routed call's first message, or why it cannot be read: a compressed
 * message is inflated first (gzip only, within maxBytes).
 */
export function readTarget(
  first: FirstMessage,
  encoding: string | undefined,
  routed: RoutedMethod,
  maxBytes: number,
): Target | ConnectError {
  let payload: Uint8Array = first.payload;
  if (first.compressed) {
    const name = encoding ?? "identity";
    if (name !== "gzip") {
      return name === "identity"
        ? new ConnectError("message flagged compressed without grpc-encoding", Code.InvalidArgument)
        : new ConnectError(`grpc-encoding "${name}" is not supported`, Code.Unimplemented);
    }
    try {
      payload = gunzipSync(payload, { maxOutputLength: maxBytes });
    } catch (err) {
      return new ConnectError(
        `cannot decompress the request: ${err instanceof Error ? err.message : String(err)}`,
        (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE"
          ? Code.ResourceExhausted
          : Code.InvalidArgument,
      );
    }
  }
  let id: string;
  try {
    id = readStringField(payload, routed.targetField);
  } catch (err) {
    const reason = err instanceof WireFormatError ? err.message : String(err);
    return new ConnectError(`malformed request message: ${reason}`, Code.InvalidArgument);
  }
  if (id === "")
    return new ConnectError(`${routed.targetFieldName} is required`, Code.InvalidArgument);
  return { id, payload };
}

/** What every call of one router shares. */
export class Routing {
  readonly maxHops: number;
  // Keyed by the registry answer's instance list, which stays the same object until it changes.
  private readonly candidatesByAnswer = new WeakMap<readonly ServiceInstance[], Candidates>();
  // Client id → registry service, per kind: the same few ids come with every call.
  private readonly services = new Map<string, string>();

  constructor(readonly deps: RoutingDeps) {
    this.maxHops = deps.maxHops ?? 8;
  }

  /** The registry service for a client id ("echo-agent" → "agent-echo"). */
  serviceFor(id: string, routed: RoutedMethod): string {
    const key = routed.kind + id;
    let service = this.services.get(key);
    if (service === undefined) {
      service = serviceNameFor(id, routed.kind);
      if (this.services.size >= 10_000) this.services.clear();
      this.services.set(key, service);
    }
    return service;
  }

  /** The instances a call may go to: never this router itself, unless a link here serves it. */
  candidates(view: ServiceView): readonly string[] | ConnectError {
    const self = this.deps.selfAddress();
    const cached = this.candidatesByAnswer.get(view.instances);
    if (cached !== undefined && cached.self === self) return cached.addresses;
    const others = view.instances.filter(
      (i) => addressOf(i) !== self && i.meta.router_id !== this.deps.routerId,
    );
    const addresses =
      others.length === 0 && view.instances.length > 0
        ? new ConnectError(
            `"${view.service}" is registered at this router (${self}) but no agent link for it is held here`,
            Code.Unavailable,
          )
        : others.map(addressOf);
    this.candidatesByAnswer.set(view.instances, { self, addresses });
    return addresses;
  }

  /** For a service with no instance in view (or none yet): why, or the instances once known. */
  async resolve(
    view: ServiceView | Promise<ServiceView>,
    id: string,
    method: RoutedMethod,
    service: string,
  ): Promise<readonly string[] | ConnectError> {
    const current = await view;
    if (current.instances.length > 0) return this.candidates(current);
    let registered: boolean;
    try {
      registered = await this.deps.directory.isRegistered(service);
    } catch (err) {
      return new ConnectError(
        `cannot resolve "${id}": registry unreachable (${err instanceof Error ? err.message : String(err)})`,
        Code.Unavailable,
      );
    }
    if (!registered) {
      return new ConnectError(
        `unknown ${method.kind} "${id}": no registry service "${service}"`,
        Code.NotFound,
      );
    }
    return new ConnectError(
      `${method.kind} "${id}" is known but has no healthy instance of "${service}" now${current.stale && current.heldSince === undefined ? " (registry unreachable)" : ""}; retry later`,
      Code.Unavailable,
    );
  }
}
