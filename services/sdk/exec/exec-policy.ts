// What a dial-in agent lets callers run (ExecService.Exec): off unless its operator gives an
// allowlist. A request is checked against it before anything starts; a refusal names the rule.
import { realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ExecRequest } from "../../../gen/agentplatform/v1/exec_pb";

/** An argument an allowed command may take: exact text, a pattern, or a path inside a directory. */
export type ExecArgPattern = string | RegExp | { pathUnder: readonly string[] };

export interface ExecCommandRule {
  /** Program as callers name it, e.g. "uname"; run from the policy's PATH. */
  command: string;
  /** Every argument must match one of these. Default none: the command takes no arguments. */
  args?: readonly ExecArgPattern[];
  /** Most arguments allowed. Default 8 when args are listed. */
  maxArgs?: number;
}

export interface ExecPolicyOptions {
  /** Commands callers may run. Exec stays off while this is empty. */
  commands: readonly ExecCommandRule[];
  /** Directories commands may run in, subdirectories included. Default none: only defaultWorkingDir. */
  workingDirs?: readonly string[];
  /** Where a request without working_dir runs. Default the first of workingDirs, else the agent's cwd. */
  defaultWorkingDir?: string;
  /** Environment variable names callers may set; "PREFIX_*" matches a prefix. Default none. */
  env?: readonly string[];
  /** Environment every command starts with. Default PATH (from the agent) and LANG=C.UTF-8. */
  baseEnv?: Readonly<Record<string, string>>;
  /** Lets a request run its command line through /bin/sh -c; commands are then not checked. Default false. */
  allowShell?: boolean;
  /** Longest run time, in ms; requests may ask for less. Default 60000. */
  maxRunMs?: number;
  /** Most output (stdout + stderr) passed on, in bytes; requests may ask for less. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Commands running at once on this agent. Default 4. */
  maxConcurrent?: number;
  /** Time between SIGTERM and SIGKILL when a command is stopped, in ms. Default 2000. */
  killGraceMs?: number;
}

export interface ExecPolicy {
  readonly commands: readonly ExecCommandRule[];
  readonly workingDirs: readonly string[];
  readonly defaultWorkingDir: string;
  readonly env: readonly string[];
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly allowShell: boolean;
  readonly maxRunMs: number;
  readonly maxOutputBytes: number;
  readonly maxConcurrent: number;
  readonly killGraceMs: number;
}

/** What to spawn for an allowed request. */
export interface ExecPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  runMs: number;
  maxOutputBytes: number;
  /** What ran, for logs: the command line as given. */
  display: string;
}

const maxArgCount = 256;
const maxArgBytes = 8192;
const maxEnvCount = 64;

/** Fills in the defaults once; throws on an option that cannot work. */
export function createExecPolicy(options: ExecPolicyOptions): ExecPolicy {
  const workingDirs = (options.workingDirs ?? []).map((d) => canonical(resolve(d)));
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`exec policy: ${name} must be positive`);
    return v;
  };
  for (const rule of options.commands) {
    if (rule.command === "" || /[\s\0]/.test(rule.command)) {
      throw new Error(`exec policy: "${rule.command}" is not a command name`);
    }
  }
  return {
    commands: options.commands,
    workingDirs,
    defaultWorkingDir: canonical(
      resolve(options.defaultWorkingDir ?? workingDirs[0] ?? process.cwd()),
    ),
    env: options.env ?? [],
    baseEnv: options.baseEnv ?? {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      LANG: "C.UTF-8",
    },
    allowShell: options.allowShell ?? false,
    maxRunMs: positive("maxRunMs", options.maxRunMs, 60_000),
    maxOutputBytes: positive("maxOutputBytes", options.maxOutputBytes, 1024 * 1024),
    maxConcurrent: positive("maxConcurrent", options.maxConcurrent, 4),
    killGraceMs: positive("killGraceMs", options.killGraceMs, 2000),
  };
}

