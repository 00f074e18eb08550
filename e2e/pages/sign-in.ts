import { expect, type Page } from "@playwright/test";

export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByTestId("sign-in-token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("session-role")).toBeVisible();
}
