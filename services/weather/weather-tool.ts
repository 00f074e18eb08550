// The weather tool (tool-weather, client id "weather-tool"): operations "current", "forecast"
// and "cities", answered by a WeatherProvider (climate normals unless configured otherwise).
import { Code, ConnectError } from "@connectrpc/connect";
import { defineTool, type ToolCall, type ToolDefinition } from "../sdk";
import type { DayWeather, MonthWeather, Place, WeatherProvider } from "./weather-provider";

export const maxForecastDays = 16;

const monthNames = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

type Units = "metric" | "imperial";

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

/** Parameters from the map, with input_json (an object) filling in any not given there. */
function parametersOf(call: ToolCall): Record<string, string> {
  if (call.input === undefined) return call.parameters;
  if (typeof call.input !== "object" || call.input === null || Array.isArray(call.input)) {
    throw invalid('input_json must be a JSON object of parameters, e.g. {"city":"Paris"}');
  }
  const fromJson = Object.fromEntries(
    Object.entries(call.input).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return { ...fromJson, ...call.parameters };
}

export function parseDate(name: string, raw: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim());
  const date = match ? new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00Z`) : undefined;
  if (
    !match ||
    !date ||
    Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 10) !== raw.trim()
  ) {
    throw invalid(`${name} must be a date as YYYY-MM-DD, got "${raw}"`);
  }
  return raw.trim();
}

function parseMonth(raw: string): number {
  const text = raw.trim().toLowerCase();
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1 && n <= 12) return n;
  const byName = monthNames.findIndex((m) => text.length >= 3 && m.startsWith(text));
  if (byName >= 0) return byName + 1;
  throw invalid(`month must be 1-12 or a month name, got "${raw}"`);
}

function parseDays(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 3;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > maxForecastDays) {
    throw invalid(`days must be a whole number from 1 to ${maxForecastDays}, got "${raw}"`);
  }
  return n;
}

function parseUnits(raw: string | undefined): Units {
  if (raw === undefined || raw === "" || raw === "metric") return "metric";
  if (raw === "imperial") return "imperial";
  throw invalid(`units must be "metric" or "imperial", got "${raw}"`);
}

const todayUtc = () => new Date().toISOString().slice(0, 10);

export function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function converter(units: Units) {
  const temp = (c: number) => (units === "metric" ? c : Math.round(((c * 9) / 5) * 10 + 320) / 10);
  const rain = (mm: number) => (units === "metric" ? mm : Math.round((mm / 25.4) * 100) / 100);
  return {
    units:
      units === "metric"
        ? { temperature: "°C", precipitation: "mm" }
        : { temperature: "°F", precipitation: "in" },
    day: (d: DayWeather) => ({
      date: d.date,
      high: temp(d.high),
      low: temp(d.low),
      mean: temp(d.mean),
      precipitation: rain(d.precipitation),
      rain_chance: d.rainChance,
      conditions: d.conditions,
    }),
    month: (m: MonthWeather) => ({
      month: m.month,
      month_name: monthNames[m.month - 1],
      high: temp(m.high),
      low: temp(m.low),
      mean: temp(m.mean),
      precipitation: rain(m.precipitation),
      rainy_days: m.rainyDays,
      rain_chance: m.rainChance,
      conditions: m.conditions,
    }),
  };
}

export function createWeatherTool(provider: WeatherProvider): ToolDefinition {
  const about = (place: Place) => ({
    city: place.name,
    country: place.country,
    basis: provider.basis,
    note: provider.note,
    source: place.source,
  });
  const cityOf = (params: Record<string, string>) => {
    const city = (params.city ?? params.location ?? "").trim();
    if (city === "") throw invalid('parameter "city" is required, e.g. city=Paris');
    return provider.resolve(city);
  };

  return defineTool({
    name: "weather",
    description: `Typical weather for a city and date from monthly climate normals (${provider.name}); operations current, forecast, cities.`,
    version: "1.0.0",
    operations: ["current", "forecast", "cities"],
    async executeTool(call) {
      const params = parametersOf(call);
      const metadata = { basis: provider.basis, provider: provider.name };
      if (call.operation === "cities") {
        return {
          result: { cities: provider.places().map((p) => ({ name: p.name, country: p.country })) },
          metadata,
        };
      }
      const place = cityOf(params);
      const convert = converter(parseUnits(params.units));

      if (call.operation === "current") {
        if (params.month && !params.date) {
          const month = convert.month(await provider.month(place, parseMonth(params.month)));
          return { result: { ...about(place), units: convert.units, ...month }, metadata };
        }
        const date = params.date ? parseDate("date", params.date) : todayUtc();
        const day = convert.day(await provider.day(place, date));
        const month = convert.month(await provider.month(place, Number(date.slice(5, 7))));
        return {
          result: { ...about(place), units: convert.units, ...day, month_normals: month },
          metadata,
        };
      }

      const startRaw = params.start_date ?? params.date;
      const start = startRaw
        ? parseDate(params.start_date ? "start_date" : "date", startRaw)
        : todayUtc();
      const days = parseDays(params.days);
      const forecast = [];
      for (let i = 0; i < days; i++)
        forecast.push(convert.day(await provider.day(place, addDays(start, i))));
      return {
        result: { ...about(place), units: convert.units, start_date: start, days: forecast },
        metadata,
      };
    },
  });
}
