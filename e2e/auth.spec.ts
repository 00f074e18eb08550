// Sign-in and roles, against a second stack whose gateway has tokens configured.
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect, test } from "@playwright/test";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import { type Stack, startStack } from "../scripts/stack";
import { startJobOverGrpc } from "./grpc-client";
import { AuditPage } from "./pages/audit-page";
import { RunPage } from "./pages/run-page";
import { signIn } from "./pages/sign-in";
import { TasksPage } from "./pages/tasks-page";

const tokens = {
  viewer: "e2e-viewer-token-5b1f",
  operator: "e2e-operator-token-9c2d",
  admin: "e2e-admin-token-7e4a",
};

let stack: Stack | undefined;

function consoleUrl(): string {
  if (stack === undefined) throw new Error("the auth stack did not start");
  return stack.consoleUrl;
}

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  const artifacts = join(import.meta.dirname, "artifacts");
  const dataDir = join(artifacts, "auth-stack-data");
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const tokensFile = join(dataDir, "tokens");
  writeFileSync(
    tokensFile,
    Object.entries(tokens)
      .map(([role, token]) => `${token} ${role} e2e-${role}`)
      .join("\n"),
  );
  const basePort = Number(process.env.E2E_AUTH_BASE_PORT ?? 23500);
  const log = createWriteStream(join(artifacts, "auth-stack.log"));
  stack = await startStack({
    basePort,
    routers: 1,
    dataDir,
    tokensFile,
    withConsole: true,
    onLine: (name, line) => log.write(`${name.padEnd(10)}| ${line}\n`),
  });
});

test.afterAll(async () => {
  test.setTimeout(60_000);
  await stack?.stop();
});

test.describe("auth", () => {
  test("asks for a token and rejects a wrong one", async ({ page }) => {
    await page.goto(consoleUrl());
    await expect(page.getByTestId("sign-in-form")).toBeVisible();
    await expect(page.getByTestId("auth-off-banner")).toBeHidden();
    await page.getByTestId("sign-in-token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("The gateway rejected the token")).toBeVisible();
  });

  test("a viewer can look but not run methods, start tasks or read the audit log", async ({
    page,
  }) => {
    const run = new RunPage(page, consoleUrl());
    await run.open("/run");
    await signIn(page, tokens.viewer);
    await expect(page.getByTestId("run-page")).toBeVisible();
    await expect(page.getByTestId("session-role")).toHaveText("viewer");
    await expect(page.getByTestId("run-forbidden")).toBeVisible();
    await run.chooseTarget("echo-agent");
    await run.fillInput("Hello, World!");
    await expect(run.runButton).toBeDisabled();

    const tasks = new TasksPage(page, consoleUrl());
    await tasks.nav("tasks").click();
    await expect(page.getByTestId("tasks-forbidden")).toBeVisible();
    await expect(tasks.startButton).toBeDisabled();
    // Any job, started by anyone, opens for a viewer.
    const taskId = await startJobOverGrpc(stack?.frontDoorAddress ?? "", "Lisbon");
    await tasks.open(`/tasks?task=${taskId}`);
    await expect(tasks.detailState).toHaveAttribute("data-state", /pending|running|succeeded/);
    await expect(page.getByTestId(`task-row-${taskId}`)).toBeVisible();

    const audit = new AuditPage(page, consoleUrl());
    await audit.nav("audit").click();
    await expect(audit.forbidden).toBeVisible();

    // The gateway itself refuses, whatever a browser does.
    const client = createClient(
      ConsoleService,
      createConnectTransport({ baseUrl: stack?.gatewayUrl ?? "", httpVersion: "1.1" }),
    );
    const call = async () => {
      for await (const _ of client.invoke(
        {
          method: "/agentplatform.v1.TaskWorker/ProcessTask",
          requestJson: JSON.stringify({ agentId: "itinerary-worker", input: "x" }),
        },
        { headers: { Authorization: `Bearer ${tokens.viewer}` } },
      )) {
        // Draining the stream; the call must fail before any message.
      }
    };
    const error = await call().then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.PermissionDenied);
  });

  test("an operator runs a method and an admin sees it in the audit log", async ({
    page,
    context,
  }) => {
    const run = new RunPage(page, consoleUrl());
    await run.open("/run");
    await signIn(page, tokens.operator);
    await expect(page.getByTestId("session-role")).toHaveText("operator");
    await run.chooseTarget("echo-agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("audited hello");
    await run.run();
    await expect(run.response).toContainText("Echo: audited hello");

    const adminPage = await context.newPage();
    const audit = new AuditPage(adminPage, consoleUrl());
    await audit.open("/audit");
    // sessionStorage is per tab: the new tab signs in on its own.
    await signIn(adminPage, tokens.admin);
    await expect(adminPage.getByTestId("audit-table")).toBeVisible();
    await expect(
      audit.rows.filter({ hasText: "ExecuteTask" }).filter({ hasText: "e2e-operator" }).first(),
    ).toBeVisible({
      timeout: 15_000,
    });
  });
});
