// Where global setup tells the tests about the stack it started.
export const e2eEnv = {
  consoleUrl: "E2E_CONSOLE_URL",
  gatewayUrl: "E2E_GATEWAY_URL",
  frontDoor: "E2E_FRONT_DOOR",
  registry: "E2E_REGISTRY",
  control: "E2E_CONTROL_URL",
} as const;

export function stackValue(name: keyof typeof e2eEnv): string {
  const value = process.env[e2eEnv[name]];
  if (value === undefined || value === "") {
    throw new Error(`${e2eEnv[name]} is not set: run the tests through playwright.config.ts`);
  }
  return value;
}
