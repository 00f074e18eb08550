// Which gRPC methods need which scopes or roles, matched by "/pkg.Service/Method", "/pkg.Service/*" or "*".
import type { JwtClaims } from "./jwt-token";

export interface MethodRequirement {
  /** Every one of these scopes must be granted. */
  scopes: string[];
  /** At least one of these roles must be held (none listed: no role needed). */
  roles: string[];
}

export interface MethodRule extends MethodRequirement {
  /** "/pkg.Service/Method", "/pkg.Service/*" or "*". */
  pattern: string;
}

function patternValid(pattern: string): boolean {
  return pattern === "*" || /^\/[\w.]+\/(\*|\w+)$/.test(pattern);
}

/**
 * Parses rules written as `PATTERN=scope:a scope:b role:admin;PATTERN=...`, e.g.
 * `/agentplatform.v1.RouterAdmin/*=role:admin;*=scope:platform`. Returns problems instead of throwing.
 */
export function parseMethodRules(text: string): { rules: MethodRule[]; problems: string[] } {
  const rules: MethodRule[] = [];
  const problems: string[] = [];
  for (const entry of text.split(";").map((s) => s.trim())) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const pattern = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (eq < 0 || !patternValid(pattern)) {
      problems.push(`"${entry}" must look like /pkg.Service/Method=scope:NAME role:NAME`);
      continue;
    }
    const rule: MethodRule = { pattern, scopes: [], roles: [] };
    for (const item of entry
      .slice(eq + 1)
      .split(/[\s,]+/)
      .filter(Boolean)) {
      const [kind, name] = item.split(":", 2);
      if (kind === "scope" && name) rule.scopes.push(name);
      else if (kind === "role" && name) rule.roles.push(name);
      else problems.push(`"${item}" in "${entry}" must be scope:NAME or role:NAME`);
    }
    rules.push(rule);
  }
  return { rules, problems };
}

/** Parses a comma-separated list of method patterns. */
export function parseMethodPatterns(patterns: readonly string[]): {
  patterns: string[];
  problems: string[];
} {
  const bad = patterns.filter((p) => !patternValid(p));
  return {
    patterns: patterns.filter(patternValid),
    problems: bad.map((p) => `"${p}" must be /pkg.Service/Method, /pkg.Service/* or *`),
  };
}

/** The pattern a procedure matches most specifically: exact, then service wildcard, then "*". */
export function mostSpecific<T extends { pattern: string }>(
  items: readonly T[],
  procedure: string,
): T | undefined {
  const service = procedure.slice(0, procedure.lastIndexOf("/") + 1);
  return (
    items.find((i) => i.pattern === procedure) ??
    items.find((i) => i.pattern === `${service}*`) ??
    items.find((i) => i.pattern === "*")
  );
}

export function matchesAny(patterns: readonly string[], procedure: string): boolean {
  return (
    mostSpecific(
      patterns.map((pattern) => ({ pattern })),
      procedure,
    ) !== undefined
  );
}

export function grantedScopes(claims: JwtClaims): Set<string> {
  const out = new Set<string>();
  if (typeof claims.scope === "string") for (const s of claims.scope.split(" ")) if (s) out.add(s);
  const scp = claims.scp;
  for (const s of Array.isArray(scp) ? scp : typeof scp === "string" ? scp.split(" ") : []) {
    if (typeof s === "string" && s) out.add(s);
  }
  return out;
}

export function heldRoles(claims: JwtClaims): Set<string> {
  const roles = claims.roles;
  const list = Array.isArray(roles) ? roles : typeof roles === "string" ? roles.split(" ") : [];
  return new Set(list.filter((r): r is string => typeof r === "string" && r !== ""));
}

/** Undefined when allowed, else what is missing (safe to tell the caller). */
export function missingGrant(
  claims: JwtClaims,
  requirement: MethodRequirement,
): string | undefined {
  const scopes = grantedScopes(claims);
  const missing = requirement.scopes.filter((s) => !scopes.has(s));
  if (missing.length > 0) return `missing scope ${missing.join(", ")}`;
  if (requirement.roles.length > 0) {
    const roles = heldRoles(claims);
    if (!requirement.roles.some((r) => roles.has(r))) {
      return `needs one of the roles ${requirement.roles.join(", ")}`;
    }
  }
  return undefined;
}
