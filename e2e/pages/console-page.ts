// The frame every console page shares: navigation, theme and the session banner.
import { expect, type Locator, type Page } from "@playwright/test";

export class ConsolePage {
  constructor(
    readonly page: Page,
    readonly baseUrl: string,
  ) {}

  async open(path: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}${path}`);
    // The shell renders once GetSession has answered (or failed).
    await expect(this.page.getByTestId("loading").first()).toBeHidden({ timeout: 30_000 });
  }

  nav(name: "overview" | "services" | "routers" | "topology" | "run" | "tasks" | "audit"): Locator {
    return this.page.getByTestId(`nav-${name}`);
  }

  get authOffBanner(): Locator {
    return this.page.getByTestId("auth-off-banner");
  }

  get liveIndicator(): Locator {
    return this.page.getByTestId("live-indicator");
  }
}
