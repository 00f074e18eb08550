import { expect, type Locator } from "@playwright/test";
import { ConsolePage } from "./console-page";

export class OverviewPage extends ConsolePage {
  async goto(): Promise<void> {
    await this.open("/");
    await expect(this.page.getByTestId("overview-page")).toBeVisible();
  }

  healthCard(kind: "agent" | "tool" | "worker" | "router"): Locator {
    return this.page.getByTestId(`health-${kind}`);
  }

  /** The latest requests-per-second value the cluster traffic chart shows. */
  async clusterRps(): Promise<number> {
    const raw = await this.page
      .getByTestId("cluster-rps")
      .locator('[data-series="requests/s"]')
      .getAttribute("data-value");
    return Number(raw ?? "0");
  }
}
