"use client";
// A short list kept in localStorage and shared by every component that shows it in this tab.
import { useCallback, useSyncExternalStore } from "react";

export interface LocalList<T> {
  read(): readonly T[];
  write(items: readonly T[]): void;
  subscribe(listener: () => void): () => void;
}

/** `parse` rejects entries written by older versions instead of trusting their shape. */
export function createLocalList<T>(
  key: string,
  limit: number,
  parse: (value: unknown) => T | undefined,
): LocalList<T> {
  const listeners = new Set<() => void>();
  let cache: readonly T[] | undefined;
  const empty: readonly T[] = [];

  function read(): readonly T[] {
    if (typeof window === "undefined") return empty;
    if (cache !== undefined) return cache;
    try {
      const raw: unknown = JSON.parse(window.localStorage.getItem(key) ?? "[]");
      cache = Array.isArray(raw) ? raw.map(parse).filter((x): x is T => x !== undefined) : [];
    } catch {
      cache = [];
    }
    return cache;
  }

  function write(items: readonly T[]) {
    cache = items.slice(0, limit);
    try {
      window.localStorage.setItem(key, JSON.stringify(cache));
    } catch {
      // Full or disabled storage: the list still lives for this page.
    }
    for (const listener of listeners) listener();
  }

  function subscribe(listener: () => void) {
    listeners.add(listener);
    const onStorage = (event: StorageEvent) => {
      if (event.key !== key) return;
      cache = undefined;
      listener();
    };
    window.addEventListener("storage", onStorage);
    return () => {
      listeners.delete(listener);
      window.removeEventListener("storage", onStorage);
    };
  }

  return { read, write, subscribe };
}

const noItems: readonly never[] = [];

export function useLocalList<T>(list: LocalList<T>) {
  const items = useSyncExternalStore(list.subscribe, list.read, () => noItems);
  const update = useCallback(
    (change: (items: readonly T[]) => readonly T[]) => list.write(change(list.read())),
    [list],
  );
  return [items, update] as const;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function stringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}
