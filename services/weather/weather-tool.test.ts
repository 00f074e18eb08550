import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsulClient } from "../../platform/consul/consul-client";
import { eventually } from "../../platform/test-support/eventually";
import type { EmbeddedRegistry } from "../../registry/embedded/embedded-registry";
import { startTestRouter } from "../../router/test-support/cluster";
import { type RunningService, startService } from "../sdk";
import {
  clientsFor,
  codeOf,
  quietLogger,
  startTestRegistry,
} from "../sdk/test-support/test-services";
import { type CityNormals, defaultDatasetPath, loadClimateDataset } from "./climate-dataset";
import { createClimatologyProvider } from "./climatology-provider";
import { createWeatherTool } from "./weather-tool";

const raw = JSON.parse(readFileSync(defaultDatasetPath, "utf8")) as { cities: CityNormals[] };
const normalsOf = (name: string) => {
  const city = raw.cities.find((c) => c.name === name);
  if (!city) throw new Error(`${name} missing from the dataset`);
  return city;
};

let registry: EmbeddedRegistry;
let consul: ConsulClient;
let weather: RunningService;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  ({ registry, consul } = await startTestRegistry());
  weather = await startService(createWeatherTool(createClimatologyProvider(loadClimateDataset())), {
    consulAddress: registry.address,
    logger: quietLogger,
    drainDelayMs: 0,
    metricsPort: -1,
  });
  clients = clientsFor(weather.address);
});
afterAll(async () => {
  await weather.stop(100);
  await registry.close();
});

const call = async (operation: string, parameters: Record<string, string>) => {
  const res = await clients.tools.executeTool({ toolId: "weather-tool", operation, parameters });
  return { res, out: JSON.parse(res.outputJson) as Record<string, unknown> };
};

describe("weather tool", () => {
  it("ships a dataset of 40-70 cities with twelve months of every measure", () => {
    expect(raw.cities.length).toBeGreaterThanOrEqual(40);
    expect(raw.cities.length).toBeLessThanOrEqual(70);
    for (const c of raw.cities) {
      expect([c.high_c, c.low_c, c.precip_mm, c.rainy_days].map((a) => a.length)).toEqual([
        12, 12, 12, 12,
      ]);
    }
  });

  it("answers a month's normals exactly as the dataset has them, marked climatological", async () => {
    const madrid = normalsOf("Madrid");
    const { res, out } = await call("current", { city: "madrid", month: "July" });
    expect(res.success).toBe(true);
    expect(out).toMatchObject({
      city: "Madrid",
      country: "ES",
      basis: "climatology",
      month: 7,
      high: madrid.high_c[6],
      low: madrid.low_c[6],
      precipitation: madrid.precip_mm[6],
      rainy_days: madrid.rainy_days[6],
    });
    expect(String(out.note)).toMatch(/not a live observation/);
    expect(res.metadata.basis).toBe("climatology");
  });

  it("gives a mid-month day the month's normal and accepts accents and case", async () => {
    const sp = normalsOf("Sao Paulo");
    // 16 January is the middle of a 31-day month: no interpolation.
    const { out } = await call("current", { city: "SÃO PAULO", date: "2025-01-16" });
    expect(out).toMatchObject({
      city: "Sao Paulo",
      date: "2025-01-16",
      high: sp.high_c[0],
      low: sp.low_c[0],
    });
    expect(out.month_normals).toMatchObject({ month: 1, high: sp.high_c[0] });
  });

  it("forecasts consecutive days between the neighbouring months' normals", async () => {
    const tokyo = normalsOf("Tokyo");
    const { out } = await call("forecast", { city: "Tokyo", start_date: "2025-01-29", days: "5" });
    const days = out.days as { date: string; high: number; low: number; rain_chance: number }[];
    expect(days.map((d) => d.date)).toEqual([
      "2025-01-29",
      "2025-01-30",
      "2025-01-31",
      "2025-02-01",
      "2025-02-02",
    ]);
    const [janHigh, febHigh] = [tokyo.high_c[0] ?? 0, tokyo.high_c[1] ?? 0];
    for (const d of days) {
      expect(d.high).toBeGreaterThanOrEqual(Math.min(janHigh, febHigh));
      expect(d.high).toBeLessThanOrEqual(Math.max(janHigh, febHigh));
      expect(d.rain_chance).toBeGreaterThanOrEqual(0);
      expect(d.rain_chance).toBeLessThanOrEqual(1);
    }
    expect(out.basis).toBe("climatology");
  });

  it("converts to imperial units on request", async () => {
    const { out } = await call("current", { city: "Paris", month: "1", units: "imperial" });
    const paris = normalsOf("Paris");
    expect(out.high).toBeCloseTo(((paris.high_c[0] ?? 0) * 9) / 5 + 32, 1);
    expect(out.units).toEqual({ temperature: "°F", precipitation: "in" });
  });

  it("answers NOT_FOUND for an unknown city, suggesting close names", async () => {
    const err = await clients.tools
      .executeTool({ toolId: "weather-tool", operation: "current", parameters: { city: "Pariss" } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toContain('did you mean "Paris"');
  });

  it("refuses bad operations and parameters with INVALID_ARGUMENT", async () => {
    const bad = (operation: string, parameters: Record<string, string>) =>
      codeOf(clients.tools.executeTool({ toolId: "weather-tool", operation, parameters }));
    expect(await bad("history", { city: "Paris" })).toBe(Code.InvalidArgument);
    expect(await bad("forecast", { city: "Paris", days: "40" })).toBe(Code.InvalidArgument);
    expect(await bad("forecast", { city: "Paris", start_date: "2025-02-30" })).toBe(
      Code.InvalidArgument,
    );
    expect(await bad("current", {})).toBe(Code.InvalidArgument);
    expect(await bad("current", { city: "Paris", month: "Smarch" })).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        clients.tools.executeTool({
          toolId: "weather-tool",
          operation: "current",
          inputJson: "{oops",
        }),
      ),
    ).toBe(Code.InvalidArgument);
  });

  it("takes parameters from input_json too, and lists its cities", async () => {
    const res = await clients.tools.executeTool({
      operation: "current",
      inputJson: JSON.stringify({ city: "Oslo", month: 12 }),
    });
    expect(JSON.parse(res.outputJson)).toMatchObject({
      city: "Oslo",
      month: 12,
      high: normalsOf("Oslo").high_c[11],
    });
    const { out } = await call("cities", {});
    expect((out.cities as unknown[]).length).toBe(raw.cities.length);
  });
});

describe("weather tool through a router", () => {
  it("answers weather-tool calls sent to a router, with the dataset's values", async () => {
    const router = await startTestRouter(consul);
    try {
      const via = clientsFor(router.address).tools;
      const res = await eventually(
        () =>
          via.executeTool(
            {
              toolId: "weather-tool",
              operation: "current",
              parameters: { city: "Cairo", month: "8" },
            },
            { timeoutMs: 2000 },
          ),
        { what: "weather routable" },
      );
      const cairo = normalsOf("Cairo");
      expect(JSON.parse(res.outputJson)).toMatchObject({
        city: "Cairo",
        high: cairo.high_c[7],
        low: cairo.low_c[7],
        basis: "climatology",
      });
      const err = await via
        .executeTool({
          toolId: "weather-tool",
          operation: "current",
          parameters: { city: "Kairo" },
        })
        .catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.NotFound);
      expect((err as ConnectError).rawMessage).toContain("Cairo");
    } finally {
      await router.close(100);
    }
  });
});
