// One place that turns any failure into words an operator can act on.
import { Code, ConnectError } from "@connectrpc/connect";

export interface ErrorText {
  title: string;
  detail: string;
  /** gRPC code name, e.g. "UNAVAILABLE". */
  code: string;
}

/** The gRPC specification's spelling: "NOT_FOUND", "CANCELLED" (Connect's enum says Canceled). */
export function codeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

const codesByName = new Map<string, Code>(
  Object.values(Code)
    .filter((value): value is Code => typeof value === "number")
    .map((code) => [codeName(code), code]),
);

/** The Code for a gRPC code name such as "NOT_FOUND"; Unknown for anything else. */
export function codeFromName(name: string): Code {
  return codesByName.get(name) ?? Code.Unknown;
}

export function describeError(cause: unknown): ErrorText {
  const error = ConnectError.from(cause);
  const code = codeName(error.code);
  const detail = error.rawMessage;
  switch (error.code) {
    case Code.Unavailable:
      return /fetch|network|load failed/i.test(detail)
        ? { title: "The gateway cannot be reached", detail, code }
        : { title: "No healthy instance is available", detail, code };
    case Code.Unauthenticated:
      return { title: "Sign in to continue", detail, code };
    case Code.PermissionDenied:
      return { title: "Your role does not allow this", detail, code };
    case Code.DeadlineExceeded:
      return { title: "The call ran past its deadline", detail, code };
    case Code.NotFound:
      return { title: "Not found", detail, code };
    case Code.InvalidArgument:
      return { title: "The request is not valid", detail, code };
    case Code.ResourceExhausted:
      return { title: "Too large or too many requests", detail, code };
    case Code.Canceled:
      return { title: "Cancelled", detail, code };
    default:
      return { title: "Something went wrong", detail, code };
  }
}
