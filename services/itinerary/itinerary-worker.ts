// The itinerary worker (worker-itinerary, client id "itinerary-worker"): plans a trip day by day
// from the typical weather, fetched from the weather tool through the routers.
import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskRequest } from "../../gen/agentplatform/v1/platform_pb";
import { defineWorker, type JobContext, sleep } from "../sdk";
import { type DayClimate, packingList, planDay } from "./activity-planner";

export const maxTripDays = 14;
const weatherTool = "weather-tool";

export interface TripRequest {
  [key: string]: unknown;
  city: string;
  days: number;
  startDate: string;
  /** Pause between steps so progress can be followed; 0 for none. */
  paceMs: number;
}

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function checkDate(raw: string): string {
  const text = raw.trim();
  const d = new Date(`${text}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(text) ||
    Number.isNaN(d.getTime()) ||
    d.toISOString().slice(0, 10) !== text
  ) {
    throw invalid(`start_date must be a date as YYYY-MM-DD, got "${raw}"`);
  }
  return text;
}

/** Reads {input: destination or JSON, parameters: city, days, start_date}; parameters win. */
export function parseTripRequest(request: TaskRequest): TripRequest {
  let fromInput: Record<string, unknown> = {};
  const input = request.input.trim();
  if (input.startsWith("{")) {
    try {
      fromInput = JSON.parse(input) as Record<string, unknown>;
    } catch (err) {
      throw invalid(`input looks like JSON but does not parse: ${(err as Error).message}`);
    }
  } else if (input !== "") {
    fromInput = { city: input };
  }
  const param = (name: string, ...aliases: string[]) => {
    for (const key of [name, ...aliases]) {
      const p = request.parameters[key];
      if (p !== undefined && p !== "") return p;
    }
    for (const key of [name, ...aliases]) {
      const v = fromInput[key];
      if (v !== undefined && v !== null && v !== "") return String(v);
    }
    return undefined;
  };

  const city = param("city", "destination")?.trim() ?? "";
  if (city === "") throw invalid('a destination is required: input "Lisbon", or parameters.city');
  const rawDays = param("days") ?? "3";
  const days = Number(rawDays);
  if (!Number.isInteger(days) || days < 1 || days > maxTripDays) {
    throw invalid(`days must be a whole number from 1 to ${maxTripDays}, got "${rawDays}"`);
  }
  const rawStart = param("start_date", "startDate");
  const startDate = rawStart
    ? checkDate(rawStart)
    : addDays(new Date().toISOString().slice(0, 10), 1);
  const rawPace = param("pace_ms") ?? "250";
  const paceMs = Number(rawPace);
  if (!Number.isInteger(paceMs) || paceMs < 0 || paceMs > 60_000) {
    throw invalid(`pace_ms must be 0-60000, got "${rawPace}"`);
  }
  return { city, days, startDate, paceMs };
}

/** Calls the weather tool through the routers, retrying while no router or tool is reachable. */
async function weather(ctx: JobContext, operation: string, parameters: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await ctx.platform.tools.executeTool(
        { toolId: weatherTool, operation, parameters },
        { signal: ctx.signal, timeoutMs: 10_000 },
      );
      return JSON.parse(res.outputJson) as Record<string, unknown>;
    } catch (err) {
      const e = ConnectError.from(err);
      const transient = e.code === Code.Unavailable || e.code === Code.DeadlineExceeded;
      if (!transient || attempt >= 4 || ctx.signal.aborted) {
        throw new ConnectError(`weather-tool ${operation}: ${e.rawMessage}`, e.code);
      }
      ctx.logger.warn("weather tool not reachable; retrying", { attempt, err: e.rawMessage });
      await sleep(250 * 2 ** attempt, ctx.signal);
    }
  }
}

export const itineraryWorker = defineWorker<TripRequest>({
  name: "itinerary",
  description: "Plans a multi-day trip around the typical weather of each day.",
  capabilities: ["itinerary", "travel-planning", "weather-aware"],
  version: "1.0.0",
  accept: parseTripRequest,
  async run(trip, ctx) {
    const dates = Array.from({ length: trip.days }, (_, i) => addDays(trip.startDate, i));
    await ctx.plan(["validate", ...dates.map((d) => `weather ${d}`), "plan activities", "compile"]);

    const place = await ctx.step("validate", async () => {
      const answer = await weather(ctx, "current", { city: trip.city, date: trip.startDate });
      return { city: String(answer.city), country: String(answer.country) };
    });

    const climate: DayClimate[] = [];
    for (const date of dates) {
      await sleep(trip.paceMs, ctx.signal);
      climate.push(
        await ctx.step(`weather ${date}`, async () => {
          const answer = await weather(ctx, "forecast", {
            city: place.city,
            start_date: date,
            days: "1",
          });
          const [day] = answer.days as {
            high: number;
            low: number;
            rain_chance: number;
            conditions: string;
          }[];
          if (!day) throw new ConnectError(`weather-tool gave no day for ${date}`, Code.Internal);
          return {
            date,
            high: day.high,
            low: day.low,
            rainChance: day.rain_chance,
            conditions: day.conditions,
          };
        }),
      );
    }

    await sleep(trip.paceMs, ctx.signal);
    const plans = await ctx.step("plan activities", async () =>
      climate.map((day, i) => planDay(day, i)),
    );

    return ctx.step("compile", async () => {
      const packing = packingList(climate);
      const summary = `${trip.days}-day trip to ${place.city} from ${trip.startDate}: ${climate
        .map((d) => d.conditions)
        .filter((c, i, all) => all.indexOf(c) === i)
        .join(
          "; ",
        )}. Plans follow typical weather for these dates (climate normals), not a live forecast.`;
      return JSON.stringify({
        city: place.city,
        country: place.country,
        start_date: trip.startDate,
        days: plans,
        packing,
        basis: "climatology",
        summary,
      });
    });
  },
});
