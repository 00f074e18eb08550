"use client";
// Page state kept in the URL's query string, so every view can be deep-linked and shared.
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback, useEffect, useRef } from "react";

/**
 * Returns a setter that replaces (not pushes) the given query parameters; "" or undefined removes
 * one. Changes build on the last query asked for, not the last one rendered: a navigation takes a
 * moment to land, and a second quick change must not undo the first.
 */
export function useSetSearchParams(): (changes: Record<string, string | undefined>) => void {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  /** Queries asked for that have not landed yet, oldest first. */
  const pending = useRef<string[]>([]);
  const current = params.toString();

  useEffect(() => {
    const at = pending.current.indexOf(current);
    // A query that was never asked for here (a link, Back) replaces whatever was queued.
    pending.current = at < 0 ? [] : pending.current.slice(at + 1);
  }, [current]);

  return useCallback(
    (changes) => {
      const next = new URLSearchParams(pending.current.at(-1) ?? current);
      for (const [key, value] of Object.entries(changes)) {
        if (value === undefined || value === "") next.delete(key);
        else next.set(key, value);
      }
      const query = next.toString();
      pending.current.push(query);
      router.replace(query === "" ? pathname : `${pathname}?${query}`, { scroll: false });
    },
    [router, pathname, current],
  );
}
