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

  get detailState(): Locator {
    return this.page.getByTestId("task-state");
  }
}
