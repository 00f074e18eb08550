import { expect, type Locator } from "@playwright/test";
import { ConsolePage } from "./console-page";

export class TasksPage extends ConsolePage {
  async goto(): Promise<void> {
    await this.open("/tasks");
    await expect(this.page.getByTestId("tasks-page")).toBeVisible();
  }

  get startButton(): Locator {
    return this.page.getByTestId("task-start");
  }

  async start(input: string): Promise<void> {
    await this.page.getByTestId("task-input").fill(input);
    await this.startButton.click();
  }

  async addParameter(name: string, value: string): Promise<void> {
    await this.page.getByRole("button", { name: "Add parameter" }).click();
    const rows = this.page.getByLabel(/^Parameter name/);
    const index = await rows.count();
    await this.page.getByLabel(`Parameter name ${index}`).fill(name);
    await this.page.getByLabel(`Parameter value ${index}`).fill(value);
  }

  get detailState(): Locator {
    return this.page.getByTestId("task-state");
  }
}
