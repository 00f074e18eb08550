// Reads a task result as an itinerary-worker trip plan, so the console can show it as a plan
// rather than JSON; anything else (other workers, malformed output) reads as undefined.

export interface ItineraryWeather {
  high: number;
  low: number;
  /** Share of days with rain on this date, 0 to 1. */
  rainChance: number;
  conditions: string;
}

export interface ItineraryDay {
  date: string;
  weather: ItineraryWeather;
  morning: string;
  afternoon: string;
  evening: string;
  note: string;
}

export interface Itinerary {
  city: string;
  country: string;
  startDate: string;
  /** The last day's date (the start date for a trip without days). */
  endDate: string;
  days: ItineraryDay[];
  packing: string[];
  summary: string;
  /** True when the weather is typical for the date (climate normals), not a forecast. */
  climatological: boolean;
}

type Fields = Record<string, unknown>;

const isFields = (v: unknown): v is Fields =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const text = (v: unknown): string => (typeof v === "string" ? v : "");
const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function readDay(raw: unknown): ItineraryDay | undefined {
  if (!isFields(raw) || !isFields(raw.weather)) return undefined;
  const { date } = raw;
  const { high, low, rainChance, conditions } = raw.weather;
  if (typeof date !== "string" || !isoDate.test(date)) return undefined;
  if (!isNumber(high) || !isNumber(low) || !isNumber(rainChance)) return undefined;
  return {
    date,
    weather: { high, low, rainChance, conditions: text(conditions) },
    morning: text(raw.morning),
    afternoon: text(raw.afternoon),
    evening: text(raw.evening),
    note: text(raw.note),
  };
}

/** The itinerary in a task's output, or undefined when the output is not one. */
export function parseItinerary(output: string): Itinerary | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(output);
  } catch {
    return undefined;
  }
  if (!isFields(raw) || typeof raw.city !== "string" || raw.city === "") return undefined;
  if (typeof raw.start_date !== "string" || !isoDate.test(raw.start_date)) return undefined;
  if (!Array.isArray(raw.days) || raw.days.length === 0) return undefined;
  const days: ItineraryDay[] = [];
  for (const entry of raw.days) {
    const day = readDay(entry);
    // A partly readable plan would hide days; the JSON view shows all of it instead.
    if (day === undefined) return undefined;
    days.push(day);
  }
  return {
    city: raw.city,
    country: text(raw.country),
    startDate: raw.start_date,
    endDate: days.at(-1)?.date ?? raw.start_date,
    days,
    packing: Array.isArray(raw.packing)
      ? raw.packing.filter((p): p is string => typeof p === "string")
      : [],
    summary: text(raw.summary),
    climatological: raw.basis === "climatology",
  };
}

// A fixed locale and UTC keep a date the same for every viewer and in tests.
const dayFormat = new Intl.DateTimeFormat("en-GB", {
  weekday: "short",
  day: "numeric",
  month: "short",
  timeZone: "UTC",
});
const fullFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});
const utc = (date: string) => new Date(`${date}T00:00:00Z`);

/** "Mon 2 Jun" for "2025-06-02". */
export function formatTripDay(date: string): string {
  return dayFormat.format(utc(date));
}

/** "2 Jun 2025 – 4 Jun 2025", or one date for a one-day trip. */
export function formatTripDates(start: string, end: string): string {
  const from = fullFormat.format(utc(start));
  return start === end ? from : `${from} – ${fullFormat.format(utc(end))}`;
}

/** "24 °C": temperatures rounded to whole degrees. */
export const formatCelsius = (c: number): string => `${Math.round(c)} °C`;

/** "35%" for 0.35. */
export const formatRainChance = (ratio: number): string => `${Math.round(ratio * 100)}%`;

/** JSON indented for reading; any other text as it is. */
export function prettyMaybeJson(output: string): string {
  const trimmed = output.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return output;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return output;
  }
}
