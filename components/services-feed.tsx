"use client";
// One WatchServices stream per tab feeds the ListServices query that every page reads.
import { createClient } from "@connectrpc/connect";
import { createConnectQueryKey, useQuery, useTransport } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import { ConsoleService, type ListServicesResponse } from "../gen/agentplatform/v1/console_pb";
import { type FeedState, keepStreaming } from "./stream-reconnect";

export interface ServicesState {
  /** The gateway's registry view: the same in every tab, departed instances gone. */
  data: ListServicesResponse | undefined;
  isPending: boolean;
  error: unknown;
  refetch: () => void;
  feed: FeedState;
}

const ServicesContext = createContext<ServicesState | undefined>(undefined);

export function useServices(): ServicesState {
  const state = useContext(ServicesContext);
  if (state === undefined) throw new Error("useServices must be used inside ServicesFeed");
  return state;
}

export function useServicesFeedState(): FeedState {
  return useServices().feed;
}

export function ServicesFeed({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const transport = useTransport();
  const queryClient = useQueryClient();
  const [feed, setFeed] = useState<FeedState>({ kind: "connecting" });

  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    const client = createClient(ConsoleService, transport);
    const key = createConnectQueryKey({
      schema: ConsoleService.method.listServices,
      input: {},
      transport,
      cardinality: "finite",
    });
    void keepStreaming({
      signal: abort.signal,
      onState: setFeed,
      run: async (signal, markLive) => {
        for await (const view of client.watchServices({}, { signal })) {
          queryClient.setQueryData(key, view);
          markLive();
        }
      },
    });
    return () => abort.abort();
  }, [enabled, transport, queryClient]);

  const live = feed.kind === "live";
  const query = useQuery(
    ConsoleService.method.listServices,
    {},
    {
      enabled,
      // The feed keeps the query current; polling covers the time the feed is down.
      refetchInterval: live ? false : 5000,
      staleTime: live ? Number.POSITIVE_INFINITY : 0,
    },
  );

  const data = query.data;
  const { refetch } = query;
  const state = useMemo<ServicesState>(
    () => ({
      data,
      isPending: query.isPending,
      error: query.error,
      refetch: () => void refetch(),
      feed,
    }),
    [data, query.isPending, query.error, refetch, feed],
  );
  return <ServicesContext.Provider value={state}>{children}</ServicesContext.Provider>;
}
