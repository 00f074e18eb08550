// `npm start`: the whole platform on one machine, on the documented ports; Ctrl-C stops it cleanly.
import { startStack } from "./stack";

const started = Date.now();
const stack = await startStack().catch((err: unknown) => {
  process.stderr.write(`\nThe platform did not start: ${(err as Error).message}\n`);
  process.exit(1);
});

process.stdout.write(
  [
    "",
    `  Agent platform is up (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    `  Console:          ${stack.consoleUrl}`,
    `  gRPC front door:  ${stack.frontDoorAddress}   (e.g. grpcurl -plaintext ${stack.frontDoorAddress} list)`,
    `  Browser endpoint: ${stack.gatewayUrl}`,
    `  Registry:         ${stack.registryAddress}`,
    "  Press Ctrl-C to stop.",
    "",
    "",
  ].join("\n"),
);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("\nStopping the platform...\n");
  await stack.stop();
  process.stdout.write("Stopped.\n");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
