// Per-agent tokens for dial-in links, kept only as salted hashes in a file the router re-reads
// when it changes (or on SIGHUP): removing an agent's line revokes it.
//
// File format, one agent per line, "#" starts a comment:
//   nat-agent sha256$<salt hex>$<sha256(salt || token) hex>
//   other-agent scrypt$<N>$<r>$<p>$<salt hex>$<hash hex>
// Generated tokens are 256-bit random strings, so a fast salted hash is as strong as a slow one;
// scrypt is accepted for tokens chosen by people.
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { readFileSync, type Stats, unwatchFile, watchFile } from "node:fs";
import type { Logger } from "../../platform/log";

export type TokenHash = string;

/** A new random token: 32 bytes, base64url. */
export const generateAgentToken = () => randomBytes(32).toString("base64url");

export function hashAgentToken(token: string, salt = randomBytes(16)): TokenHash {
  const digest = createHash("sha256").update(salt).update(token, "utf8").digest("hex");
  return `sha256$${salt.toString("hex")}$${digest}`;
}

const scryptAsync = (
  token: string,
  salt: Buffer,
  length: number,
  cost: { N: number; r: number; p: number },
) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(token, salt, length, { ...cost, maxmem: 256 * cost.N * cost.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );

/** True when `token` matches `hash`; constant-time in the token's content. */
export async function verifyAgentToken(token: string, hash: TokenHash): Promise<boolean> {
  const parts = hash.split("$");
  let expected: Buffer;
  let actual: Buffer;
  if (parts[0] === "sha256" && parts.length === 3) {
    const salt = Buffer.from(parts[1] ?? "", "hex");
    expected = Buffer.from(parts[2] ?? "", "hex");
    actual = createHash("sha256").update(salt).update(token, "utf8").digest();
  } else if (parts[0] === "scrypt" && parts.length === 6) {
    const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    const salt = Buffer.from(parts[4] ?? "", "hex");
    expected = Buffer.from(parts[5] ?? "", "hex");
    if (expected.length === 0) return false;
    actual = await scryptAsync(token, salt, expected.length, { N, r, p });
  } else {
    return false;
  }
  return (
    expected.length === actual.length && expected.length > 0 && timingSafeEqual(expected, actual)
  );
}

/** Parses a token file; bad lines are reported, not fatal, so one typo revokes one agent only. */
export function parseTokenFile(text: string): {
  hashes: Map<string, TokenHash>;
  problems: string[];
} {
  const hashes = new Map<string, TokenHash>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const [agentId, hash, ...rest] = line.split(/\s+/);
    if (!agentId || !hash || rest.length > 0 || !/^(sha256|scrypt)\$/.test(hash)) {
      problems.push(`line ${i + 1}: expected "<agent_id> <sha256$... or scrypt$... hash>"`);
      return;
    }
    hashes.set(agentId, hash);
  });
  return { hashes, problems };
}

export function formatTokenLine(agentId: string, hash: TokenHash): string {
  return `${agentId} ${hash}\n`;
}

export interface AgentTokenStore {
  /** True when the token is currently valid for the agent. */
  verify(agentId: string, token: string): Promise<boolean>;
  /** Agents with a token now. */
  agents(): string[];
  /** Re-reads the file now. */
  reload(): void;
  /** Called after every reload, so links whose token was revoked can be closed. */
  onReload(listener: () => void): void;
  close(): void;
}

export interface AgentTokenStoreOptions {
  /** The token file; a missing file means no agent may link. */
  path: string;
  logger: Logger;
  /** How often to look for changes to the file, in ms. Default 1000. */
  pollMs?: number;
  /** Also re-read on SIGHUP. Default true. */
  reloadOnSighup?: boolean;
}

export function createAgentTokenStore(options: AgentTokenStoreOptions): AgentTokenStore {
  const log = options.logger;
  let hashes = new Map<string, TokenHash>();
  const listeners: (() => void)[] = [];

  const reload = () => {
    let text = "";
    try {
      text = readFileSync(options.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        // Keep the last good set: an unreadable file is more likely a botched edit than a revocation.
        log.error("cannot read agent token file; keeping the previous tokens", {
          path: options.path,
          err,
        });
        return;
      }
      log.warn("no agent token file: dial-in agents cannot link", { path: options.path });
    }
    const parsed = parseTokenFile(text);
    for (const problem of parsed.problems)
      log.warn("agent token file", { path: options.path, problem });
    const removed = [...hashes.keys()].filter((id) => !parsed.hashes.has(id));
    hashes = parsed.hashes;
    log.info("agent tokens loaded", { path: options.path, agents: hashes.size, removed });
    for (const listener of listeners) listener();
  };
  reload();

  // Polling the file's stat works on every filesystem and survives editors that replace the file.
  const onStat = (now: Stats, before: Stats) => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino)
      reload();
  };
  watchFile(options.path, { interval: options.pollMs ?? 1000, persistent: false }, onStat);
  const onHup = () => reload();
  if (options.reloadOnSighup ?? true) process.on("SIGHUP", onHup);

  return {
    async verify(agentId, token) {
      const hash = hashes.get(agentId);
      if (hash === undefined || token === "") return false;
      return verifyAgentToken(token, hash);
    },
    agents: () => [...hashes.keys()].sort(),
    reload,
    onReload: (listener) => listeners.push(listener),
    close() {
      unwatchFile(options.path, onStat);
      process.off("SIGHUP", onHup);
    },
  };
}
