// The bearer token a platform component sends when it calls other services through the routers:
// SERVICE_TOKEN as given (issued elsewhere, e.g. for RS256/ES256 keys), or minted here from
// JWT_SECRET and renewed before it expires.
//   SERVICE_TOKEN          a token to send as is
//   SERVICE_TOKEN_SUBJECT  "sub" of minted tokens. Default: the component's name
//   SERVICE_TOKEN_SCOPES   space- or comma-separated scopes of minted tokens. Default none
//   SERVICE_TOKEN_ROLES    comma-separated roles of minted tokens. Default none
//   SERVICE_TOKEN_TTL      lifetime of a minted token. Default 15m
// Minted tokens carry JWT_AUDIENCE and JWT_ISSUER when set, so they pass the receivers' checks.
import type { EnvReader } from "../config";
import { signJwt } from "./jwt-token";

export type ServiceTokenConfig =
  | { kind: "static"; token: string }
  | {
      kind: "minted";
      secret: string;
      subject: string;
      scopes: string[];
      roles: string[];
      audience?: string;
      issuer?: string;
      ttlMs: number;
    };

/** Undefined when neither SERVICE_TOKEN nor JWT_SECRET is set: calls go out without a token. */
export function readServiceTokenConfig(
  env: EnvReader,
  defaultSubject: string,
): ServiceTokenConfig | undefined {
  const token = env.optionalString("SERVICE_TOKEN");
  const secret = env.optionalString("JWT_SECRET");
  const subject = env.string("SERVICE_TOKEN_SUBJECT", defaultSubject);
  const scopes = env
    .list("SERVICE_TOKEN_SCOPES")
    .flatMap((s) => s.split(/\s+/))
    .filter(Boolean);
  const roles = env.list("SERVICE_TOKEN_ROLES");
  const ttlMs = env.durationMs("SERVICE_TOKEN_TTL", 15 * 60_000);
  if (ttlMs < 10_000) env.invalid("SERVICE_TOKEN_TTL must be at least 10s");
  if (token !== undefined) return { kind: "static", token };
  if (secret === undefined) {
    if (scopes.length > 0 || roles.length > 0) {
      env.invalid("SERVICE_TOKEN_SCOPES and SERVICE_TOKEN_ROLES need JWT_SECRET to mint tokens");
    }
    return undefined;
  }
  const audience = env.optionalString("JWT_AUDIENCE");
  const issuer = env.optionalString("JWT_ISSUER");
  return {
    kind: "minted",
    secret,
    subject,
    scopes,
    roles,
    ...(audience !== undefined ? { audience } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ttlMs,
  };
}

/**
 * A function returning the token to send now. Minted tokens are reused until a fifth of their
 * lifetime is left, so every call does not sign, and no call carries a token about to expire.
 */
export function createServiceTokenSource(
  config: ServiceTokenConfig,
  clock: () => number = Date.now,
): () => string {
  if (config.kind === "static") return () => config.token;
  let token = "";
  let renewAt = 0;
  return () => {
    const now = clock();
    if (now >= renewAt) {
      const iat = Math.floor(now / 1000);
      token = signJwt(
        {
          sub: config.subject,
          iat,
          exp: iat + Math.round(config.ttlMs / 1000),
          ...(config.audience !== undefined ? { aud: config.audience } : {}),
          ...(config.issuer !== undefined ? { iss: config.issuer } : {}),
          ...(config.scopes.length > 0 ? { scope: config.scopes.join(" ") } : {}),
          ...(config.roles.length > 0 ? { roles: config.roles } : {}),
        },
        { alg: "HS256", secret: config.secret },
      );
      renewAt = now + (config.ttlMs * 4) / 5;
    }
    return token;
  };
}
