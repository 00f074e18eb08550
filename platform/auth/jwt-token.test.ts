import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type JwtClaims, JwtError, publicKeyFromPem, signJwt, verifyJwt } from "./jwt-token";
import { makeToken } from "./make-token";

const secret = Buffer.from("a-shared-secret-of-at-least-32-bytes!!");
const now = 1_800_000_000_000;
const inAnHour = now / 1000 + 3600;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof JwtError) return err.reason;
    throw err;
  }
  return "accepted";
}

describe("verifyJwt", () => {
  it("accepts HS256, RS256 and ES256 tokens signed with the matching key", () => {
    const claims: JwtClaims = { sub: "gateway", exp: inAnHour };
    const hs = signJwt(claims, { alg: "HS256", secret });
    const rs = signJwt(claims, { alg: "RS256", privateKey: rsa.privateKey });
    const es = signJwt(claims, { alg: "ES256", privateKey: ec.privateKey });
    expect(verifyJwt(hs, { secret, now }).sub).toBe("gateway");
    expect(verifyJwt(rs, { publicKey: rsa.publicKey, now }).sub).toBe("gateway");
    expect(verifyJwt(es, { publicKey: ec.publicKey, now }).sub).toBe("gateway");
    // ES256 signatures are the fixed 64-byte r||s form, not DER.
    expect(Buffer.from(es.split(".")[2] ?? "", "base64url")).toHaveLength(64);
  });

  it("refuses a token whose payload was changed after signing", () => {
    const token = signJwt({ sub: "gateway", exp: inAnHour }, { alg: "HS256", secret });
    const [h, , s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "admin", exp: inAnHour })).toString(
      "base64url",
    );
    expect(reasonOf(() => verifyJwt(`${h}.${forged}.${s}`, { secret, now }))).toBe("bad-signature");
  });

  it("refuses alg none and HS256 signed with the public key (algorithm confusion)", () => {
    const header = (alg: string) =>
      Buffer.from(JSON.stringify({ alg, typ: "JWT" })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ sub: "x", exp: inAnHour })).toString("base64url");
    const none = `${header("none")}.${payload}.`;
    expect(reasonOf(() => verifyJwt(none, { publicKey: rsa.publicKey, now }))).toBe(
      "unsupported-algorithm",
    );
    const pem = rsa.publicKey.export({ type: "spki", format: "pem" });
    const input = `${header("HS256")}.${payload}`;
    const confused = `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    expect(reasonOf(() => verifyJwt(confused, { publicKey: rsa.publicKey, now }))).toBe(
      "unsupported-algorithm",
    );
  });

  it("refuses an RS256 token when only an EC key is configured", () => {
    const rs = signJwt({ exp: inAnHour }, { alg: "RS256", privateKey: rsa.privateKey });
    expect(reasonOf(() => verifyJwt(rs, { publicKey: ec.publicKey, now }))).toBe(
      "unsupported-algorithm",
    );
  });

  it("applies exp and nbf with the leeway, and requires exp by default", () => {
    const t = now / 1000;
    const sign = (claims: JwtClaims) => signJwt(claims, { alg: "HS256", secret });
    expect(reasonOf(() => verifyJwt(sign({ exp: t - 10 }), { secret, now }))).toBe("accepted");
    expect(reasonOf(() => verifyJwt(sign({ exp: t - 31 }), { secret, now }))).toBe("expired");
    expect(reasonOf(() => verifyJwt(sign({ exp: t - 10 }), { secret, now, leewaySec: 0 }))).toBe(
      "expired",
    );
    expect(reasonOf(() => verifyJwt(sign({ exp: inAnHour, nbf: t + 20 }), { secret, now }))).toBe(
      "accepted",
    );
    expect(reasonOf(() => verifyJwt(sign({ exp: inAnHour, nbf: t + 60 }), { secret, now }))).toBe(
      "not-yet-valid",
    );
    expect(reasonOf(() => verifyJwt(sign({ sub: "x" }), { secret, now }))).toBe("missing-expiry");
    expect(
      reasonOf(() => verifyJwt(sign(JSON.parse('{"exp":"soon"}') as JwtClaims), { secret, now })),
    ).toBe("malformed");
  });

  it("checks audience (string or list) and issuer", () => {
    const sign = (claims: JwtClaims) =>
      signJwt({ exp: inAnHour, ...claims }, { alg: "HS256", secret });
    const opts = { secret, now, audience: "agent-platform", issuer: "https://issuer.test" };
    expect(
      reasonOf(() => verifyJwt(sign({ aud: "agent-platform", iss: "https://issuer.test" }), opts)),
    ).toBe("accepted");
    expect(
      reasonOf(() =>
        verifyJwt(sign({ aud: ["other", "agent-platform"], iss: "https://issuer.test" }), opts),
      ),
    ).toBe("accepted");
    expect(
      reasonOf(() => verifyJwt(sign({ aud: "other", iss: "https://issuer.test" }), opts)),
    ).toBe("wrong-audience");
    expect(reasonOf(() => verifyJwt(sign({ aud: "agent-platform", iss: "evil" }), opts))).toBe(
      "wrong-issuer",
    );
  });

  it("refuses malformed tokens without throwing anything but JwtError", () => {
    for (const bad of ["", "a.b", "a.b.c.d", "!!.e30.sig", `${"x".repeat(9000)}.a.b`]) {
      expect(reasonOf(() => verifyJwt(bad, { secret, now }))).toBe("malformed");
    }
  });

  it("takes the public key from a PEM public key", () => {
    const pem = ec.publicKey.export({ type: "spki", format: "pem" });
    const es = signJwt({ exp: inAnHour }, { alg: "ES256", privateKey: ec.privateKey });
    expect(reasonOf(() => verifyJwt(es, { publicKey: publicKeyFromPem(pem), now }))).toBe(
      "accepted",
    );
  });
});

describe("make-token", () => {
  it("mints tokens the verifier accepts, with scopes, roles and expiry", () => {
    const env = { JWT_SECRET: secret.toString(), JWT_AUDIENCE: "agent-platform" };
    const token = makeToken(
      ["--sub", "ci", "--scope", "a b", "--role", "operator", "--ttl", "10m"],
      env,
    );
    const claims = verifyJwt(token, { secret, audience: "agent-platform" });
    expect(claims).toMatchObject({ sub: "ci", scope: "a b", roles: ["operator"] });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(600);
    expect(() => makeToken(["--sub", "x"], {})).toThrow(/JWT_SECRET/);
  });
});
