"use client";
// Wires the console together: query cache, gateway transport, session, live feeds and theme.
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useCallback, useMemo, useState } from "react";
import { type ConsoleSettings, ConsoleSettingsContext } from "./console-settings";
import { createConsoleTransport } from "./console-transport";
import { MetricsFeedProvider } from "./metrics-feed";
import { ServicesFeed } from "./services-feed";
import { SessionContext, type SessionState, useSessionQuery } from "./session-context";
import { readStoredToken, storeToken } from "./token-storage";

export function ConsoleProviders({
  settings,
  children,
}: {
  settings: ConsoleSettings;
  children: ReactNode;
}) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: { refetchOnWindowFocus: false, retry: 1, staleTime: 2000 },
        },
      }),
  );
  const [token, setToken] = useState<string | undefined>(readStoredToken);
  // A new transport per token: query keys include it, so every view refetches after sign-in.
  const transport = useMemo(
    () => createConsoleTransport({ baseUrl: settings.gatewayUrl, getToken: () => token }),
    [settings.gatewayUrl, token],
  );
  return (
    <ConsoleSettingsContext.Provider value={settings}>
      <QueryClientProvider client={queryClient}>
        <TransportProvider transport={transport}>
          <SessionProvider token={token} setToken={setToken}>
            {children}
          </SessionProvider>
        </TransportProvider>
      </QueryClientProvider>
    </ConsoleSettingsContext.Provider>
  );
}

function SessionProvider({
  token,
  setToken,
  children,
}: {
  token: string | undefined;
  setToken: (token: string | undefined) => void;
  children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const { query, canRead, canInvoke, isAdmin, signedIn } = useSessionQuery(token);
  const signIn = useCallback(
    (next: string) => {
      storeToken(next.trim());
      setToken(next.trim());
    },
    [setToken],
  );
  const signOut = useCallback(() => {
    storeToken(undefined);
    setToken(undefined);
    queryClient.clear();
  }, [setToken, queryClient]);
  const { refetch } = query;
  const state: SessionState = {
    session: query.data,
    sessionError: query.error,
    sessionLoading: query.isPending,
    refetchSession: () => void refetch(),
    canRead,
    canInvoke,
    isAdmin,
    signedIn,
    signIn,
    signOut,
  };
  return (
    <SessionContext.Provider value={state}>
      <ServicesFeed enabled={canRead}>
        <MetricsFeedProvider>{children}</MetricsFeedProvider>
      </ServicesFeed>
    </SessionContext.Provider>
  );
}
