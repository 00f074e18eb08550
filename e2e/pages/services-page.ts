import { expect, type Locator } from "@playwright/test";
import { ConsolePage } from "./console-page";

export class ServicesPage extends ConsolePage {
  async goto(query = ""): Promise<void> {
    await this.open(`/services${query}`);
    await expect(this.page.getByTestId("services-page")).toBeVisible();
  }

  row(service: string): Locator {
    return this.page.getByTestId(`service-row-${service}`);
  }

  async search(text: string): Promise<void> {
    await this.page.getByTestId("service-search").fill(text);
  }
}
