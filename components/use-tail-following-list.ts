"use client";
// A virtualised list of fixed-height rows that follows its tail while new rows arrive, until the
// operator scrolls up, and follows again once they scroll back to the end.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState } from "react";

export function useTailFollowingList(count: number, rowHeight: number, overscan: number) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan,
  });

  useEffect(() => {
    const element = scrollRef.current;
    // Rows have a fixed height, so the end is known without asking the browser for layout;
    // the browser clamps the offset to the real maximum.
    if (follow && element !== null && count > 0) element.scrollTop = count * rowHeight;
  }, [follow, count, rowHeight]);

  function onScroll() {
    const element = scrollRef.current;
    if (element === null) return;
    const atBottom = count * rowHeight - element.scrollTop - element.clientHeight < rowHeight * 1.5;
    if (atBottom !== follow) setFollow(atBottom);
  }

  return { scrollRef, follow, setFollow, virtualizer, onScroll };
}
