"use client";
// Page state kept in the URL's query string, so every view can be deep-linked and shared.
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useCallback } from "react";

/** Returns a setter that replaces (not pushes) the given query parameters; "" or undefined removes one. */
export function useSetSearchParams(): (changes: Record<string, string | undefined>) => void {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  return useCallback(
    (changes) => {
      const next = new URLSearchParams(params.toString());
      for (const [key, value] of Object.entries(changes)) {
        if (value === undefined || value === "") next.delete(key);
        else next.set(key, value);
      }
      const query = next.toString();
      router.replace(query === "" ? pathname : `${pathname}?${query}`, { scroll: false });
    },
    [router, pathname, params],
  );
}
