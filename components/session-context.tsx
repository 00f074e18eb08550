"use client";
// Who the operator is, what the gateway allows, and how to sign in or out.
import type { ConnectError } from "@connectrpc/connect";
import { useQuery } from "@connectrpc/connect-query";
import { createContext, useContext } from "react";
import { ConsoleService, type GetSessionResponse, Role } from "../gen/agentplatform/v1/console_pb";

export interface SessionState {
  session: GetSessionResponse | undefined;
  sessionError: ConnectError | null;
  sessionLoading: boolean;
  refetchSession: () => void;
  /** True once the gateway has answered and the caller may read the cluster view. */
  canRead: boolean;
  /** Operators and admins may run methods and start tasks. */
  canInvoke: boolean;
  isAdmin: boolean;
  signedIn: boolean;
  signIn: (token: string) => void;
  signOut: () => void;
}

export const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === undefined) throw new Error("useSession must be used inside ConsoleProviders");
  return state;
}

export function roleLabel(role: Role): string {
  switch (role) {
    case Role.VIEWER:
      return "viewer";
    case Role.OPERATOR:
      return "operator";
    case Role.ADMIN:
      return "admin";
    default:
      return "signed out";
  }
}

/** Derives permissions from GetSession; the gateway enforces them, the console only explains. */
export function useSessionQuery(token: string | undefined) {
  const query = useQuery(
    ConsoleService.method.getSession,
    {},
    {
      refetchInterval: 30_000,
      retry: (failures) => failures < 2,
      retryDelay: 1000,
    },
  );
  const session = query.data;
  const authEnabled = session?.authEnabled ?? false;
  const role = session?.role ?? Role.UNSPECIFIED;
  const effectiveRole = session !== undefined && !authEnabled ? Role.ADMIN : role;
  return {
    query,
    canRead: session !== undefined && (!authEnabled || role !== Role.UNSPECIFIED),
    canInvoke: effectiveRole >= Role.OPERATOR,
    isAdmin: effectiveRole >= Role.ADMIN,
    signedIn: authEnabled && token !== undefined && role !== Role.UNSPECIFIED,
  };
}
