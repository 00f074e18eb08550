// Who is calling the browser endpoint, carried from the interceptors to the handlers as context values.
import { createContextKey } from "@connectrpc/connect";
import { Role } from "../gen/agentplatform/v1/console_pb";

export interface Caller {
  /** The token's subject; "anonymous" without a token. */
  subject: string;
  role: Role;
  /** False when the gateway runs without tokens. */
  authEnabled: boolean;
  /** Client IP as the socket sees it. */
  peer: string;
}

export const anonymousCaller: Caller = {
  subject: "anonymous",
  role: Role.UNSPECIFIED,
  authEnabled: true,
  peer: "",
};

export const callerKey = createContextKey<Caller>(anonymousCaller, { description: "caller" });

/** The socket's remote address, set per request by the HTTP adapter. */
export const peerKey = createContextKey<string>("", { description: "peer address" });

export const roleNames: Record<Role, string> = {
  [Role.UNSPECIFIED]: "none",
  [Role.VIEWER]: "viewer",
  [Role.OPERATOR]: "operator",
  [Role.ADMIN]: "admin",
};
