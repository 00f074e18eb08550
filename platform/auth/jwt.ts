// Service tokens on top of mTLS: one authenticator that checks a bearer JWT against a method's
// requirements, used by a Connect interceptor and by the router's raw forwarding path alike.
// Missing or invalid token -> UNAUTHENTICATED; valid token without the grant -> PERMISSION_DENIED.

import type { KeyObject } from "node:crypto";
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

export type AuthDenial = {
  allowed: false;
  code: Code.Unauthenticated | Code.PermissionDenied;
  message: string;
};

export type AuthDecision = { allowed: true; claims?: JwtClaims } | AuthDenial;

export interface JwtAuthenticator {
  /**
   * Decides one call to `procedure` ("/pkg.Service/Method") given its authorization header.
   * Answers may be shared between calls with the same token: read them, never change them.
   */
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

/** The scope a token needs to run commands on agents (ExecService), unless a rule says otherwise. */
export const execScope = "exec";

/**
 * Rules that hold whatever JWT_METHOD_RULES says, unless it names the same pattern (or the exact
 * method): running commands on agents needs its own grant, never just "any valid token".
 */
export const builtInMethodRules: readonly MethodRule[] = [
  { pattern: "/agentplatform.v1.ExecService/*", scopes: [execScope], roles: [] },
];

/** The verified claims of the caller, for handlers behind the interceptor. */
export const jwtClaimsKey = createContextKey<JwtClaims | undefined>(undefined, {
  description: "verified JWT claims",
});

/** What a procedure needs, worked out once per procedure. */
interface ProcedurePolicy {
  public: boolean;
  rule: MethodRule | undefined;
}

/** A token that verified, and the answers given for it per procedure. */
interface VerifiedToken {
  /** ms since the epoch from which the token is accepted (nbf minus leeway). */
  fromMs: number;
  /** ms since the epoch up to which the token is accepted (exp plus leeway). */
  untilMs: number;
  claims: JwtClaims;
  /** The answer for procedures without a rule, shared by every call with this token. */
  allowed: AuthDecision;
  /** Answers for procedures with a rule. */
  decisions: Map<string, AuthDecision>;
}

// Callers reuse a token for many calls (minted service tokens live 15 minutes), so a verified
// token is remembered until it expires: later calls cost a map lookup instead of a signature
// check and two JSON parses (~17 µs per call measured). Bounded, so neither random procedures
// nor a stream of distinct tokens grows memory without limit; tokens that fail are never kept.
const maxCachedTokens = 1024;
const maxCachedTokenLength = 2048;
const maxCachedProcedures = 256;

const missingToken: AuthDenial = {
  allowed: false,
  code: Code.Unauthenticated,
  message: "missing bearer token",
};
const notBearer: AuthDenial = {
  allowed: false,
  code: Code.Unauthenticated,
  message: "authorization must be a Bearer token",
};
const anonymous: AuthDecision = { allowed: true };

export function createJwtAuthenticator(options: JwtAuthOptions): JwtAuthenticator {
  if (!options.secret && !options.publicKey) {
    throw new Error("JWT authentication needs a secret or a public key");
  }
  const required = options.required ?? true;
  // Configured rules first: the most specific match is the first rule with that pattern.
  const rules = [...(options.rules ?? []), ...builtInMethodRules];
  const publicMethods = options.publicMethods ?? defaultPublicMethods;
  const clock = options.clock ?? Date.now;
  const leewaySec = options.leewaySec ?? 30;
  const verifyOptions = {
    ...(options.secret ? { secret: options.secret } : {}),
    ...(options.publicKey ? { publicKey: options.publicKey } : {}),
    ...(options.audience !== undefined ? { audience: options.audience } : {}),
    ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    leewaySec,
  };
  const policies = new Map<string, ProcedurePolicy>();
  const verified = new Map<string, VerifiedToken>();

  const policyOf = (procedure: string): ProcedurePolicy => {
    const known = policies.get(procedure);
    if (known !== undefined) return known;
    const policy = {
      public: matchesAny(publicMethods, procedure),
      rule: mostSpecific(rules, procedure),
    };
    if (policies.size < maxCachedProcedures) policies.set(procedure, policy);
    return policy;
  };

  const verify = (token: string, now: number): VerifiedToken | AuthDenial => {
    const cached = verified.get(token);
    if (cached !== undefined) {
      if (now >= cached.fromMs && now <= cached.untilMs) return cached;
      verified.delete(token);
    }
    let claims: JwtClaims;
    try {
      claims = Object.freeze(verifyJwt(token, { ...verifyOptions, now }));
    } catch (err) {
      const message = err instanceof JwtError ? err.message : "token could not be verified";
      return { allowed: false, code: Code.Unauthenticated, message };
    }
    const entry: VerifiedToken = {
      fromMs: typeof claims.nbf === "number" ? (claims.nbf - leewaySec) * 1000 : 0,
      // verifyJwt refuses tokens without exp; were one accepted, it would never be reused.
      untilMs: typeof claims.exp === "number" ? (claims.exp + leewaySec) * 1000 : 0,
      claims,
      allowed: { allowed: true, claims },
      decisions: new Map(),
    };
    if (token.length <= maxCachedTokenLength) {
      if (verified.size >= maxCachedTokens) {
        // Oldest first: Map keeps insertion order.
        for (const key of verified.keys()) {
          verified.delete(key);
          break;
        }
      }
      verified.set(token, entry);
    }
    return entry;
  };

  return {
    check(procedure, authorization) {
      const policy = policyOf(procedure);
      if (policy.public) return anonymous;
      const rule = policy.rule;
      const token = bearerToken(authorization);
      if (token === undefined) {
        if (!required && rule === undefined) return anonymous;
        return authorization ? notBearer : missingToken;
      }
      const entry = verify(token, clock());
      if (!("decisions" in entry)) return entry;
      if (rule === undefined) return entry.allowed;
      const known = entry.decisions.get(procedure);
      if (known !== undefined) return known;
      const missing = missingGrant(entry.claims, rule);
      const decision: AuthDecision =
        missing === undefined
          ? entry.allowed
          : { allowed: false, code: Code.PermissionDenied, message: `${procedure}: ${missing}` };
      // Only for procedures whose policy is kept, so the answers stay bounded too.
      if (policies.has(procedure)) entry.decisions.set(procedure, decision);
      return decision;
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

/** Client side: sends a bearer token on every call (the token may be refreshed by the getter). */
export function createBearerTokenInterceptor(token: string | (() => string)): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${typeof token === "string" ? token : token()}`);
    return next(req);
  };
}
