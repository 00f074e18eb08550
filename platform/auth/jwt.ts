// Service tokens on top of mTLS: one authenticator that checks a bearer JWT against a method's
// requirements, used by a Connect interceptor and by the router's raw forwarding path alike.
// Missing or invalid token -> UNAUTHENTICATED; valid token without the grant -> PERMISSION_DENIED.

import type { KeyObject } from "node:crypto";
import type { Http2ServerResponse, IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { type MethodRule, matchesAny, missingGrant, mostSpecific } from "./jwt-policy";
import { type JwtClaims, JwtError, verifyJwt } from "./jwt-token";

export interface JwtAuthOptions {
  /** Shared secret for HS256/384/512 tokens. */
  secret?: Buffer;
  /** Public key for RS256/384/512 or ES256/384/512 tokens. */
  publicKey?: KeyObject;
  /** Required "aud". Default: not checked. */
  audience?: string;
  /** Required "iss". Default: not checked. */
  issuer?: string;
  /** Clock skew allowed on exp/nbf in seconds. Default 30. */
  leewaySec?: number;
  /** Every non-public method needs a token. Default true. When false, only methods with a rule do. */
  required?: boolean;
  /** Per-method scope/role requirements; the most specific pattern applies. Default none. */
  rules?: MethodRule[];
  /** Methods served without a token (health checks, server reflection). Default: defaultPublicMethods. */
  publicMethods?: string[];
  /** Current time in ms; for tests. Default Date.now. */
  clock?: () => number;
}

export type AuthDecision =
  | { allowed: true; claims?: JwtClaims }
  | { allowed: false; code: Code.Unauthenticated | Code.PermissionDenied; message: string };

export interface JwtAuthenticator {
  /** Decides one call to `procedure` ("/pkg.Service/Method") given its authorization header. */
  check(procedure: string, authorization: string | undefined): AuthDecision;
}

/** grpc.health.v1: the registry's and load balancers' checks. */
export const healthCheckMethods = "/grpc.health.v1.Health/*";

/** Health checks and server reflection (grpcurl, grpcui). */
export const defaultPublicMethods = [
  healthCheckMethods,
  "/grpc.reflection.v1.ServerReflection/*",
  "/grpc.reflection.v1alpha.ServerReflection/*",
];

/** The verified claims of the caller, for handlers behind the interceptor. */
export const jwtClaimsKey = createContextKey<JwtClaims | undefined>(undefined, {
  description: "verified JWT claims",
});

export function createJwtAuthenticator(options: JwtAuthOptions): JwtAuthenticator {
  if (!options.secret && !options.publicKey) {
    throw new Error("JWT authentication needs a secret or a public key");
  }
  const required = options.required ?? true;
  const rules = options.rules ?? [];
  const publicMethods = options.publicMethods ?? defaultPublicMethods;
  const clock = options.clock ?? Date.now;

  return {
    check(procedure, authorization) {
      if (matchesAny(publicMethods, procedure)) return { allowed: true };
      const rule = mostSpecific(rules, procedure);
      const token = bearerToken(authorization);
      if (token === undefined) {
        if (!required && rule === undefined) return { allowed: true };
        return {
          allowed: false,
          code: Code.Unauthenticated,
          message: authorization ? "authorization must be a Bearer token" : "missing bearer token",
        };
      }
      let claims: JwtClaims;
      try {
        claims = verifyJwt(token, {
          ...(options.secret ? { secret: options.secret } : {}),
          ...(options.publicKey ? { publicKey: options.publicKey } : {}),
          ...(options.audience !== undefined ? { audience: options.audience } : {}),
          ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
          ...(options.leewaySec !== undefined ? { leewaySec: options.leewaySec } : {}),
          now: clock(),
        });
      } catch (err) {
        const message = err instanceof JwtError ? err.message : "token could not be verified";
        return { allowed: false, code: Code.Unauthenticated, message };
      }
      const missing = rule ? missingGrant(claims, rule) : undefined;
      if (missing !== undefined) {
        return { allowed: false, code: Code.PermissionDenied, message: `${procedure}: ${missing}` };
      }
      return { allowed: true, claims };
    },
  };
}

/** The token of an "Authorization: Bearer <token>" header; undefined for any other form. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization ?? "");
  return match?.[1];
}

/** Connect interceptor for servers built with startGrpcServer: refuses, or passes the claims on. */
export function createJwtInterceptor(auth: JwtAuthenticator): Interceptor {
  return (next) => async (req) => {
    const procedure = `/${req.service.typeName}/${req.method.name}`;
    const decision = auth.check(procedure, req.header.get("authorization") ?? undefined);
    if (!decision.allowed) throw new ConnectError(decision.message, decision.code);
    req.contextValues.set(jwtClaimsKey, decision.claims);
    return next(req);
  };
}

/** For raw HTTP/2 handlers (the router's pass-through): the decision for one incoming request. */
export function checkRawRequest(
  auth: JwtAuthenticator,
  req: { url: string; headers: IncomingHttpHeaders },
): AuthDecision {
  const path = req.url.split("?", 1)[0] ?? "";
  const header = req.headers.authorization;
  return auth.check(path, Array.isArray(header) ? header[0] : header);
}

/**
 * For raw HTTP/2 handlers: checks the request and, when it is refused, answers it (see
 * writeAuthDenial). Returns true when the call may go on, with the caller's claims.
 */
export function authorizeRawRequest(
  auth: JwtAuthenticator,
  req: { url: string; headers: IncomingHttpHeaders },
  res: Http2ServerResponse,
): Extract<AuthDecision, { allowed: true }> | undefined {
  const decision = checkRawRequest(auth, req);
  if (decision.allowed) return decision;
  writeAuthDenial(req, res, decision);
  return undefined;
}

/** grpc-message is percent-encoded: printable ASCII except "%" goes as is. */
export function encodeGrpcMessage(message: string): string {
  return [...Buffer.from(message, "utf8")]
    .map((b) =>
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

const connectCodeNames: Record<Code.Unauthenticated | Code.PermissionDenied, [string, number]> = {
  [Code.Unauthenticated]: ["unauthenticated", 401],
  [Code.PermissionDenied]: ["permission_denied", 403],
};

/**
 * Answers a refused raw request. gRPC and gRPC-Web get a Trailers-Only response (status in the
 * headers), which every client and proxy reads; other protocols get a Connect unary error.
 */
export function writeAuthDenial(
  req: { headers: IncomingHttpHeaders },
  res: Http2ServerResponse,
  decision: Extract<AuthDecision, { allowed: false }>,
): void {
  const contentType = String(req.headers["content-type"] ?? "");
  if (contentType.startsWith("application/grpc")) {
    // One HEADERS frame with END_STREAM: clients read grpc-status only from a frame that ends the stream.
    res.stream.respond(
      {
        ":status": 200,
        "content-type": contentType.split(";", 1)[0] ?? "application/grpc",
        "grpc-status": String(decision.code),
        "grpc-message": encodeGrpcMessage(decision.message),
      },
      { endStream: true },
    );
    return;
  }
  const [code, status] = connectCodeNames[decision.code];
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ code, message: decision.message }));
}

/** Client side: sends a bearer token on every call (the token may be refreshed by the getter). */
export function createBearerTokenInterceptor(token: string | (() => string)): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${typeof token === "string" ? token : token()}`);
    return next(req);
  };
}
