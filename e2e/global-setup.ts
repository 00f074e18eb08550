// Starts the real local stack on non-default ports for the browser tests, and stops it after.
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startStack } from "../scripts/stack";
import { startStackControl } from "./stack-control";
import { e2eEnv } from "./stack-env";

const root = join(import.meta.dirname, "..");

export default async function globalSetup(): Promise<() => Promise<void>> {
  // A stack someone already runs (with its control server) can be reused while developing.
  if (process.env[e2eEnv.consoleUrl] && process.env[e2eEnv.control]) {
    process.stdout.write(`e2e: using the running stack at ${process.env[e2eEnv.consoleUrl]}\n`);
    return async () => {};
  }
  const artifacts = join(root, "e2e", "artifacts");
  mkdirSync(artifacts, { recursive: true });
  const basePort = Number(process.env.E2E_BASE_PORT ?? 23400);
  const dataDir = join(artifacts, "stack-data");
  rmSync(dataDir, { recursive: true, force: true });
  const log = createWriteStream(join(artifacts, "stack.log"));
  const started = Date.now();
  process.stdout.write(
    `e2e: starting the stack on ports ${basePort}+ (log: e2e/artifacts/stack.log)\n`,
  );
  const stack = await startStack({
    basePort,
    routers: 3,
    dataDir,
    withConsole: true,
    env: { CONSOLE_FRONT_DOOR_ADDRESS: `127.0.0.1:${basePort + 1}` },
    onLine: (name, line) => log.write(`${name.padEnd(10)}| ${line}\n`),
  });
  process.stdout.write(`e2e: stack ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
  const control = await startStackControl(stack);
  // Workers start after global setup and inherit these.
  process.env[e2eEnv.consoleUrl] = stack.consoleUrl;
  process.env[e2eEnv.gatewayUrl] = stack.gatewayUrl;
  process.env[e2eEnv.frontDoor] = stack.frontDoorAddress;
  process.env[e2eEnv.registry] = stack.registryAddress;
  process.env[e2eEnv.control] = control.url;
  return async () => {
    await control.close();
    await stack.stop();
    log.end();
  };
}
