// JWT_* variables: which keys verify service tokens, what they must say, and which methods need what.
import { readFileSync } from "node:fs";
import type { EnvReader } from "../config";
import { createJwtAuthenticator, defaultPublicMethods, type JwtAuthenticator } from "./jwt";
import { type MethodRule, parseMethodPatterns, parseMethodRules } from "./jwt-policy";
import { publicKeyFromPem } from "./jwt-token";

export interface JwtAuthConfig {
  /** JWT_SECRET: HS256/384/512 shared secret, at least 32 bytes. */
  secret?: string;
  /** JWT_PUBLIC_KEY_PATH: PEM public key (or certificate) for RS256/ES256 (and 384/512) tokens. */
  publicKeyPath?: string;
  /** JWT_AUDIENCE */
  audience?: string;
  /** JWT_ISSUER */
  issuer?: string;
  /** JWT_REQUIRED: every non-public method needs a token. Default true once a key is set. */
  required: boolean;
  /** JWT_LEEWAY: clock skew allowed on exp/nbf. Default 30s. */
  leewaySec: number;
  /** JWT_METHOD_RULES, e.g. "/agentplatform.v1.RouterAdmin/*=role:admin;*=scope:platform". */
  rules: MethodRule[];
  /** JWT_PUBLIC_METHODS: served without a token. Default: health checks and server reflection. */
  publicMethods: string[];
}

/** Undefined when no key is configured (tokens off). */
export function readJwtConfig(env: EnvReader): JwtAuthConfig | undefined {
  const secret = env.optionalString("JWT_SECRET");
  const publicKeyPath = env.optionalString("JWT_PUBLIC_KEY_PATH");
  const audience = env.optionalString("JWT_AUDIENCE");
  const issuer = env.optionalString("JWT_ISSUER");
  const required = env.bool("JWT_REQUIRED", secret !== undefined || publicKeyPath !== undefined);
  const leewaySec = Math.round(env.durationMs("JWT_LEEWAY", 30_000) / 1000);
  const rules = parseMethodRules(env.string("JWT_METHOD_RULES", ""));
  const publicMethods = parseMethodPatterns(env.list("JWT_PUBLIC_METHODS", defaultPublicMethods));
  for (const p of rules.problems) env.invalid(`JWT_METHOD_RULES: ${p}`);
  for (const p of publicMethods.problems) env.invalid(`JWT_PUBLIC_METHODS: ${p}`);
  // A short HMAC secret can be brute-forced offline from a single token.
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    env.invalid("JWT_SECRET must be at least 32 bytes");
  }
  if (secret === undefined && publicKeyPath === undefined) {
    if (required) env.invalid("JWT_REQUIRED=true needs JWT_SECRET or JWT_PUBLIC_KEY_PATH");
    if (rules.rules.length > 0) {
      env.invalid("JWT_METHOD_RULES needs JWT_SECRET or JWT_PUBLIC_KEY_PATH");
    }
    return undefined;
  }
  return {
    ...(secret !== undefined ? { secret } : {}),
    ...(publicKeyPath !== undefined ? { publicKeyPath } : {}),
    ...(audience !== undefined ? { audience } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    required,
    leewaySec,
    rules: rules.rules,
    publicMethods: publicMethods.patterns,
  };
}

/**
 * Builds the authenticator, reading the key file; throws naming JWT_PUBLIC_KEY_PATH when it is
 * bad. `alwaysPublic` lists methods served without a token whatever JWT_PUBLIC_METHODS says
 * (a server's registry health check, a link with credentials of its own).
 */
export function loadJwtAuthenticator(
  config: JwtAuthConfig,
  alwaysPublic: readonly string[] = [],
): JwtAuthenticator {
  let publicKey: ReturnType<typeof publicKeyFromPem> | undefined;
  if (config.publicKeyPath !== undefined) {
    try {
      publicKey = publicKeyFromPem(readFileSync(config.publicKeyPath));
    } catch (err) {
      throw new Error(
        `JWT_PUBLIC_KEY_PATH: cannot load a public key from ${config.publicKeyPath}: ${(err as Error).message}`,
      );
    }
  }
  return createJwtAuthenticator({
    ...(config.secret !== undefined ? { secret: Buffer.from(config.secret) } : {}),
    ...(publicKey ? { publicKey } : {}),
    ...(config.audience !== undefined ? { audience: config.audience } : {}),
    ...(config.issuer !== undefined ? { issuer: config.issuer } : {}),
    required: config.required,
    leewaySec: config.leewaySec,
    rules: config.rules,
    publicMethods: [...new Set([...config.publicMethods, ...alwaysPublic])],
  });
}
