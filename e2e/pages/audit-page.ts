import { expect, type Locator } from "@playwright/test";
import { ConsolePage } from "./console-page";

export class AuditPage extends ConsolePage {
  async goto(): Promise<void> {
    await this.open("/audit");
    await expect(this.page.getByTestId("audit-page")).toBeVisible();
  }

  get rows(): Locator {
    return this.page.getByTestId("audit-row");
  }

  get forbidden(): Locator {
    return this.page.getByTestId("audit-forbidden");
  }
}
