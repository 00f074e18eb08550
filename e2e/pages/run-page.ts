import { expect, type Locator } from "@playwright/test";
import { ConsolePage } from "./console-page";

export class RunPage extends ConsolePage {
  async goto(query = ""): Promise<void> {
    await this.open(`/run${query}`);
    await expect(this.page.getByTestId("run-page")).toBeVisible();
  }

  async chooseTarget(clientId: string): Promise<void> {
    await this.page.getByTestId("run-target").selectOption(clientId);
  }

  async chooseMethod(name: string): Promise<void> {
    await this.page.getByTestId(`method-${name}`).click();
    await expect(this.page.getByTestId(`method-${name}`)).toHaveAttribute("aria-pressed", "true");
  }

  async fillInput(text: string): Promise<void> {
    await this.page.getByTestId("field-input").fill(text);
  }

  /** Adds one entry to the request's `parameters` map. */
  async addParameter(key: string, value: string): Promise<void> {
    const field = this.page.getByTestId("field-parameters");
    await this.page.getByTestId("map-add-parameters").click();
    const index = (await field.locator(".pair-row").count()) - 1;
    await this.page.getByTestId(`map-key-parameters-${index}`).fill(key);
    await field.getByLabel(`parameters value ${index + 1}`).fill(value);
  }

  async setRequestJson(json: unknown): Promise<void> {
    await this.page.getByTestId("mode-json").click();
    await this.page.getByTestId("request-json").fill(JSON.stringify(json, null, 2));
  }

  get runButton(): Locator {
    return this.page.getByTestId("run-button");
  }

  get cancelButton(): Locator {
    return this.page.getByTestId("cancel-button");
  }

  get resultCode(): Locator {
    return this.page.getByTestId("result-code");
  }

  get response(): Locator {
    return this.page.getByTestId("response-json");
  }

  get messageList(): Locator {
    return this.page.getByTestId("message-list");
  }

  async messageCount(): Promise<number> {
    return Number((await this.messageList.getAttribute("data-count")) ?? "0");
  }

  async run(): Promise<void> {
    await expect(this.runButton).toBeEnabled();
    await this.runButton.click();
  }
}
