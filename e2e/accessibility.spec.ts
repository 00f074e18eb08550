// axe-core on every console page, in light and dark, with live data: no serious or critical
// WCAG 2.1 A/AA violation is allowed.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test } from "@playwright/test";
import { generateLoad } from "./load";
import { ConsolePage } from "./pages/console-page";
import { stackValue } from "./stack-env";

const pages = [
  { name: "overview", path: "/", ready: "overview-page" },
  { name: "services", path: "/services", ready: "services-page" },
  { name: "service detail", path: "/services/agent-echo", ready: "service-detail-page" },
  { name: "routers", path: "/routers", ready: "routers-page" },
  { name: "topology", path: "/topology", ready: "topology-page" },
  { name: "run", path: "/run?target=echo-agent&kind=agent", ready: "run-page" },
  { name: "tasks", path: "/tasks", ready: "tasks-page" },
  { name: "audit", path: "/audit", ready: "audit-page" },
] as const;

async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .slice(0, 5)
          .map(
            (n) =>
              `${n.target.join(" ")}${n.failureSummary ? `: ${n.failureSummary.split("\n").slice(1).join(" ")}` : ""}`,
          )
          .join(" | ")}`,
    );
}

for (const scheme of ["light", "dark"] as const) {
  test.describe(`accessibility, ${scheme}`, () => {
    test.use({ colorScheme: scheme });
    for (const target of pages) {
      test(`${target.name} has no serious or critical axe violations`, async ({ page }) => {
        const console = new ConsolePage(page, stackValue("consoleUrl"));
        await console.open(target.path);
        await expect(page.getByTestId(target.ready)).toBeVisible();
        // Let live data arrive so the check covers what an operator actually sees.
        await expect(page.getByTestId("loading")).toHaveCount(0, { timeout: 30_000 });
        expect(await seriousViolations(page)).toEqual([]);
      });
    }
  });
}

test.describe("phone width, 390×844", () => {
  test.use({ viewport: { width: 390, height: 844 } });
  // Routers fill their endpoint caches and the topology its edges only once calls flow.
  test.beforeAll(async () => {
    await generateLoad({ frontDoor: stackValue("frontDoor"), calls: 60, maxMs: 10_000 });
  });
  for (const target of pages) {
    test(`${target.name}: no column or control is cut off`, async ({ page }) => {
      const console = new ConsolePage(page, stackValue("consoleUrl"));
      await console.open(target.path);
      await expect(page.getByTestId(target.ready)).toBeVisible();
      await expect(page.getByTestId("loading")).toHaveCount(0, { timeout: 30_000 });
      const clipped = await page.evaluate(() => {
        const out: string[] = [];
        const doc = document.documentElement;
        if (doc.scrollWidth > doc.clientWidth)
          out.push(`page scrolls sideways by ${doc.scrollWidth - doc.clientWidth}px`);
        for (const el of document.querySelectorAll<HTMLElement>(
          "table, .segmented, .toolbar, button, input, select, nav a, .card-header > *",
        )) {
          const box = el.getBoundingClientRect();
          if (box.width === 0) continue;
          if (box.right > doc.clientWidth + 1 || box.left < -1) {
            out.push(
              `${el.tagName.toLowerCase()}.${el.className} spans ${Math.round(box.left)}–${Math.round(box.right)}px`,
            );
          }
          if (
            el.scrollWidth > el.clientWidth + 1 &&
            getComputedStyle(el).overflowX !== "visible" &&
            el.tagName !== "INPUT" &&
            el.tagName !== "SELECT"
          ) {
            out.push(
              `${el.tagName.toLowerCase()}.${el.className} clips ${el.scrollWidth - el.clientWidth}px`,
            );
          }
        }
        return out;
      });
      expect(clipped).toEqual([]);
    });
  }
});