/** The real path when it exists (symlinks resolved), else the path as given. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

const inside = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

const denied = (rule: string, message: string) =>
  new ConnectError(`exec refused by the agent's ${rule} rule: ${message}`, Code.PermissionDenied);

function argMatches(pattern: ExecArgPattern, arg: string, cwd: string): boolean {
  if (typeof pattern === "string") return pattern === arg;
  if (pattern instanceof RegExp) {
    pattern.lastIndex = 0;
    const match = pattern.exec(arg);
    return match !== null && match[0] === arg;
  }
  if (arg.startsWith("-")) return false;
  const path = canonical(resolve(cwd, arg));
  return pattern.pathUnder.some((dir) => inside(canonical(resolve(dir)), path));
}

/** The plan to run, or PERMISSION_DENIED / INVALID_ARGUMENT saying which rule refused what. */
export function planExec(policy: ExecPolicy, request: ExecRequest): ExecPlan | ConnectError {
  if (policy.commands.length === 0 && !policy.allowShell) {
    return denied(
      "exec",
      "exec is not enabled on this agent (its operator enables it with an allowlist)",
    );
  }
  if (request.command === "") return new ConnectError("command is empty", Code.InvalidArgument);
  if (request.args.length > maxArgCount) {
    return new ConnectError(`at most ${maxArgCount} arguments`, Code.InvalidArgument);
  }
  for (const text of [request.command, request.workingDir, ...request.args]) {
    if (text.includes("\0") || Buffer.byteLength(text) > maxArgBytes) {
      return new ConnectError(
        `command, arguments and working_dir must be under ${maxArgBytes} bytes without NUL characters`,
        Code.InvalidArgument,
      );
    }
  }

  const cwd = canonical(resolve(policy.defaultWorkingDir, request.workingDir || "."));
  if (
    request.workingDir !== "" &&
    cwd !== policy.defaultWorkingDir &&
    !policy.workingDirs.some((dir) => inside(dir, cwd))
  ) {
    return denied(
      "working_dirs",
      `"${request.workingDir}" is not inside ${policy.workingDirs.length > 0 ? policy.workingDirs.join(", ") : "any allowed directory"}`,
    );
  }

  const env: Record<string, string> = { ...policy.baseEnv };
  const names = Object.keys(request.env);
  if (names.length > maxEnvCount) {
    return new ConnectError(`at most ${maxEnvCount} environment variables`, Code.InvalidArgument);
  }
  for (const name of names) {
    const value = request.env[name] ?? "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || value.includes("\0")) {
      return new ConnectError(
        `"${name}" is not a valid environment variable`,
        Code.InvalidArgument,
      );
    }
    const allowed = policy.env.some((p) =>
      p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : p === name,
    );
    if (!allowed) {
      return denied(
        "env",
        `variable ${name} may not be set (allowed: ${policy.env.length > 0 ? policy.env.join(", ") : "none"})`,
      );
    }
    env[name] = value;
  }

  const runMs = Math.min(policy.maxRunMs, request.timeoutMs > 0 ? request.timeoutMs : Infinity);
  const maxOutputBytes = Math.min(
    policy.maxOutputBytes,
    request.maxOutputBytes > 0n ? Number(request.maxOutputBytes) : Infinity,
  );
  const display = [request.command, ...request.args].join(" ");

  if (request.shell) {
    if (!policy.allowShell) return denied("shell", "this agent runs commands without a shell");
    return {
      file: "/bin/sh",
      args: ["-c", request.command, ...request.args],
      cwd,
      env,
      runMs,
      maxOutputBytes,
      display,
    };
  }

  const rule = policy.commands.find((r) => r.command === request.command);
  if (!rule) {
    return denied(
      "commands",
      `"${request.command}" is not an allowed command (allowed: ${policy.commands.map((r) => r.command).join(", ") || "none"})`,
    );
  }
  const patterns = rule.args ?? [];
  const maxArgs = rule.maxArgs ?? (patterns.length > 0 ? 8 : 0);
  if (request.args.length > maxArgs) {
    return denied(
      `args of ${rule.command}`,
      maxArgs === 0
        ? `${rule.command} takes no arguments here`
        : `${rule.command} takes at most ${maxArgs} arguments here`,
    );
  }
  for (const arg of request.args) {
    if (!patterns.some((p) => argMatches(p, arg, cwd))) {
      return denied(`args of ${rule.command}`, `argument "${arg}" is not allowed`);
    }
  }
  return { file: rule.command, args: [...request.args], cwd, env, runMs, maxOutputBytes, display };
}
