// Errors as log fields: message, stack, gRPC code and the cause chain, which JSON.stringify and
// pino's plain object handling both lose (an Error's own properties are not enumerable).
import { Code, ConnectError } from "@connectrpc/connect";

export interface LoggedError {
  type: string;
  message: string;
  /** The gRPC status name for a ConnectError, e.g. "Unavailable". */
  grpc_code?: string;
  /** A Node system error's code, e.g. "ECONNREFUSED". */
  code?: string;
  stack?: string;
  cause?: LoggedError | string;
  /** The members of an AggregateError (Node's connect attempts to several addresses). */
  errors?: (LoggedError | string)[];
}

/** How deep a cause chain is followed; a cycle or a pathological chain stops here. */
const maxDepth = 5;
const maxAggregated = 5;

export function serializeError(err: Error, depth = 0): LoggedError {
  const out: LoggedError = {
    type: err.name || err.constructor.name,
    message: err instanceof ConnectError ? err.rawMessage : err.message,
  };
  if (err instanceof ConnectError) out.grpc_code = Code[err.code];
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  if (err.stack !== undefined) out.stack = err.stack;
  if (depth < maxDepth) {
    const cause = err.cause;
    if (cause instanceof Error) out.cause = serializeError(cause, depth + 1);
    else if (cause !== undefined) out.cause = String(cause);
    if (err instanceof AggregateError && Array.isArray(err.errors)) {
      out.errors = err.errors
        .slice(0, maxAggregated)
        .map((e: unknown) => (e instanceof Error ? serializeError(e, depth + 1) : String(e)));
    }
  }
  return out;
}

/** True for the shape serializeError produces (as read back from a JSON line). */
export function isLoggedError(value: unknown): value is LoggedError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as LoggedError).message === "string" &&
    typeof (value as LoggedError).type === "string"
  );
}
