// Mints a service token (JWT) for a platform component or client, e.g.
//   JWT_SECRET=... npx tsx platform/auth/make-token.ts --sub gateway --scope "tasks.execute" --ttl 1h
//   npx tsx platform/auth/make-token.ts --key jwt-private.pem --alg ES256 --sub ci --role operator
// Options: --sub, --aud (default JWT_AUDIENCE), --iss (default JWT_ISSUER), --scope (space-
// separated), --role (repeatable), --ttl (default 1h), --key PEM private key, --alg (default
// HS256 with JWT_SECRET, else RS256/ES256 to match the key). Prints the token.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseDurationMs } from "../config";
import { type JwtAlgorithm, type JwtClaims, type JwtSigningKey, signJwt } from "./jwt-token";

export function makeToken(argv: string[], env: Record<string, string | undefined>): string {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? "";
    const value = argv[i + 1];
    if (!flag.startsWith("--") || value === undefined)
      throw new Error(`expected --name value at "${flag}"`);
    values.set(flag.slice(2), [...(values.get(flag.slice(2)) ?? []), value]);
  }
  const one = (name: string) => values.get(name)?.at(-1);
  const ttlMs = parseDurationMs(one("ttl") ?? "1h");
  if (ttlMs === undefined || ttlMs <= 0)
    throw new Error("--ttl must be a duration such as 15m or 1h");
  const now = Math.floor(Date.now() / 1000);
  const aud = one("aud") ?? env.JWT_AUDIENCE;
  const iss = one("iss") ?? env.JWT_ISSUER;
  const sub = one("sub");
  const scope = one("scope");
  const roles = values.get("role");
  const claims: JwtClaims = {
    iat: now,
    exp: now + Math.round(ttlMs / 1000),
    ...(sub ? { sub } : {}),
    ...(aud ? { aud } : {}),
    ...(iss ? { iss } : {}),
    ...(scope ? { scope } : {}),
    ...(roles ? { roles } : {}),
  };

  const keyPath = one("key");
  let key: JwtSigningKey;
  if (keyPath) {
    const privateKey = createPrivateKey(readFileSync(keyPath));
    const alg = (one("alg") ??
      (privateKey.asymmetricKeyType === "ec" ? "ES256" : "RS256")) as JwtAlgorithm;
    if (alg.startsWith("HS")) throw new Error("--alg HS* signs with JWT_SECRET, not --key");
    key = { alg: alg as Exclude<JwtAlgorithm, "HS256" | "HS384" | "HS512">, privateKey };
  } else {
    const secret = env.JWT_SECRET;
    if (!secret) throw new Error("set JWT_SECRET or pass --key <private key PEM>");
    const alg = one("alg") ?? "HS256";
    if (alg !== "HS256" && alg !== "HS384" && alg !== "HS512") {
      throw new Error(`--alg ${alg} needs --key`);
    }
    key = { alg, secret };
  }
  return signJwt(claims, key);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.stdout.write(`${makeToken(process.argv.slice(2), process.env)}\n`);
  } catch (err) {
    process.stderr.write(`make-token: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
