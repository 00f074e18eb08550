"use client";
// WatchMetrics, shared by every chart on screen: opened with the first chart, closed after the last.
import { createClient, type Transport } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { createContext, type ReactNode, useContext, useMemo, useSyncExternalStore } from "react";
import type { MetricsPoint } from "../gen/agentplatform/v1/console_pb";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import type { MethodStats } from "../gen/agentplatform/v1/router_admin_pb";
import { type FeedState, keepStreaming } from "./stream-reconnect";

export interface MetricsView {
  /** "cluster" and one entry per router id, oldest point first. */
  series: ReadonlyMap<string, readonly MetricsPoint[]>;
  methods: readonly MethodStats[];
  state: FeedState;
}

const historyPoints = 120;
const emptyView: MetricsView = { series: new Map(), methods: [], state: { kind: "connecting" } };

export class MetricsFeed {
  private view: MetricsView = emptyView;
  private readonly listeners = new Set<() => void>();
  private abort: AbortController | undefined;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly transport: Transport) {}

  readonly getSnapshot = (): MetricsView => this.view;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    clearTimeout(this.stopTimer);
    if (this.abort === undefined) this.start();
    return () => {
      this.listeners.delete(listener);
      // Navigating between two pages with charts should not reopen the stream.
      if (this.listeners.size === 0) this.stopTimer = setTimeout(() => this.stop(), 3000);
    };
  };

  private publish(view: MetricsView) {
    this.view = view;
    for (const listener of this.listeners) listener();
  }

  private start() {
    const abort = new AbortController();
    this.abort = abort;
    const client = createClient(ConsoleService, this.transport);
    void keepStreaming({
      signal: abort.signal,
      onState: (state) => this.publish({ ...this.view, state }),
      run: async (signal, markLive) => {
        let first = true;
        for await (const snapshot of client.watchMetrics({ historyPoints }, { signal })) {
          const series = first ? new Map<string, MetricsPoint[]>() : new Map(this.view.series);
          for (const s of snapshot.series) {
            const previous = first ? [] : (series.get(s.source) ?? []);
            const merged = previous.concat(s.points);
            series.set(
              s.source,
              merged.length > historyPoints ? merged.slice(-historyPoints) : merged,
            );
          }
          const methods =
            snapshot.methods.length > 0 || first ? snapshot.methods : this.view.methods;
          first = false;
          this.publish({ series, methods, state: { kind: "live" } });
          markLive();
        }
      },
    });
  }

  private stop() {
    this.abort?.abort();
    this.abort = undefined;
  }
}

const MetricsFeedContext = createContext<MetricsFeed | undefined>(undefined);

export function MetricsFeedProvider({ children }: { children: ReactNode }) {
  const transport = useTransport();
  const feed = useMemo(() => new MetricsFeed(transport), [transport]);
  return <MetricsFeedContext.Provider value={feed}>{children}</MetricsFeedContext.Provider>;
}

const serverSnapshot = () => emptyView;
const noopSubscribe = () => () => {};

/** The live metrics; subscribing opens the stream. */
export function useMetrics(enabled = true): MetricsView {
  const feed = useContext(MetricsFeedContext);
  if (feed === undefined) throw new Error("useMetrics must be used inside MetricsFeedProvider");
  return useSyncExternalStore(
    enabled ? feed.subscribe : noopSubscribe,
    feed.getSnapshot,
    serverSnapshot,
  );
}
