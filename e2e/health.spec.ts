import { expect, test } from "@playwright/test";
import { OverviewPage } from "./pages/overview-page";
import { ServicesPage } from "./pages/services-page";
import { deregister, registerTtlInstance, setTtlStatus } from "./registry-http";
import { controlProcess } from "./stack-control";
import { stackValue } from "./stack-env";

test.describe("health", () => {
  test("a stopped echo instance leaves the registry, never shown critical, and returns", async ({
    page,
  }) => {
    test.setTimeout(120_000);
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.goto("?kind=agent");
    const echo = services.row("agent-echo");
    await expect(echo).toHaveAttribute("data-status", "passing");
    try {
      // A clean stop deregisters: the console drops the instance instead of inventing a failure.
      await controlProcess("stop", "echo");
      await expect(echo).toBeHidden({ timeout: 15_000 });
      await expect(page.locator('[data-status="critical"]')).toHaveCount(0);
    } finally {
      await controlProcess("start", "echo");
    }
    await expect(services.row("agent-echo")).toHaveAttribute("data-status", "passing", {
      timeout: 30_000,
    });
  });

  test("filters services by kind, status and text, and keeps them in the URL", async ({ page }) => {
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.goto();
    await services.search("weather");
    await expect(services.row("tool-weather")).toBeVisible();
    await expect(services.row("agent-echo")).toBeHidden();
    await expect(page).toHaveURL(/q=weather/);
    await services.goto("?status=critical");
    await expect(page.getByTestId("empty")).toContainText("No service matches");
  });

  test("quick filter changes all land: none is lost to the URL catching up", async ({ page }) => {
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.goto();
    await page.getByTestId("service-search").pressSequentially("weat", { delay: 0 });
    // Two clicks in one task, faster than any navigation can land: the second must not undo the first.
    await page.evaluate(() => {
      const button = (group: string, name: string) =>
        [...document.querySelectorAll<HTMLButtonElement>(`[data-testid="${group}"] button`)].find(
          (b) => b.textContent?.trim().toLowerCase() === name,
        );
      button("kind-filter", "tools")?.click();
      button("status-filter", "passing")?.click();
    });
    await expect(page).toHaveURL(/q=weat/);
    await expect(page).toHaveURL(/kind=tool/);
    await expect(page).toHaveURL(/status=passing/);
    await expect(page.getByTestId("service-search")).toHaveValue("weat");
    await expect(services.row("tool-weather")).toBeVisible();
  });
});

test.describe("health is the gateway's, the same in every tab", () => {
  test("a deregistered instance leaves every open tab at the next update, never critical", async ({
    context,
  }) => {
    const name = "tool-e2e-departing";
    await registerTtlInstance(name, `${name}-1`, 1);
    await registerTtlInstance(name, `${name}-2`, 2);
    try {
      const base = stackValue("consoleUrl");
      const tabs = [await context.newPage(), await context.newPage()];
      for (const tab of tabs) {
        const services = new ServicesPage(tab, base);
        await services.open(`/services/${name}`);
        await expect(tab.getByTestId(`instance-${name}-2`)).toHaveAttribute(
          "data-status",
          "passing",
        );
      }
      await deregister(`${name}-2`);
      for (const tab of tabs) {
        await expect(tab.getByTestId(`instance-${name}-2`)).toBeHidden();
        await expect(tab.getByTestId(`instance-${name}-1`)).toHaveAttribute(
          "data-status",
          "passing",
        );
        await expect(tab.getByTestId("service-status")).toHaveAttribute("data-status", "passing");
        await expect(tab.getByText("Registered", { exact: true })).toHaveCount(0);
      }
      // A fresh tab agrees with the open ones.
      const fresh = await context.newPage();
      await new ServicesPage(fresh, base).open(`/services/${name}?instance=${name}-2`);
      await expect(fresh.getByTestId("instance-deregistered")).toContainText("deregistered");
      await expect(fresh.getByTestId("service-status")).toHaveAttribute("data-status", "passing");
    } finally {
      await deregister(`${name}-1`);
      await deregister(`${name}-2`);
    }
  });

  test("a one-second critical blip shows in the status bar and on the overview", async ({
    page,
  }) => {
    const name = "tool-e2e-blip";
    const id = `${name}-1`;
    await registerTtlInstance(name, id, 3);
    try {
      const services = new ServicesPage(page, stackValue("consoleUrl"));
      await services.open(`/services/${name}`);
      await expect(page.getByTestId(`instance-${id}`)).toHaveAttribute("data-status", "passing");
      await setTtlStatus(id, "critical");
      await expect(page.getByTestId(`instance-${id}`)).toHaveAttribute("data-status", "critical");
      await page.waitForTimeout(1000);
      await setTtlStatus(id, "passing");
      await expect(page.getByTestId(`instance-${id}`)).toHaveAttribute("data-status", "passing");

      const blip = page.getByTestId("status-timeline").locator('[data-status="critical"]');
      await expect(blip).toHaveCount(1);
      const box = await blip.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThanOrEqual(2);

      const overview = new OverviewPage(page, stackValue("consoleUrl"));
      await overview.nav("overview").click();
      const failure = page.getByRole("link", { name: new RegExp(id) }).first();
      await expect(failure).toBeVisible();
      await failure.click();
      await expect(
        page.getByTestId("status-timeline").locator('[data-status="critical"]'),
      ).toHaveCount(1);
    } finally {
      await deregister(id);
    }
  });
});
