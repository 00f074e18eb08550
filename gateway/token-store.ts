// Bearer tokens and their roles, from GATEWAY_TOKENS_FILE and GATEWAY_TOKENS. Only SHA-256
// digests are kept in memory, and presented tokens are compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Role } from "../gen/agentplatform/v1/console_pb";
import { ConfigError } from "../platform/config";

export interface TokenIdentity {
  subject: string;
  role: Role;
}

interface StoredToken extends TokenIdentity {
  digest: Buffer;
}

export interface TokenStore {
  /** False when no tokens are configured. */
  readonly enabled: boolean;
  readonly size: number;
  /** The identity a presented token belongs to, or undefined. */
  authenticate(token: string): TokenIdentity | undefined;
}

const roleByName: Record<string, Role> = {
  viewer: Role.VIEWER,
  operator: Role.OPERATOR,
  admin: Role.ADMIN,
};

/** A file or variable entry may hold "sha256:<hex>" instead of the token itself. */
const hashedPrefix = "sha256:";

export function digestToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

function parseRole(raw: string, where: string): Role {
  const role = roleByName[raw.trim().toLowerCase()];
  if (role === undefined) {
    throw new ConfigError(`${where}: role must be viewer, operator or admin, got "${raw}"`);
  }
  return role;
}

function storedToken(token: string, role: Role, subject: string, where: string): StoredToken {
  if (token === "") throw new ConfigError(`${where}: empty token`);
  if (subject === "") throw new ConfigError(`${where}: empty subject`);
  if (token.startsWith(hashedPrefix)) {
    const hex = token.slice(hashedPrefix.length);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new ConfigError(`${where}: "${hashedPrefix}" must be followed by 64 hex digits`);
    }
    return { digest: Buffer.from(hex, "hex"), role, subject };
  }
  return { digest: digestToken(token), role, subject };
}

/** GATEWAY_TOKENS: "subject:role:token,subject:role:token". */
export function parseTokensVariable(raw: string): StoredToken[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((entry, i) => {
      const where = `GATEWAY_TOKENS entry ${i + 1}`;
      const [subject, role, ...rest] = entry.split(":");
      const token = rest.join(":");
      if (subject === undefined || role === undefined || token === "") {
        throw new ConfigError(`${where}: expected subject:role:token`);
      }
      return storedToken(token, parseRole(role, where), subject, where);
    });
}

/**
 * GATEWAY_TOKENS_FILE: either JSON (an array of {token, role, subject}, or {"tokens": [...]})
 * or lines of "token role subject", with # comments and blank lines ignored.
 */
export function parseTokensFile(text: string, path: string): StoredToken[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigError(`GATEWAY_TOKENS_FILE ${path}: invalid JSON: ${(err as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { tokens?: unknown }).tokens;
    if (!Array.isArray(list)) {
      throw new ConfigError(
        `GATEWAY_TOKENS_FILE ${path}: expected an array of {token, role, subject}`,
      );
    }
    return list.map((item: unknown, i) => {
      const where = `GATEWAY_TOKENS_FILE ${path} entry ${i + 1}`;
      const { token, role, subject } = (item ?? {}) as Record<string, unknown>;
      if (typeof token !== "string" || typeof role !== "string" || typeof subject !== "string") {
        throw new ConfigError(`${where}: token, role and subject must be strings`);
      }
      return storedToken(token, parseRole(role, where), subject, where);
    });
  }
  return text.split("\n").flatMap((line, i) => {
    const content = line.replace(/#.*$/, "").trim();
    if (content === "") return [];
    const where = `GATEWAY_TOKENS_FILE ${path} line ${i + 1}`;
    const [token, role, ...subject] = content.split(/\s+/);
    if (token === undefined || role === undefined || subject.length === 0) {
      throw new ConfigError(`${where}: expected "token role subject"`);
    }
    return [storedToken(token, parseRole(role, where), subject.join(" "), where)];
  });
}

export function createTokenStore(entries: readonly StoredToken[]): TokenStore {
  const tokens = [...entries];
  return {
    enabled: tokens.length > 0,
    size: tokens.length,
    authenticate(token) {
      const digest = digestToken(token);
      let found: StoredToken | undefined;
      // Compare with every entry so the time taken does not say which one matched.
      for (const entry of tokens) {
        if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry;
      }
      return found ? { subject: found.subject, role: found.role } : undefined;
    },
  };
}

/** Loads tokens from the file and/or the variable; throws naming the source of a bad entry. */
export function loadTokenStore(sources: { file?: string; variable?: string }): TokenStore {
  const entries: StoredToken[] = [];
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.file, "utf8");
    } catch (err) {
      throw new ConfigError(
        `GATEWAY_TOKENS_FILE: cannot read ${sources.file}: ${(err as Error).message}`,
      );
    }
    entries.push(...parseTokensFile(text, sources.file));
  }
  if (sources.variable !== undefined) entries.push(...parseTokensVariable(sources.variable));
  return createTokenStore(entries);
}
