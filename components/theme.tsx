"use client";
// Light, dark or the system's choice; the inline script applies it before the first paint.
import { useEffect, useState } from "react";
import { Icon } from "./icons";
import { themeKey } from "./theme-script";

type ThemeChoice = "system" | "light" | "dark";
const order: ThemeChoice[] = ["system", "light", "dark"];

function readChoice(): ThemeChoice {
  try {
    const stored = window.localStorage.getItem(themeKey);
    return stored === "light" || stored === "dark" ? stored : "system";
  } catch {
    return "system";
  }
}

export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>("system");
  useEffect(() => setChoice(readChoice()), []);

  function apply(next: ThemeChoice) {
    setChoice(next);
    const root = document.documentElement;
    if (next === "system") delete root.dataset.theme;
    else root.dataset.theme = next;
    try {
      if (next === "system") window.localStorage.removeItem(themeKey);
      else window.localStorage.setItem(themeKey, next);
    } catch {
      // Storage can be disabled; the choice then lasts for this page only.
    }
  }

  const next = order[(order.indexOf(choice) + 1) % order.length] ?? "system";
  const icon = choice === "light" ? "sun" : choice === "dark" ? "moon" : "system";
  return (
    <button
      type="button"
      className="button ghost icon-only"
      onClick={() => apply(next)}
      aria-label={`Theme: ${choice}. Switch to ${next}`}
      title={`Theme: ${choice} (switch to ${next})`}
      data-testid="theme-toggle"
      data-theme-choice={choice}
    >
      <Icon name={icon} />
    </button>
  );
}
