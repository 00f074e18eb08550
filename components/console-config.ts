// The console's server-side configuration, read from the environment on every request.
import { EnvReader } from "../platform/config";
import type { ConsoleSettings } from "./console-settings";

/** Reads GATEWAY_PUBLIC_URL and CONSOLE_FRONT_DOOR_ADDRESS; throws naming a bad variable. */
export function readConsoleConfig(
  env: Readonly<Record<string, string | undefined>>,
): ConsoleSettings {
  const reader = new EnvReader(env);
  const gatewayUrl = reader.string("GATEWAY_PUBLIC_URL", "http://localhost:8080");
  const frontDoorAddress = reader.string("CONSOLE_FRONT_DOOR_ADDRESS", "127.0.0.1:50051");
  let normalised = gatewayUrl;
  try {
    const url = new URL(gatewayUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      reader.invalid(`GATEWAY_PUBLIC_URL must be an http or https URL, got "${gatewayUrl}"`);
    }
    normalised = url.href.replace(/\/+$/, "");
  } catch {
    reader.invalid(
      `GATEWAY_PUBLIC_URL must be a URL such as http://localhost:8080, got "${gatewayUrl}"`,
    );
  }
  if (!/^[^\s:]+:\d{1,5}$/.test(frontDoorAddress)) {
    reader.invalid(
      `CONSOLE_FRONT_DOOR_ADDRESS must be host:port such as 127.0.0.1:50051, got "${frontDoorAddress}"`,
    );
  }
  reader.done("console");
  return { gatewayUrl: normalised, frontDoorAddress };
}
