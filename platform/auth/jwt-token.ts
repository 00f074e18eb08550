// JSON Web Tokens (RFC 7519) signed with HS256/384/512, RS256/384/512 or ES256/384/512, using
// node:crypto only: signing for callers that mint service tokens, strict verification for servers.
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as signWithKey,
  timingSafeEqual,
  verify as verifyWithKey,
} from "node:crypto";

export type JwtAlgorithm =
  | "HS256"
  | "HS384"
  | "HS512"
  | "RS256"
  | "RS384"
  | "RS512"
  | "ES256"
  | "ES384"
  | "ES512";

export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  /** OAuth 2.0 style: space-separated scopes. */
  scope?: string;
  /** Some issuers send scopes as an array under "scp". */
  scp?: string[] | string;
  roles?: string[] | string;
  [claim: string]: unknown;
}

export type JwtErrorReason =
  | "malformed"
  | "unsupported-algorithm"
  | "bad-signature"
  | "expired"
  | "not-yet-valid"
  | "missing-expiry"
  | "wrong-audience"
  | "wrong-issuer";

/** Why a token was refused; the message is safe to return to the caller. */
export class JwtError extends Error {
  override readonly name = "JwtError";
  constructor(
    readonly reason: JwtErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface JwtVerifyKeys {
  /** Shared secret for HS256/384/512. */
  secret?: Buffer;
  /** Public key (PEM or KeyObject) for RS* (RSA key) or ES* (EC key of the matching curve). */
  publicKey?: KeyObject;
}

export interface JwtVerifyOptions extends JwtVerifyKeys {
  /** When set, the token's "aud" must be or contain it. Default: not checked. */
  audience?: string;
  /** When set, the token's "iss" must equal it. Default: not checked. */
  issuer?: string;
  /** Clock skew allowed on exp and nbf, in seconds. Default 30. */
  leewaySec?: number;
  /** Refuse tokens without "exp": a leaked token must not live forever. Default true. */
  requireExpiry?: boolean;
  /** Current time in ms since the epoch. Default Date.now(). */
  now?: number;
}

/** Tokens longer than this are refused before any decoding work. */
export const maxTokenLength = 8 * 1024;

const hashOf: Record<JwtAlgorithm, "sha256" | "sha384" | "sha512"> = {
  HS256: "sha256",
  HS384: "sha384",
  HS512: "sha512",
  RS256: "sha256",
  RS384: "sha384",
  RS512: "sha512",
  ES256: "sha256",
  ES384: "sha384",
  ES512: "sha512",
};

const curveOf: Partial<Record<JwtAlgorithm, string>> = {
  ES256: "prime256v1",
  ES384: "secp384r1",
  ES512: "secp521r1",
};

function isAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === "string" && Object.hasOwn(hashOf, value);
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

function decodeJson(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part))
    throw new JwtError("malformed", `token ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new JwtError("malformed", `token ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JwtError("malformed", `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export type JwtSigningKey =
  | { alg: "HS256" | "HS384" | "HS512"; secret: Buffer | string }
  | { alg: Exclude<JwtAlgorithm, "HS256" | "HS384" | "HS512">; privateKey: KeyObject | string };

/** Signs claims into a compact JWT. */
export function signJwt(claims: JwtClaims, key: JwtSigningKey, kid?: string): string {
  const header = { alg: key.alg, typ: "JWT", ...(kid ? { kid } : {}) };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const hash = hashOf[key.alg];
  let signature: Buffer;
  if ("secret" in key) {
    signature = createHmac(hash, key.secret).update(input).digest();
  } else if (key.alg.startsWith("ES")) {
    signature = signWithKey(hash, Buffer.from(input), {
      key: typeof key.privateKey === "string" ? createPrivateKey(key.privateKey) : key.privateKey,
      dsaEncoding: "ieee-p1363",
    });
  } else {
    signature = signWithKey(hash, Buffer.from(input), key.privateKey);
  }
  return `${input}.${base64url(signature)}`;
}

/** The algorithms the configured keys can check; a key never verifies another family's tokens. */
export function acceptedAlgorithms(keys: JwtVerifyKeys): JwtAlgorithm[] {
  const out: JwtAlgorithm[] = [];
  if (keys.secret) out.push("HS256", "HS384", "HS512");
  const key = keys.publicKey;
  if (key?.asymmetricKeyType === "rsa") out.push("RS256", "RS384", "RS512");
  if (key?.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    for (const alg of ["ES256", "ES384", "ES512"] as const) {
      if (curveOf[alg] === curve) out.push(alg);
    }
  }
  return out;
}

function signatureValid(alg: JwtAlgorithm, input: string, signature: Buffer, keys: JwtVerifyKeys) {
  const hash = hashOf[alg];
  if (alg.startsWith("HS")) {
    if (!keys.secret) return false;
    const expected = createHmac(hash, keys.secret).update(input).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  if (!keys.publicKey) return false;
  const data = Buffer.from(input);
  if (alg.startsWith("ES")) {
    return verifyWithKey(hash, data, { key: keys.publicKey, dsaEncoding: "ieee-p1363" }, signature);
  }
  return verifyWithKey(hash, data, keys.publicKey, signature);
}

function numericClaim(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new JwtError("malformed", `claim "${name}" must be a number of seconds`);
  }
  return value;
}

/** Verifies signature, algorithm, exp/nbf (with leeway), audience and issuer; returns the claims. */
export function verifyJwt(token: string, options: JwtVerifyOptions): JwtClaims {
  if (token.length > maxTokenLength) throw new JwtError("malformed", "token is too long");
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed", "token must have three parts");
  const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;
  const header = decodeJson(headerPart, "header");
  // "crit" names extensions the verifier must understand; this one understands none.
  if (header.crit !== undefined) {
    throw new JwtError("malformed", "token header has critical extensions");
  }
  const alg = header.alg;
  if (!isAlgorithm(alg) || !acceptedAlgorithms(options).includes(alg)) {
    throw new JwtError("unsupported-algorithm", `token algorithm ${String(alg)} is not accepted`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) {
    throw new JwtError("malformed", "token signature is not base64url");
  }
  const signature = Buffer.from(signaturePart, "base64url");
  if (!signatureValid(alg, `${headerPart}.${payloadPart}`, signature, options)) {
    throw new JwtError("bad-signature", "token signature is invalid");
  }

  const claims = decodeJson(payloadPart, "payload") as JwtClaims;
  const now = (options.now ?? Date.now()) / 1000;
  const leeway = options.leewaySec ?? 30;
  const exp = numericClaim(claims, "exp");
  const nbf = numericClaim(claims, "nbf");
  if (exp === undefined && (options.requireExpiry ?? true)) {
    throw new JwtError("missing-expiry", "token has no expiry");
  }
  if (exp !== undefined && now > exp + leeway) throw new JwtError("expired", "token has expired");
  if (nbf !== undefined && now < nbf - leeway) {
    throw new JwtError("not-yet-valid", "token is not valid yet");
  }
  if (options.issuer !== undefined && claims.iss !== options.issuer) {
    throw new JwtError("wrong-issuer", "token issuer is not accepted");
  }
  if (options.audience !== undefined) {
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) {
      throw new JwtError("wrong-audience", "token is not meant for this audience");
    }
  }
  return claims;
}

/** Parses a PEM public key, or the public half of a PEM private key or certificate. */
export function publicKeyFromPem(pem: Buffer | string): KeyObject {
  return createPublicKey(pem);
}
